// Metrics: counters, gauges and histograms with labels, rendered in the Prometheus text format
// (version 0.0.4) for GET /metrics. Names are prefixed `parley_` by convention and carry their
// unit (`_seconds`, `_tokens`, `_total`).
//
// Thread safety: everything may be used from any thread. Looking a series up by label values
// takes a mutex; keep the returned reference (it lives as long as the registry) on hot paths.
// Updates are lock-free atomics.
#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

class Counter {
 public:
  void inc(double v = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0);
  void dec(double v = 1.0) { inc(-v); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds`: ascending upper bounds; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then the +Inf count; sum.
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative; last is +Inf
  std::atomic<double> sum_{0.0};
  std::atomic<std::uint64_t> count_{0};
};

// Standard bucket layouts.
std::vector<double> latency_buckets_seconds();   // 1 ms .. 120 s
std::vector<double> token_count_buckets();       // 1 .. 131072, powers of 2

template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels, std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), make_(std::move(make)) {}

  // The series with these label values (in the family's label order), created on first use.
  Metric& with(const std::vector<std::string>& values) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = series_[values];
    if (!slot) slot = make_();
    return *slot;
  }
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Calls fn(label values, metric) for every series, in label order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [values, m] : series_) fn(values, *m);
  }

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;
};

class MetricsRegistry {
 public:
  // Each name may be registered once (CHECKed: names are fixed in code).
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> labels,
                               std::vector<double> bounds);
  // Runs before every render, e.g. to copy engine statistics into gauges.
  void on_collect(std::function<void()> fn);

  // The Prometheus text exposition of every family.
  std::string render() const;

 private:
  void check_new(const std::string& name, const std::vector<std::string>& labels);
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::function<void()>> collectors_;
  std::vector<std::string> names_;
};

// Prometheus label-value escaping (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);

}  // namespace parley
