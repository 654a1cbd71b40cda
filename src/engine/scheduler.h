// Scheduler: decides what each step computes. Pure bookkeeping over sequences and the block pool,
// tested with no model at all.
//
// There is no prefill phase and no decode phase: every sequence has tokens computed and tokens
// wanted, and each step lets sequences catch up. A step is planned in this order:
//   1. interactive sequences that are generating get their one token each: decodes are in every
//      step, so a running stream never waits for more than one step;
//   2. interactive prompts get chunks (chunked prefill) until the step is full: "full" is the
//      latency target (the step cost model predicts the step's time; a step may not take longer
//      than the target, so the streams of step 1 keep their inter-token latency), or
//      max_batch_tokens. The prompt tokens of a step are shared between tenants by recent
//      service: a quantum at a time goes to the tenant that received the least (tokens computed,
//      decayed per step), within a tenant in arrival order; a tenant reads at most
//      max_prefill_per_tenant prompts at once. A short prompt from a tenant with little recent
//      service therefore starts in the next step, however many long prompts another tenant has
//      mid-prefill (they pause at a chunk boundary, keeping their blocks); and the flooding tenant
//      keeps what is left, so it is never starved either. Waiting requests are admitted as they
//      get their first chunk;
//   3. batch sequences that are generating, as far as the step has room under the target;
//   4. batch prompts, with what is left (admitted only while no interactive request waits).
// A step always takes at least min_prefill_tokens prompt tokens when prompts wait, even when its
// decodes alone exceed the target, so new requests are never starved by running ones; and it
// computes at least min_step_work times the tokens its fixed cost is worth (the cost model's
// c0 / c_prefill), so that a target the machine cannot meet (too short, or the machine busy)
// does not shrink steps into mostly fixed cost and collapse throughput.
//
// Preemption (blocks are released, full ones stay in the prefix cache, and the sequence waits at
// the head of its tenant's queue to be recomputed from its prompt and the tokens it already
// produced; nothing already emitted is lost or repeated):
//   - when the pool runs dry for a generating sequence, the least urgent, latest-arrived running
//     sequence gives up its blocks (never one more urgent than the one that needs them);
//   - a request that cannot be admitted for lack of room (max_running or blocks) takes it from a
//     running sequence not in this step: a batch one, or one reading its prompt for a tenant that
//     received more service;
//   - when nothing can progress at all (prompts holding every block between them), the least
//     urgent one is preempted.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/kv_manager.h"
#include "engine/sequence.h"
#include "engine/step_cost_model.h"

namespace parley {

struct SchedulerConfig {
  std::int64_t max_batch_tokens = 512;  // tokens of one step at most (the runner's buffers)
  std::int32_t max_running = 64;        // sequences admitted at once
  double fairness_decay = 0.99;         // per step, on each tenant's recent service
  // Latency target of a step, seconds: the inter-token latency of running streams. Prompt chunks
  // are limited to what the cost model predicts fits. 0: no target (max_batch_tokens only).
  double target_step_s = 0;
  std::int32_t max_prefill_per_tenant = 2;  // prompts of one tenant in prefill at once (0: no bound)
  std::int32_t prefill_quantum = 16;        // unit of the fair share of a step's prompt tokens
  std::int32_t min_prefill_tokens = 16;     // prompt tokens a step takes even over the target
  // While prompts wait, a step computes at least this many times the tokens its fixed cost is
  // worth (c0 / c_prefill of the cost model), even over the target: below that the fixed cost of
  // a step (the weights streamed once) dominates, prompts are read too slowly to keep the
  // running slots busy, and throughput collapses. The target is honoured only above ~(1 + this)
  // times the fixed cost; on a slow or busy machine steps keep their size and take longer.
  double min_step_work = 2.5;
  // Prompt tokens of a step while the cost model warms up; later a step extrapolates at most to
  // twice the largest prompt count the model has seen (its window), so it grows step by step.
  std::int32_t warmup_prefill_tokens = 64;
};

struct ScheduledSeq {
  Sequence* seq = nullptr;
  std::int32_t n_tokens = 0;  // tokens computed this step, from seq->n_computed on
  bool wants_logits = false;  // this chunk reaches the last known token: sample after the step
};

struct StepPlan {
  std::vector<ScheduledSeq> seqs;    // in batch order
  std::vector<BlockCopy> copies;     // copy-on-write, to run before the step
  std::vector<Sequence*> preempted;  // sent back to the queue this step
  std::int64_t n_tokens = 0;
  StepShape shape;         // what the cost model sees
  double predicted_s = 0;  // its prediction (0 before it is ready)
  bool empty() const { return seqs.empty(); }
};

class Scheduler {
 public:
  // `cost` (optional, must outlive the scheduler) predicts step times for the latency target.
  Scheduler(const SchedulerConfig& config, KvManager& kv, const StepCostModel* cost = nullptr)
      : config_(config), kv_(kv), cost_(cost) {}

