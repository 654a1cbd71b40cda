#include "grammar/compiled_grammar.h"

#include <algorithm>
#include <chrono>

#include "grammar/node_classifier.h"

namespace parley {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::int64_t mask_bytes(const NodeMask& m) {
  return static_cast<std::int64_t>(m.accepted_bits.words().size() * 8 + m.accepted_list.size() * 4 +
                                   m.uncertain.size() * sizeof(UncertainToken));
}

}  // namespace

Result<std::shared_ptr<const CompiledGrammar>> compile_grammar(const Grammar& grammar,
                                                               std::shared_ptr<const TokenVocabulary> vocab,
                                                               const GrammarLimits& limits,
                                                               std::shared_ptr<const GrammarSpec> source) {
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Pda pda, Pda::build(grammar, limits));
  std::shared_ptr<CompiledGrammar> g(new CompiledGrammar(std::move(pda), std::move(vocab), limits));
  g->source_ = std::move(source);
  g->stats_.pda_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  const Pda& p = g->pda_;
  g->stats_.n_nodes = static_cast<std::int64_t>(p.n_nodes());
  g->mask_index_.assign(p.n_nodes(), -1);
  NodeClassifier classifier(p, *g->vocab_, limits);
  for (PdaNodeId n = 0; n < p.n_nodes(); ++n) {
    if (!p.reachable()[n] || !p.reads_bytes(n)) continue;
    NodeMask m = classifier.classify(n);
    g->stats_.n_uncertain += static_cast<std::int64_t>(m.uncertain.size());
    g->stats_.mask_bytes += mask_bytes(m);
    if (g->stats_.mask_bytes > limits.max_mask_bytes) {
      return invalid_argument_error("the grammar is too large: its token masks need more than {} MiB",
                                    limits.max_mask_bytes >> 20);
    }
    g->mask_index_[n] = static_cast<std::int32_t>(g->masks_.size());
    g->masks_.push_back(std::move(m));
  }
  g->stats_.n_mask_nodes = static_cast<std::int64_t>(g->masks_.size());
  g->stats_.masks_ms = ms_since(t1);
  return std::shared_ptr<const CompiledGrammar>(std::move(g));
}

}  // namespace parley
