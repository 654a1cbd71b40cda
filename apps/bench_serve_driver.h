// What `parley bench serve` scenarios share: a RequestSink that timestamps every token of every
// request, and the statistics of the figures they print.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/local_engine.h"
#include "engine/request.h"

namespace parley::cli {

struct ServeBenchArgs {
  std::string model;
  std::string scenario = "steady";  // steady | flood
  int concurrency = 8;              // flood: tenant A's requests, sent at once
  int requests = 32;
  int prompt_tokens = 113;  // flood: tokens of each of A's prompts
  int gen_tokens = 32;      // flood: tokens A's requests generate
  int shared_prefix = 0;
  int cache_scopes = 1;        // requests spread over this many prefix-cache scopes
  bool public_prefix = false;  // the shared prefix is declared public (cache_shared_tokens)
  int threads = 0;
  std::string kv_type = "f16";  // f16 | q8_0
  std::int64_t batch_tokens = 512;
  double target_itl_ms = -1;  // < 0: the backend's default; 0: no latency target
  int max_prefill_per_tenant = 2;
  // Flood: tenant B's chats, one after another.
  int chat_prompt = 40;
  int chat_gen = 8;
  int chat_pause_ms = 0;     // between one chat's end and the next
  int chat_delay_ms = 1000;  // B's first chat, after A's flood
  int chats_alone = 10;      // B's chats with nothing else running
  bool json = false;
};

// The scheduler settings of the command line for an engine on `backend`.
inline void apply_scheduler_args(const ServeBenchArgs& a, std::string_view backend, SchedulerConfig* s) {
  s->max_batch_tokens = a.batch_tokens;
  s->max_prefill_per_tenant = a.max_prefill_per_tenant;
  const double ms = a.target_itl_ms < 0 ? default_target_itl_ms(backend) : a.target_itl_ms;
  s->target_step_s = ms / 1000;
}

using BenchClock = std::chrono::steady_clock;

// Per-request timestamps, written by the engine thread, read after the run.
struct Trace {
  BenchClock::time_point submitted;
  std::vector<BenchClock::time_point> token_times;
  FinishEvent finish;
  bool done = false;
};

class Driver final : public RequestSink {
 public:
  void on_event(RequestId id, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    // The engine thread may deliver events before submit() has returned the id to expect():
    // whichever comes first creates the trace.
    Trace& t = traces_[id];
    if (auto* e = std::get_if<TokenEvent>(&event)) {
      for (std::size_t i = 0; i < e->tokens.size(); ++i) t.token_times.push_back(BenchClock::now());
    } else {
      t.finish = std::get<FinishEvent>(event);
      t.done = true;
      ++finished_;
      cv_.notify_all();
    }
  }
  void expect(RequestId id, BenchClock::time_point submitted) {
    std::lock_guard<std::mutex> lock(mutex_);
    traces_[id].submitted = submitted;
  }
  // Blocks until at least `n` requests have finished.
  void wait_finished(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return finished_ >= n; });
  }
  // Blocks until request `id` has finished.
  void wait_done(RequestId id) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return traces_[id].done; });
  }
  bool all_done(const std::vector<RequestId>& ids) {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::all_of(ids.begin(), ids.end(), [&](RequestId id) { return traces_[id].done; });
  }
  std::map<RequestId, Trace> traces() {
    std::lock_guard<std::mutex> lock(mutex_);
    return traces_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<RequestId, Trace> traces_;
  int finished_ = 0;
};

// `--scenario flood` (bench_serve_flood.cpp).
int run_bench_flood(const ServeBenchArgs& a);

// The step cost model's coefficients, for the record: ms per step, per prompt token, per decode
// token, per 10^4 attention pairs.
inline boost::json::array cost_json(const EngineStats& s) {
  boost::json::array a;
  for (const double c : s.step_cost_coefficients) a.emplace_back(1000 * c);
  return a;
}
inline std::string cost_text(const EngineStats& s) {
  const auto& c = s.step_cost_coefficients;
  return fmt::format("{:.1f} ms a step + {:.2f} ms a prompt token + {:.2f} ms a decode + {:.3f} ms per 10^4 attention pairs",
                     1000 * c[0], 1000 * c[1], 1000 * c[2], 1000 * c[3]);
}

inline double seconds_between(BenchClock::time_point a, BenchClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double rank = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

inline double mean(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  double s = 0;
  for (const double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace parley::cli
