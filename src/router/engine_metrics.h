// EngineMetrics: an engine's statistics (EngineStats) as Prometheus gauges and counters, copied
// from EngineClient::stats() at every scrape. The same names in `parley serve` (the gateway's
// /metrics) and `parley worker` (the worker's /metrics), so dashboards work for both.
#pragma once

#include <string>

#include "engine/engine_client.h"
#include "obs/metrics.h"

namespace parley {

class EngineMetrics {
 public:
  explicit EngineMetrics(MetricsRegistry& r);

  // Registers a collector that copies `engine`'s stats (which must outlive the registry's
  // collections) into the series of `model`.
  void watch(const std::string& model, const EngineClient& engine);

  MetricsRegistry& registry;
  Family<Gauge>& queue_depth;             // {model}
  Family<Gauge>& running;                 // {model}
  Family<Gauge>& kv_usage;                // {model}: used / total blocks
  Family<Gauge>& kv_blocks;               // {model, state}
  Family<Gauge>& prefix_hit_rate;         // {model}
  Family<Counter>& preemptions;           // {model}
  Family<Counter>& prefix_hit_tokens;     // {model}
  Family<Counter>& grammar_masks;         // {model}
  Family<Counter>& grammar_mask_seconds;  // {model}
  // The KV disk tier (kv/kv_tier.h).
  Family<Counter>& kv_tier_blocks;  // {model, event}: loaded, missed, stored, evicted, dropped, failed, rejected
  Family<Counter>& kv_tier_bytes;   // {model, direction}: written, read
  Family<Gauge>& kv_tier_size;      // {model}: bytes held
  // Scheduling (docs/serving-engine.md): per priority class, and the step cost model.
  Family<Gauge>& queue_depth_by_priority;  // {model, priority}
  Family<Gauge>& running_by_priority;      // {model, priority}
  Family<Gauge>& step_target;              // {model}: the latency target of a step (0: none)
  Family<Counter>& steps;                  // {model}
  Family<Counter>& steps_over_target;      // {model}
  Family<Gauge>& step_cost_error;          // {model}: the cost model's mean relative error
};

}  // namespace parley
