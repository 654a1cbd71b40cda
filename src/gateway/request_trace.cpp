#include "gateway/request_trace.h"

#include <algorithm>

namespace parley {

SpanTiming RequestTrace::child() const {
  SpanTiming t;
  if (!recording()) return t;
  t.context = tracer->child_of(request.context);
  t.parent_span_id = request.context.span_id;
  return t;
}

void RequestTrace::record_child(const SpanTiming& timing, std::string span_name, bool error,
                                std::string status_message) const {
  if (!recording()) return;
  SpanRecord r = finish_span(timing, std::move(span_name), SpanKind::kInternal);
  r.error = error;
  r.status_message = std::move(status_message);
  tracer->record(std::move(r));
}

RequestTrace begin_request_trace(const std::shared_ptr<Tracer>& tracer, std::string_view traceparent_header,
                                 std::string name) {
  RequestTrace t;
  const std::optional<TraceContext> parent = parse_traceparent(traceparent_header);
  if (parent) t.traceparent = format_traceparent(*parent);
  if (!tracer) return t;
  t.tracer = tracer;
  t.name = std::move(name);
  t.request.context = tracer->child_of(parent);
  if (parent) t.request.parent_span_id = parent->span_id;
  if (t.request.context.sampled) t.traceparent = format_traceparent(t.request.context);
  return t;
}

void record_generate_spans(const RequestTrace& trace, const SpanTiming& generate, const FinishEvent& finish,
                           const std::string& model) {
  if (!trace.recording() || !generate.context.valid()) return;
  const auto end = std::chrono::steady_clock::now();
  SpanRecord g = finish_span(generate, "generate", SpanKind::kClient, end);
  g.attributes = {{"parley.model", model}, {"parley.finish_reason", std::string(finish_reason_name(finish.reason))}};
  g.int_attributes = {{"parley.prompt_tokens", finish.prompt_tokens},
                      {"parley.cached_prompt_tokens", finish.cached_prompt_tokens},
                      {"parley.completion_tokens", finish.completion_tokens},
                      {"parley.preemptions", finish.preemptions}};
  g.error = finish.reason == FinishReason::kError;
  g.status_message = finish.message;
  // The engine's stages, from its timings (seconds since the request arrived there), clamped
  // into the generate span.
  const auto at = [&](double s) {
    const auto t = generate.start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(std::max(0.0, s)));
    return std::min(t, end);
  };
  const RequestTimings& tm = finish.timings;
  const bool produced = finish.completion_tokens > 0 && tm.ttft_s > 0;
  struct Stage {
    const char* name;
    double from, to;
  };
  const Stage stages[] = {{"queue", 0, tm.queue_s},
                          {"prefill", tm.queue_s, produced ? tm.ttft_s : tm.total_s},
                          {"decode", tm.ttft_s, tm.total_s}};
  for (const Stage& s : stages) {
    if (s.to <= s.from || (!produced && std::string_view(s.name) == "decode")) continue;
    SpanTiming st;
    st.context = trace.tracer->child_of(generate.context);
    st.parent_span_id = generate.context.span_id;
    st.start = at(s.from);
    trace.tracer->record(finish_span(st, s.name, SpanKind::kInternal, at(s.to)));
  }
  trace.tracer->record(std::move(g));
}

void record_request_span(const RequestTrace& trace, int status, const std::string& request_id) {
  if (!trace.recording()) return;
  SpanRecord r = finish_span(trace.request, trace.name, SpanKind::kServer);
  r.attributes = {{"parley.request_id", request_id}};
  r.int_attributes = {{"http.response.status_code", status}};
  r.error = status >= 500;
  if (trace.authenticated) {
    SpanTiming a = trace.child();
    a.start = trace.authenticated->first;
    trace.tracer->record(finish_span(a, "authenticate", SpanKind::kInternal, trace.authenticated->second));
  }
  trace.tracer->record(std::move(r));
}

}  // namespace parley
