// RequestTrace: one API request's place in a trace (obs/trace.h). The gateway makes it from the
// request head (a `traceparent` header joins the caller's trace) and hands it to what the request
// runs: the generation job records the engine's spans, the conversation API the persist span.
//
// Spans of a request, when a Tracer is configured:
//   "<METHOD> <route>" (server)   the whole request, from its head to the end of the response
//     "authenticate"              credentials checked against the store
//     "generate" (client)         one per choice: submitted to the engine until its finish
//       "queue", "prefill", "decode"   from the engine's timings (queue, first token, end)
//     "persist"                   the reply written to the conversation store
// A worker behind the gateway adds its own "worker generate" span under "generate".
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "engine/request.h"
#include "obs/trace.h"

namespace parley {

struct RequestTrace {
  std::shared_ptr<Tracer> tracer;  // null: nothing is recorded here
  SpanTiming request;              // the request's span (valid when recording)
  std::string name;                // of the request's span: "POST /v1/chat/completions"
  // What the request's own calls downstream carry: the request span's context when recording,
  // else the caller's header as it came (so that a trace crosses a gateway that records nothing).
  std::string traceparent;
  // When the caller's credentials were checked (recorded as "authenticate" with the request's span,
  // so that a request that never gets there leaves no orphan).
  std::optional<std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>> authenticated;

  bool recording() const { return tracer != nullptr && request.context.sampled; }
  // A child of the request's span, starting now.
  SpanTiming child() const;
  // Records a child span that started at `timing.start` and ends now.
  void record_child(const SpanTiming& timing, std::string name, bool error = false,
                    std::string status_message = {}) const;
};

// The trace of a request from its head: a span under the caller's `traceparent` (or a new trace).
RequestTrace begin_request_trace(const std::shared_ptr<Tracer>& tracer, std::string_view traceparent_header,
                                 std::string name);

// The spans of one engine request that started at `generate.start` and finished with `finish`.
void record_generate_spans(const RequestTrace& trace, const SpanTiming& generate, const FinishEvent& finish,
                           const std::string& model);

// The request's own span, ending now.
void record_request_span(const RequestTrace& trace, int status, const std::string& request_id);

}  // namespace parley
