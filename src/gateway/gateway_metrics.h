// The metric families the gateway exports on /metrics, labelled by model.
#pragma once

#include <string>

#include "engine/engine_client.h"
#include "obs/metrics.h"

namespace parley {

struct GatewayMetrics {
  explicit GatewayMetrics(MetricsRegistry& r);

  // Copies the engine's statistics into the gauges and counters (registered as a collector).
  void watch_engine(const std::string& model, const EngineClient& engine);

  MetricsRegistry& registry;
  Family<Counter>& requests;                 // {model, endpoint, status}
  Family<Histogram>& ttft;                   // {model}
  Family<Histogram>& itl;                    // {model}
  Family<Histogram>& e2e;                    // {model, endpoint}
  Family<Histogram>& prompt_tokens;          // {model}
  Family<Histogram>& generation_tokens;      // {model}
  Family<Counter>& prompt_tokens_total;      // {model}
  Family<Counter>& generation_tokens_total;  // {model}
  Family<Gauge>& queue_depth;                // {model}
  Family<Gauge>& running;                    // {model}
  Family<Gauge>& kv_usage;                   // {model}: used / total blocks
  Family<Gauge>& kv_blocks;                  // {model, state}
  Family<Gauge>& prefix_hit_rate;            // {model}
  Family<Counter>& preemptions;              // {model}
  Family<Counter>& prefix_hit_tokens;        // {model}
  // Constrained decoding: the time a request waited for its grammar (compiled on the request
  // pool; a cached grammar takes microseconds), and the masks the engine thread computed.
  Family<Histogram>& grammar_compile;     // {model}
  Family<Counter>& grammar_masks;         // {model}
  Family<Counter>& grammar_mask_seconds;  // {model}
  // Scheduling (docs/serving-engine.md): per priority class, and the step cost model.
  Family<Gauge>& queue_depth_by_priority;    // {model, priority}
  Family<Gauge>& running_by_priority;        // {model, priority}
  Family<Histogram>& queue_time;             // {model, priority}: arrival to first scheduled
  Family<Histogram>& itl_by_priority;        // {model, priority}
  Family<Gauge>& step_target;                // {model}: the latency target of a step (0: none)
  Family<Counter>& steps;                    // {model}
  Family<Counter>& steps_over_target;        // {model}
  Family<Gauge>& step_cost_error;            // {model}: the cost model's mean relative error
};

}  // namespace parley
