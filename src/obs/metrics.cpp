#include "obs/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace parley {
namespace {

void atomic_add(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Prometheus floats: integers without a fraction, +Inf/-Inf/NaN spelled out.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  return out.empty() ? out : out + "}";
}

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += fmt::format("# HELP {} ", name);
  for (const char c : help) out += c == '\n' ? std::string("\\n") : c == '\\' ? std::string("\\\\") : std::string(1, c);
  out += fmt::format("\n# TYPE {} {}\n", name, type);
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Counter::inc(double v) {
  if (v < 0) return;  // counters only go up
  atomic_add(value_, v);
}

void Gauge::inc(double v) { atomic_add(value_, v); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  CHECK(std::is_sorted(bounds_.begin(), bounds_.end()), "histogram bounds must ascend");
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v: "le"
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) out[i] = total += buckets_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120};
}

std::vector<double> token_count_buckets() {
  std::vector<double> b;
  for (double v = 1; v <= 131072; v *= 2) b.push_back(v);
  return b;
}

void MetricsRegistry::check_new(const std::string& name, const std::vector<std::string>& labels) {
  CHECK(valid_name(name), "invalid metric name '{}'", name);
  for (const auto& l : labels) CHECK(valid_name(l) && l != "le", "invalid label name '{}'", l);
  CHECK(std::find(names_.begin(), names_.end(), name) == names_.end(), "metric '{}' registered twice", name);
  names_.push_back(name);
}

Family<Counter>& MetricsRegistry::counter(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  check_new(name, labels);
  counters_.push_back(std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels),
                                                        [] { return std::make_unique<Counter>(); }));
  return *counters_.back();
}

Family<Gauge>& MetricsRegistry::gauge(std::string name, std::string help, std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  check_new(name, labels);
  gauges_.push_back(std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(labels),
                                                    [] { return std::make_unique<Gauge>(); }));
  return *gauges_.back();
}

Family<Histogram>& MetricsRegistry::histogram(std::string name, std::string help, std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mutex_);
  check_new(name, labels);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(labels), [bounds] { return std::make_unique<Histogram>(bounds); }));
  return *histograms_.back();
}

void MetricsRegistry::on_collect(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.push_back(std::move(fn));
}

std::string MetricsRegistry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& f : counters_) {
    header(out, f->name(), f->help(), "counter");
    f->for_each([&](const std::vector<std::string>& values, const Counter& m) {
      out += f->name() + label_set(f->labels(), values) + " " + number(m.value()) + "\n";
    });
  }
  for (const auto& f : gauges_) {
    header(out, f->name(), f->help(), "gauge");
    f->for_each([&](const std::vector<std::string>& values, const Gauge& m) {
      out += f->name() + label_set(f->labels(), values) + " " + number(m.value()) + "\n";
    });
  }
  for (const auto& f : histograms_) {
    header(out, f->name(), f->help(), "histogram");
    f->for_each([&](const std::vector<std::string>& values, const Histogram& h) {
      const auto counts = h.cumulative_counts();
      for (std::size_t i = 0; i < h.bounds().size(); ++i) {
        out += f->name() + "_bucket" + label_set(f->labels(), values, "le", number(h.bounds()[i])) + " " +
               std::to_string(counts[i]) + "\n";
      }
      out += f->name() + "_bucket" + label_set(f->labels(), values, "le", "+Inf") + " " + std::to_string(counts.back()) + "\n";
      out += f->name() + "_sum" + label_set(f->labels(), values) + " " + number(h.sum()) + "\n";
      out += f->name() + "_count" + label_set(f->labels(), values) + " " + std::to_string(h.count()) + "\n";
    });
  }
  return out;
}

}  // namespace parley
