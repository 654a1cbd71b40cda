#include "obs/trace.h"

#include <algorithm>
#include <random>

#include "base/rng.h"

namespace parley {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

template <std::size_t N>
bool parse_hex(std::string_view s, std::array<std::uint8_t, N>& out) {
  if (s.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(s[2 * i]);
    const int lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    s[2 * i] = kDigits[id[i] >> 4];
    s[2 * i + 1] = kDigits[id[i] & 15];
  }
  return s;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& id) {
  return std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; });
}

Rng& thread_rng() {
  // Ids must be unique, not secret: a per-thread generator seeded from the OS.
  thread_local Rng rng(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  return rng;
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& id) {
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t v = thread_rng().next_u64();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j) id[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  } while (all_zero(id));
}

}  // namespace

bool TraceContext::valid() const {
  return !all_zero(trace_id) && !all_zero(span_id);
}

std::optional<TraceContext> parse_traceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags; 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
  if (header.size() < 55) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!parse_hex(header.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && header.size() != 55) return std::nullopt;
  if (version[0] > 0 && header.size() > 55 && header[55] != '-') return std::nullopt;
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  TraceContext c;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(header.substr(3, 32), c.trace_id) || !parse_hex(header.substr(36, 16), c.span_id) ||
      !parse_hex(header.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!c.valid()) return std::nullopt;
  c.sampled = (flags[0] & 1) != 0;
  return c;
}

std::string format_traceparent(const TraceContext& context) {
  return "00-" + hex(context.trace_id) + "-" + hex(context.span_id) + (context.sampled ? "-01" : "-00");
}

std::string to_hex(const TraceId& id) {
  return hex(id);
}
std::string to_hex(const SpanId& id) {
  return hex(id);
}

std::int64_t unix_nanos(std::chrono::steady_clock::time_point t) {
  // One offset between the clocks, taken once: every conversion is then consistent (a child span
  // never starts before its parent because two conversions sampled the clocks differently).
  static const std::chrono::nanoseconds offset = [] {
    const auto steady = std::chrono::steady_clock::now().time_since_epoch();
    const auto system = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(system) -
           std::chrono::duration_cast<std::chrono::nanoseconds>(steady);
  }();
  return (std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()) + offset).count();
}

SpanRecord finish_span(const SpanTiming& timing, std::string name, SpanKind kind,
                       std::chrono::steady_clock::time_point end) {
  SpanRecord r;
  r.name = std::move(name);
  r.context = timing.context;
  r.parent_span_id = timing.parent_span_id;
  r.kind = kind;
  r.start_unix_ns = unix_nanos(timing.start);
  r.end_unix_ns = std::max(r.start_unix_ns, unix_nanos(end));
  return r;
}

// ---- Tracer ---------------------------------------------------------------------------------------

std::shared_ptr<Tracer> Tracer::create(TracerOptions options, std::unique_ptr<SpanExporter> exporter) {
  std::shared_ptr<Tracer> t(new Tracer(std::move(options), std::move(exporter)));
  t->thread_ = std::thread([raw = t.get()] { raw->run(); });
  return t;
}

Tracer::Tracer(TracerOptions options, std::unique_ptr<SpanExporter> exporter)
    : options_(std::move(options)), exporter_(std::move(exporter)) {
  options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
  options_.sample_ratio = std::clamp(options_.sample_ratio, 0.0, 1.0);
}

Tracer::~Tracer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

TraceContext Tracer::child_of(const std::optional<TraceContext>& parent) const {
  TraceContext c;
  if (parent && parent->valid()) {
    c.trace_id = parent->trace_id;
    c.sampled = parent->sampled;
  } else {
    fill_random(c.trace_id);
    // The low 53 bits of a random draw against the ratio: exact at 0 and 1.
    const double u = static_cast<double>(thread_rng().next_u64() >> 11) / 9007199254740992.0;
    c.sampled = u < options_.sample_ratio;
  }
  fill_random(c.span_id);
  return c;
}

void Tracer::record(SpanRecord span) {
  if (!span.context.sampled || !span.context.valid()) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queue) {
      dropped_.fetch_add(1);
      return;
    }
    queue_.push_back(std::move(span));
    ++enqueued_;
    if (queue_.size() < options_.max_batch) return;
  }
  wake_.notify_one();
}

void Tracer::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = enqueued_;
  wake_.notify_one();
  idle_.wait(lock, [&] { return processed_ >= target || stopping_; });
}

void Tracer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    // Woken by a full batch, flush() or stopping; else the interval's end exports what is there.
    wake_.wait_for(lock, options_.flush_interval, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    const std::size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<SpanRecord> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    const bool ok = exporter_ && exporter_->export_batch(batch);
    (ok ? exported_ : dropped_).fetch_add(n);
    lock.lock();
    processed_ += n;
    if (!ok && stopping_) {
      // Stopping and the collector does not answer: what is left is dropped, so that shutdown
      // does not wait one export timeout per batch.
      dropped_.fetch_add(queue_.size());
      processed_ += queue_.size();
      queue_.clear();
    }
    idle_.notify_all();
  }
  idle_.notify_all();
}

}  // namespace parley
