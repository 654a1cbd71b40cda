// Tracing: W3C Trace Context (`traceparent`) and spans exported over OTLP/HTTP.
//
// A request that arrives with a `traceparent` header joins the caller's trace: its spans are
// children of the caller's span and inherit its sampled flag. A request without one starts a new
// trace, sampled with TracerOptions::sample_ratio. Spans are recorded when they end (a SpanRecord
// holds its start and end), queued, and exported in batches by one background thread, so
// recording never waits on the network: a full queue drops spans and counts them.
//
//   auto tracer = Tracer::create(options, std::make_unique<OtlpHttpExporter>(exporter_options));
//   TraceContext span = tracer->child_of(parse_traceparent(head.header("traceparent")));
//   ...
//   tracer->record({.name = "authenticate", .context = auth, .parent_span_id = span.span_id, ...});
//
// Off by default: without a Tracer (nullptr) nothing is recorded; the gateway and the worker still
// forward the `traceparent` they received, so a trace crosses a Parley hop that records nothing.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace parley {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = false;

  bool valid() const;  // neither id is all zeros
};

// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; a later version's header is read by its
// first four fields (W3C: "future versions"). Anything else, upper-case hex, or an all-zero id:
// nullopt (the request then starts a new trace).
std::optional<TraceContext> parse_traceparent(std::string_view header);
std::string format_traceparent(const TraceContext& context);
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);

// Nanoseconds since the Unix epoch of a steady-clock time point (spans are timed with the steady
// clock, exported in wall time).
std::int64_t unix_nanos(std::chrono::steady_clock::time_point t);

enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };

struct SpanRecord {
  std::string name;
  TraceContext context;     // its trace and its own span id
  SpanId parent_span_id{};  // all zeros: a root span
  SpanKind kind = SpanKind::kInternal;
  std::int64_t start_unix_ns = 0;
  std::int64_t end_unix_ns = 0;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<std::pair<std::string, std::int64_t>> int_attributes;
  bool error = false;
  std::string status_message;  // with error
};

// Where finished spans go, a batch at a time, on the tracer's thread.
class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // False: the batch was not delivered (it is dropped and counted; tracing never retries
  // forever).
  virtual bool export_batch(const std::vector<SpanRecord>& spans) = 0;
};

struct TracerOptions {
  std::string service_name = "parley";
  double sample_ratio = 1.0;     // new traces (no sampled parent) recorded with this chance
  std::size_t max_queue = 8192;  // spans waiting for export; more are dropped
  std::size_t max_batch = 512;   // spans per export call
  std::chrono::milliseconds flush_interval{1000};
};

class Tracer {
 public:
  static std::shared_ptr<Tracer> create(TracerOptions options, std::unique_ptr<SpanExporter> exporter);
  ~Tracer();  // exports what is queued, then stops
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // A new span's context: in `parent`'s trace with its sampled flag, or the root of a new trace
  // sampled by sample_ratio.
  TraceContext child_of(const std::optional<TraceContext>& parent) const;
  // Queues a finished span for export (only if its context is sampled).
  void record(SpanRecord span);
  // Exports everything queued so far before returning (tests, shutdown).
  void flush();

  const TracerOptions& options() const { return options_; }
  std::uint64_t exported() const { return exported_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  Tracer(TracerOptions options, std::unique_ptr<SpanExporter> exporter);
  void run();

  TracerOptions options_;
  std::unique_ptr<SpanExporter> exporter_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<SpanRecord> queue_;
  std::uint64_t enqueued_ = 0;   // spans queued so far (under mu_)
  std::uint64_t processed_ = 0;  // spans exported or dropped by the thread (under mu_)
  bool stopping_ = false;
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

// A span being timed: its context (to hand to children and to forward) and its start.
struct SpanTiming {
  TraceContext context;
  SpanId parent_span_id{};
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// The record of a timed span ending now (or at `end`).
SpanRecord finish_span(const SpanTiming& timing, std::string name, SpanKind kind,
                       std::chrono::steady_clock::time_point end = std::chrono::steady_clock::now());

}  // namespace parley
