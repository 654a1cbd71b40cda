// Engine: the serving loop's core, single-threaded: schedule() -> execute() -> update(), over
// sequences it owns. LocalEngine runs it on its own thread; tests drive it step by step.
//
// execute() runs one batched forward pass (after the copy-on-write copies the scheduler asked
// for); update() marks chunks computed, samples the next token of every sequence whose known
// tokens are all computed, applies the stop conditions (end-of-generation and stop tokens,
// max_tokens, context length), and sends token and finish events to the sinks. Each step's time
// (schedule to the last event) goes to the step cost model, which the scheduler consults to keep
// steps within the latency target.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "engine/engine_stats.h"
#include "engine/kv_manager.h"
#include "engine/scheduler.h"
#include "engine/sequence.h"
#include "engine/step_runner.h"

namespace parley {

struct EngineConfig {
  SchedulerConfig scheduler;
  std::int32_t n_ctx = 2048;        // tokens per sequence, prompt + output
  std::int32_t max_waiting = 256;   // queued requests before submit() refuses
  std::vector<TokenId> eog_tokens;  // the model's end-of-generation tokens
  StepCostModelConfig cost_model;   // the step-time model behind scheduler.target_step_s
  // Seconds on a monotonic clock; empty: std::chrono::steady_clock. Tests pass a fake one (with a
  // fake runner that advances it) to make timings, and so the cost model, deterministic.
  std::function<double()> clock;
};

class Engine {
 public:
  // `runner` and `pool` must outlive the engine; the pool must describe the runner's cache.
  Engine(const EngineConfig& config, StepRunner& runner, BlockPool& pool);
  ~Engine();

  const EngineConfig& config() const { return config_; }
  // Whether a request can be accepted now (checks sizes, ids, sampling, queue room). Reads the
  // queue: call it from the thread that steps the engine.
  Status validate(const GenerateRequest& request) const;
  // The request alone (sizes, ids, sampling), without the queue: reads only what is fixed at
  // construction, so any thread may call it while another steps the engine.
  Status validate_request(const GenerateRequest& request) const;
  // Queues a validated request.
  void add(RequestId id, GenerateRequest request, std::shared_ptr<RequestSink> sink);
  // Finishes the request with kCancelled (its blocks are freed at once). Unknown ids are ignored.
  void cancel(RequestId id);
  bool has_work() const { return !seqs_.empty(); }
  // Puts a lower KV tier below the pool (KvManager::attach_tier); `tier` outlives the engine. On
  // destruction the engine offers its cached blocks to the tier (a restart resumes from there).
  void attach_kv_tier(KvTier* tier) { kv_.attach_tier(tier, &runner_); }
  // One step; false when there was nothing to run.
  bool step();
  EngineStats stats() const;

 private:
  void finish(Sequence& seq, FinishReason reason, std::string message = {});
  // Samples, checks and records the next token of a sequence whose logits are ready; false when
  // the sequence was finished.
  bool sample_next(Sequence& q, std::span<float> logits, double t_done);
  // The grammar's mask for the next token (empty span without a grammar); nullopt when the
  // grammar allows nothing (the sequence is then finished with an error).
  std::optional<std::span<const std::uint64_t>> grammar_mask(Sequence& q);
  void fail_step(const StepPlan& plan, const Status& status);
  double now() const;

  void record_step(const StepPlan& plan, double seconds);

  EngineConfig config_;
  StepRunner& runner_;
  BlockPool& pool_;
  KvManager kv_;
  StepCostModel cost_;  // before the scheduler, which reads it
  Scheduler scheduler_;
  std::unordered_map<RequestId, std::unique_ptr<Sequence>> seqs_;
  std::uint64_t next_arrival_ = 0;
  std::vector<float> logits_;
  TokenMask mask_;  // scratch for grammar masks
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  EngineStats stats_;
};

}  // namespace parley
