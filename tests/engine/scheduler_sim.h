// A scheduler driven with no model and a fake clock: each step "takes" the time of a known linear
// cost (the fake machine), which the step cost model learns as the engine's would. Sequences get
// a token when their chunk reaches the end and finish at max_output; per sequence, the fake
// times of its tokens are recorded for latency assertions.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/scheduler.h"

namespace parley::testing {

struct FakeMachine {
  double c0 = 0.040;       // seconds per step
  double c_token = 0.004;  // per token computed
  double c_attn = 0.002;   // per 10^4 (query, key) pairs
  double seconds(const StepShape& s) const {
    return c0 + c_token * static_cast<double>(s.n_prefill + s.n_decode) + c_attn * s.attention / 1e4;
  }
};

class SchedulerSim {
 public:
  struct Trace {
    double arrival = 0;
    std::vector<double> token_times;
    bool finished = false;
  };
  struct StepRecord {
    double seconds = 0;
    std::int64_t n_prefill = 0;
    std::int64_t n_decode = 0;
    std::map<std::string, std::int64_t> prefill_by_tenant;
    std::map<std::string, std::int32_t> prompts_by_tenant;  // sequences given prompt tokens
    std::vector<const Sequence*> seqs;
    std::int64_t prefill(const std::string& tenant) const {
      const auto it = prefill_by_tenant.find(tenant);
      return it == prefill_by_tenant.end() ? 0 : it->second;
    }
    std::int32_t prompts(const std::string& tenant) const {
      const auto it = prompts_by_tenant.find(tenant);
      return it == prompts_by_tenant.end() ? 0 : it->second;
    }
  };

  explicit SchedulerSim(SchedulerConfig config, std::int32_t n_blocks = 4096, std::int32_t block_size = 16)
      : pool_(n_blocks, block_size), kv_(pool_), scheduler_(config, kv_, &cost_) {}

  Sequence* add(const std::string& tenant, std::int32_t n_prompt, std::int32_t max_output,
                Priority priority = Priority::kInteractive) {
    auto s = std::make_unique<Sequence>();
    s->id = next_id_++;
    s->request.tenant = tenant;
    s->request.priority = priority;
    // Distinct prompts: no prefix-cache hits between requests.
    for (std::int32_t i = 0; i < n_prompt; ++i) s->tokens.push_back(static_cast<TokenId>((s->id * 7919 + i) % 30000));
    s->n_prompt = n_prompt;
    s->max_output = max_output;
    s->arrival_order = s->id;
    traces_[s.get()].arrival = now_;
    scheduler_.add(s.get());
    seqs_.push_back(std::move(s));
    return seqs_.back().get();
  }

  // One step: plan, "run" it on the fake machine, commit, emit tokens, finish what is done.
  StepRecord step() {
    StepPlan plan = scheduler_.schedule();
    StepRecord r;
    r.seconds = plan.empty() ? 0.0 : machine.seconds(plan.shape);
    r.n_prefill = plan.shape.n_prefill;
    r.n_decode = plan.shape.n_decode;
    now_ += r.seconds;
    if (!plan.empty()) cost_.observe(plan.shape, r.seconds);
    for (const ScheduledSeq& x : plan.seqs) {
      Sequence* s = x.seq;
      r.seqs.push_back(s);
      if (!s->decoding()) {
        r.prefill_by_tenant[s->request.tenant] += x.n_tokens;
        ++r.prompts_by_tenant[s->request.tenant];
      }
      kv_.commit(*s, x.n_tokens);
      if (!x.wants_logits) continue;
      s->tokens.push_back(static_cast<TokenId>(s->tokens.size() % 1000));
      traces_[s].token_times.push_back(now_);
      if (s->n_output() >= s->max_output) {
        scheduler_.remove(s);
        traces_[s].finished = true;
      }
    }
    steps_.push_back(r);
    return r;
  }
  // Steps until `done` or `max_steps`.
  template <typename Pred>
  void run_until(Pred done, int max_steps = 100000) {
    for (int i = 0; i < max_steps && !done(); ++i) step();
  }

  const Trace& trace(const Sequence* s) const { return traces_.at(s); }
  bool finished(const Sequence* s) const { return traces_.at(s).finished; }
  double ttft(const Sequence* s) const {
    const Trace& t = traces_.at(s);
    return t.token_times.empty() ? -1.0 : t.token_times.front() - t.arrival;
  }
  double max_itl(const Sequence* s) const {
    const Trace& t = traces_.at(s);
    double m = 0;
    for (std::size_t i = 1; i < t.token_times.size(); ++i) m = std::max(m, t.token_times[i] - t.token_times[i - 1]);
    return m;
  }
  double now() const { return now_; }
  const std::vector<StepRecord>& steps() const { return steps_; }
  Scheduler& scheduler() { return scheduler_; }
  const StepCostModel& cost() const { return cost_; }
  BlockPool& pool() { return pool_; }

  FakeMachine machine;

 private:
  BlockPool pool_;
  KvManager kv_;
  StepCostModel cost_;
  Scheduler scheduler_;
  std::vector<std::unique_ptr<Sequence>> seqs_;
  std::map<const Sequence*, Trace> traces_;
  std::vector<StepRecord> steps_;
  double now_ = 0;
  RequestId next_id_ = 1;
};

}  // namespace parley::testing
