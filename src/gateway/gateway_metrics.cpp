#include "gateway/gateway_metrics.h"

#include <memory>

namespace parley {

GatewayMetrics::GatewayMetrics(MetricsRegistry& r)
    : registry(r),
      requests(r.counter("parley_requests_total", "API requests by endpoint and HTTP status.",
                         {"model", "endpoint", "status"})),
      ttft(r.histogram("parley_time_to_first_token_seconds", "Time from arrival to the first generated token.",
                       {"model"}, latency_buckets_seconds())),
      itl(r.histogram("parley_inter_token_latency_seconds", "Time between consecutive tokens of a response.", {"model"},
                      latency_buckets_seconds())),
      e2e(r.histogram("parley_request_duration_seconds", "Time from arrival to the end of the response.",
                      {"model", "endpoint"}, latency_buckets_seconds())),
      prompt_tokens(
          r.histogram("parley_request_prompt_tokens", "Prompt tokens per request.", {"model"}, token_count_buckets())),
      generation_tokens(r.histogram("parley_request_generation_tokens", "Generated tokens per request.", {"model"},
                                    token_count_buckets())),
      prompt_tokens_total(r.counter("parley_prompt_tokens_total", "Prompt tokens processed.", {"model"})),
      generation_tokens_total(r.counter("parley_generation_tokens_total", "Tokens generated.", {"model"})),
      engine(r),
      grammar_compile(r.histogram("parley_grammar_compile_seconds",
                                  "Time a constrained request waited for its grammar (cached grammars: microseconds).",
                                  {"model"}, latency_buckets_seconds())),
      queue_time(r.histogram("parley_queue_time_seconds",
                             "Time from arrival to the first engine step that computes the request.",
                             {"model", "priority"}, latency_buckets_seconds())),
      itl_by_priority(r.histogram("parley_inter_token_latency_by_priority_seconds",
                                  "Time between consecutive tokens of a response, per priority class.",
                                  {"model", "priority"}, latency_buckets_seconds())) {}

void GatewayMetrics::watch_engine(const std::string& model, const EngineClient& e) {
  engine.watch(model, e);
}

}  // namespace parley
