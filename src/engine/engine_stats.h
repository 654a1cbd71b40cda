// A snapshot of what the engine is doing, for metrics and benchmarks.
#pragma once

#include <array>
#include <cstdint>

#include "engine/request.h"
#include "kv/kv_tier.h"

namespace parley {

struct EngineStats {
  std::int64_t waiting = 0;           // queued, not admitted
  std::int64_t running = 0;           // admitted (prefilling or generating)
  std::int64_t kv_blocks_total = 0;
  std::int64_t kv_blocks_used = 0;    // held by running requests
  std::int64_t kv_blocks_cached = 0;  // free but holding reusable prefixes
  std::int64_t preemptions = 0;       // total since start
  std::int64_t prompt_tokens = 0;     // total prompt tokens admitted (first admission only)
  std::int64_t prefix_hit_tokens = 0; // of which served from the prefix cache
  std::int64_t generated_tokens = 0;  // total
  std::int64_t steps = 0;             // forward passes run
  std::int64_t requests_finished = 0;
  std::int64_t requests_rejected = 0;
  std::int64_t grammar_masks = 0;   // token masks computed for constrained requests
  double grammar_mask_seconds = 0;  // time spent computing them (on the engine thread)
  // Per priority class (index: priority_index()).
  std::array<std::int64_t, kNumPriorities> waiting_by_priority{};
  std::array<std::int64_t, kNumPriorities> running_by_priority{};
  double target_step_seconds = 0;      // the latency target of a step (0: none)
  std::int64_t steps_over_target = 0;  // steps that took longer than the target
  double step_seconds_total = 0;       // time spent in steps
  // The step cost model's running mean of |predicted - measured| / measured.
  double step_cost_error = 0;
  // Its coefficients: seconds per step, per prompt token, per decode token, per 10^4 attention
  // pairs (StepCostModel::Coefficients).
  std::array<double, 4> step_cost_coefficients{};
  // The KV tier below the pool (all zero without one); prefix_hit_tokens counts its hits too.
  KvTierStats kv_tier;

  double prefix_hit_rate() const {
    return prompt_tokens > 0 ? static_cast<double>(prefix_hit_tokens) / static_cast<double>(prompt_tokens) : 0.0;
  }
};

}  // namespace parley