  const SchedulerConfig& config() const { return config_; }
  void add(Sequence* seq);  // to the waiting queue
  // Takes a sequence out wherever it is (waiting or running), releasing its blocks.
  void remove(Sequence* seq);

  StepPlan schedule();

  std::size_t n_waiting() const;
  std::size_t n_waiting(Priority p) const;
  std::size_t n_running() const { return running_.size(); }
  std::size_t n_running(Priority p) const;
  const std::vector<Sequence*>& running() const { return running_; }
  double service(const std::string& tenant) const;

 private:
  struct TenantQueue {
    std::deque<Sequence*> seqs;
  };
  struct Planning;
  enum class Take { kTaken, kBlocked, kFull };  // kFull: the step has no room left

  StepPlan plan_step(bool admit);
  // True when a goes before b: priority, then the tenant served less recently, then arrival.
  bool before(const Sequence* a, const Sequence* b) const;
  void pop_waiting(Sequence* seq);
  bool interactive_waiting() const;

  void schedule_decodes(Priority p, Planning& st);
  void fill_prefill(Priority p, bool admit, Planning& st);
  // The next sequence to get a quantum of prompt tokens: the head of the least-served tenant's
  // work (its running prompts, then its queue), or nullptr.
  Sequence* next_prefill(Priority p, bool admit, Planning& st) const;
  Sequence* head_of(const std::string& tenant, Priority p, bool admit, const Planning& st) const;
  // Prompt tokens of `s` (up to `want`) that fit the step: budget, latency target, extrapolation.
  std::int32_t fit_prefill(const Planning& st, const Sequence* s, std::int32_t want) const;
  bool fits(const Planning& st, const StepShape& shape) const;
  // Prompt tokens the step takes even over the target (min_prefill_tokens, min_step_work).
  std::int64_t work_floor(const Planning& st) const;
  void update_step_work();  // step_work_tokens_ from the cost model, when it can tell
  // Gives up to `n` more prompt tokens of running `s` this step (blocks permitting); false if none.
  bool extend(Sequence* s, std::int32_t n, Planning& st);
  // Admits waiting `s` with a first chunk (a quantum that fits), making room if it may.
  Take admit_seq(Sequence* s, Planning& st);
  void give(Sequence* s, std::int32_t n, Planning& st);

  // The running sequence to give up for `for_seq` (never one already scheduled this step unless it
  // is `for_seq` itself, never one more urgent than `for_seq`), or nullptr.
  Sequence* pick_victim(const Sequence* for_seq, const Planning* st) const;
  // A running sequence that may yield its room to newcomer `s`, or nullptr.
  Sequence* pick_yield(const Sequence* s, const Planning& st) const;
  void preempt(Sequence* seq, StepPlan* plan);
  void charge(const Sequence* seq, std::int32_t n_tokens);

  SchedulerConfig config_;
  KvManager& kv_;
  const StepCostModel* cost_;
  std::map<std::string, TenantQueue> waiting_;
  std::vector<Sequence*> running_;
  std::map<std::string, double> service_;
  double step_work_tokens_ = 0;  // the min_step_work floor of a step, in tokens
};

}  // namespace parley
