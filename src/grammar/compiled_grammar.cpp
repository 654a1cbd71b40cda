#include "grammar/compiled_grammar.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "grammar/node_classifier.h"
#include "grammar/stack_machine.h"

namespace parley {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::int64_t mask_bytes(const NodeMask& m) {
  return static_cast<std::int64_t>(m.accepted_bits.words().size() * 8 + m.accepted_list.size() * 4 +
                                   m.uncertain.size() * sizeof(UncertainToken));
}

constexpr int kBackgroundNice = 10;

enum SlotState : std::uint8_t { kPending = 0, kRunning = 1, kReady = 2, kOverBudget = 3 };

// The nodes that read bytes, breadth first from the root's start along byte transitions, calls,
// returns and the places finished rules return to: roughly the order in which a parse reaches
// them. The nodes of the initial stacks come first.
std::vector<PdaNodeId> parse_order(const Pda& p, const std::vector<PdaNodeId>& first) {
  std::vector<bool> seen(p.n_nodes(), false);
  std::deque<PdaNodeId> queue;
  const auto push = [&](PdaNodeId n) {
    if (n != kNoNode && !seen[n]) {
      seen[n] = true;
      queue.push_back(n);
    }
  };
  for (const PdaNodeId n : first) push(n);
  push(p.rule_start(p.root()));
  std::vector<PdaNodeId> order;
  while (!queue.empty()) {
    const PdaNodeId n = queue.front();
    queue.pop_front();
    if (p.reachable()[n] && p.reads_bytes(n)) order.push_back(n);
    for (int c = 0; c < p.n_byte_classes(); ++c) push(p.next_class(n, c));
    for (const PdaCall& call : p.calls(n)) {
      push(p.rule_start(call.rule));
      push(call.ret);
    }
    if (p.node(n).accepting) {
      for (const PdaNodeId r : p.rule_returns(p.node(n).rule)) push(r);
    }
  }
  // Nodes the traversal missed (none in a trimmed automaton; kept for safety) go last.
  for (PdaNodeId n = 0; n < p.n_nodes(); ++n) {
    if (!seen[n] && p.reachable()[n] && p.reads_bytes(n)) order.push_back(n);
  }
  return order;
}

}  // namespace

struct CompiledGrammar::Lazy {
  explicit Lazy(std::size_t n) : state(new std::atomic<std::uint8_t>[n]), masks(n) {
    for (std::size_t i = 0; i < n; ++i) state[i].store(kPending, std::memory_order_relaxed);
  }
  std::unique_ptr<std::atomic<std::uint8_t>[]> state;  // per slot: SlotState
  std::vector<NodeMask> masks;                         // written once, before its state turns kReady
  std::atomic<std::int64_t> bytes{0};
  std::atomic<bool> stop{false};
  mutable std::mutex mutex;  // guards stats and the waits below
  std::condition_variable done;
  CompileStats stats;
  std::thread worker;
};

CompiledGrammar::CompiledGrammar(Pda pda, std::shared_ptr<const TokenVocabulary> vocab, const GrammarLimits& limits)
    : pda_(std::move(pda)), vocab_(std::move(vocab)), limits_(limits) {}

CompiledGrammar::~CompiledGrammar() {
  if (lazy_ && lazy_->worker.joinable()) {
    lazy_->stop.store(true);
    lazy_->worker.join();
  }
}

void CompiledGrammar::classify_slot(std::size_t slot, NodeClassifier* classifier) const {
  Lazy& z = *lazy_;
  std::uint8_t expected = kPending;
  if (!z.state[slot].compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel) && expected != kRunning) {
    return;  // done
  }
  // Claimed, or another thread is on it: a matcher computes it too rather than wait for the
  // background thread, which runs at a lower priority; the first result is kept.
  std::unique_ptr<NodeClassifier> own;
  if (classifier == nullptr) {
    own = std::make_unique<NodeClassifier>(pda_, *vocab_, limits_);
    classifier = own.get();
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t visits0 = classifier->visits();
  NodeMask m = classifier->classify(slot_nodes_[slot]);
  const std::int64_t bytes = mask_bytes(m);
  {
    std::lock_guard<std::mutex> lock(z.mutex);
    z.stats.background_ms += ms_since(t0);
    z.stats.trie_visits += classifier->visits() - visits0;
    const std::uint8_t now = z.state[slot].load(std::memory_order_relaxed);
    if (now == kReady || now == kOverBudget) return;  // another thread was first
    const bool fits = z.stats.mask_bytes + bytes <= limits_.max_mask_bytes;
    if (fits) {
      z.masks[slot] = std::move(m);  // written once, before the state says so (release)
      z.stats.n_uncertain += static_cast<std::int64_t>(z.masks[slot].uncertain.size());
      z.stats.mask_bytes += bytes;
    }
    z.state[slot].store(fits ? kReady : kOverBudget, std::memory_order_release);
    ++z.stats.n_classified;
    z.stats.complete = z.stats.n_classified == z.stats.n_mask_nodes;
  }
  z.done.notify_all();
}

