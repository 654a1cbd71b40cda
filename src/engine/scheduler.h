// Scheduler: decides what each step computes. Pure bookkeeping over sequences and the block pool,
// tested with no model at all.
//
// There is no prefill phase and no decode phase: every sequence has tokens computed and tokens
// wanted, and each step spends a token budget to let sequences catch up:
//   1. running sequences that are generating get their one token each (they are latency-bound);
//   2. running sequences still reading their prompt get chunks of what is left (chunked
//      prefill: a long prompt never stalls the others' streams);
//   3. waiting sequences are admitted, with their first chunk, while budget and blocks last.
// Among sequences of the same priority, the tenant that received the least service recently
// (tokens computed, decayed) goes first, in admission and in chunk order: one tenant's burst of
// long requests cannot starve the others.
//
// When the pool runs dry for a generating sequence, the lowest-priority, latest-arrived running
// sequence is preempted: its blocks are released (full ones stay in the prefix cache) and it waits
// at the head of the queue to be recomputed from its prompt and the tokens it already produced;
// nothing already emitted is lost or repeated.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "engine/kv_manager.h"
#include "engine/sequence.h"

namespace parley {

struct SchedulerConfig {
  std::int64_t max_batch_tokens = 512;  // token budget of one step
  std::int32_t max_running = 64;        // sequences admitted at once
  double fairness_decay = 0.99;         // per step, on each tenant's recent service
};

struct ScheduledSeq {
  Sequence* seq = nullptr;
  std::int32_t n_tokens = 0;   // tokens computed this step, from seq->n_computed on
  bool wants_logits = false;   // this chunk reaches the last known token: sample after the step
};

struct StepPlan {
  std::vector<ScheduledSeq> seqs;     // in batch order
  std::vector<BlockCopy> copies;      // copy-on-write, to run before the step
  std::vector<Sequence*> preempted;   // sent back to the queue this step
  std::int64_t n_tokens = 0;
  bool empty() const { return seqs.empty(); }
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, KvManager& kv) : config_(config), kv_(kv) {}

  void add(Sequence* seq);  // to the waiting queue
  // Takes a sequence out wherever it is (waiting or running), releasing its blocks.
  void remove(Sequence* seq);

  StepPlan schedule();

  std::size_t n_waiting() const;
  std::size_t n_running() const { return running_.size(); }
  const std::vector<Sequence*>& running() const { return running_; }
  double service(const std::string& tenant) const;

 private:
  struct TenantQueue {
    std::deque<Sequence*> seqs;
  };
  StepPlan plan_step(bool admit);
  // True when a goes before b: priority, then the tenant served less recently, then arrival.
  bool before(const Sequence* a, const Sequence* b) const;
  Sequence* next_waiting() const;
  void pop_waiting(Sequence* seq);
  // The running sequence to give up for `for_seq` (never one already scheduled this step unless it
  // is `for_seq` itself), or nullptr.
  Sequence* pick_victim(const Sequence* for_seq, const std::vector<ScheduledSeq>& scheduled) const;
  void preempt(Sequence* seq, StepPlan* plan);
  void charge(const Sequence* seq, std::int32_t n_tokens);

  SchedulerConfig config_;
  KvManager& kv_;
  std::map<std::string, TenantQueue> waiting_;
  std::vector<Sequence*> running_;
  std::map<std::string, double> service_;
};

}  // namespace parley
