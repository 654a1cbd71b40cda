// The metric families the gateway exports on /metrics, labelled by model.
#pragma once

#include <string>

#include "engine/engine_client.h"
#include "obs/metrics.h"
#include "router/engine_metrics.h"

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
  // The engine's gauges and counters (queue, running, KV blocks, prefix cache, grammar masks).
  EngineMetrics engine;
  // Constrained decoding: the time a request waited for its grammar (compiled on the request
  // pool; a cached grammar takes microseconds).
  Family<Histogram>& grammar_compile;  // {model}
  // Scheduling as the API sees it, per priority class (docs/serving-engine.md); the engine's own
  // series (queue and running per class, the step target and cost model) are in `engine`.
  Family<Histogram>& queue_time;       // {model, priority}: arrival to first scheduled
  Family<Histogram>& itl_by_priority;  // {model, priority}
};

}  // namespace parley