const NodeMask* CompiledGrammar::node_mask(PdaNodeId node) const {
  const std::int32_t i = mask_index_[node];
  if (i < 0) return nullptr;
  const auto slot = static_cast<std::size_t>(i);
  std::uint8_t s = lazy_->state[slot].load(std::memory_order_acquire);
  if (s != kReady && s != kOverBudget) {
    classify_slot(slot, nullptr);
    s = lazy_->state[slot].load(std::memory_order_acquire);
  }
  return s == kReady ? &lazy_->masks[slot] : nullptr;
}

void CompiledGrammar::run_background() const {
  NodeClassifier classifier(pda_, *vocab_, limits_);
  for (std::size_t slot = 0; slot < slot_nodes_.size() && !lazy_->stop.load(std::memory_order_relaxed); ++slot) {
    if (lazy_->state[slot].load(std::memory_order_acquire) == kPending) classify_slot(slot, &classifier);
  }
}

void CompiledGrammar::wait_classified() const {
  if (!lazy_->worker.joinable()) {  // no background (Classify::kOnDemand): classify here
    NodeClassifier classifier(pda_, *vocab_, limits_);
    for (std::size_t slot = 0; slot < slot_nodes_.size(); ++slot) classify_slot(slot, &classifier);
    return;
  }
  std::unique_lock<std::mutex> lock(lazy_->mutex);
  lazy_->done.wait(lock, [&] { return lazy_->stats.complete; });
}

CompileStats CompiledGrammar::stats() const {
  std::lock_guard<std::mutex> lock(lazy_->mutex);
  return lazy_->stats;
}

Result<std::shared_ptr<const CompiledGrammar>> compile_grammar(const Grammar& grammar,
                                                               std::shared_ptr<const TokenVocabulary> vocab,
                                                               const GrammarLimits& limits,
                                                               std::shared_ptr<const GrammarSpec> source,
                                                               Classify classify) {
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Pda pda, Pda::build(grammar, limits));
  std::shared_ptr<CompiledGrammar> g(new CompiledGrammar(std::move(pda), std::move(vocab), limits));
  g->source_ = std::move(source);
  const Pda& p = g->pda_;
  // The nodes of the first mask: the tops of the initial stacks.
  std::vector<PdaNodeId> first;
  {
    StackMachine machine(p, limits.max_stack_depth, limits.max_stacks);
    std::vector<std::uint32_t> tops;
    StepFlags flags;
    machine.expand(p.rule_start(p.root()), kParentRoot, tops, flags);
    for (const std::uint32_t t : tops) first.push_back(machine.pool()[t].node);
  }
  g->slot_nodes_ = parse_order(p, first);
  g->mask_index_.assign(p.n_nodes(), -1);
  for (std::size_t s = 0; s < g->slot_nodes_.size(); ++s)
    g->mask_index_[g->slot_nodes_[s]] = static_cast<std::int32_t>(s);
  g->lazy_ = std::make_unique<CompiledGrammar::Lazy>(g->slot_nodes_.size());
  CompiledGrammar::Lazy& z = *g->lazy_;
  z.stats.pda_ms = ms_since(t0);
  z.stats.n_nodes = static_cast<std::int64_t>(p.n_nodes());
  z.stats.n_mask_nodes = static_cast<std::int64_t>(g->slot_nodes_.size());
  z.stats.complete = g->slot_nodes_.empty();

  const auto t1 = std::chrono::steady_clock::now();
  NodeClassifier classifier(p, *g->vocab_, limits);
  const std::size_t n_first =
      classify == Classify::kEager ? g->slot_nodes_.size() : std::min(first.size(), g->slot_nodes_.size());
  for (std::size_t s = 0; s < n_first; ++s) {
    g->classify_slot(s, &classifier);
    if (classify == Classify::kEager && z.state[s].load() == kOverBudget) {
      return invalid_argument_error("the grammar is too large: its token masks need more than {} MiB",
                                    limits.max_mask_bytes >> 20);
    }
  }
  {
    std::lock_guard<std::mutex> lock(z.mutex);
    z.stats.masks_ms = ms_since(t1);
    z.stats.background_ms = 0;
  }
  if (n_first < g->slot_nodes_.size() && classify == Classify::kBackground) {
    const CompiledGrammar* raw = g.get();
    z.worker = std::thread([raw] {
      // Below the engine's threads: the work is off the critical path (matchers never wait for it).
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kBackgroundNice);
      raw->run_background();
    });
  }
  return std::shared_ptr<const CompiledGrammar>(std::move(g));
}

}  // namespace parley
