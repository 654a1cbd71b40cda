#include "gateway/shared_state_metrics.h"

#include <algorithm>
#include <memory>
#include <mutex>

namespace parley {

namespace {

// Counters only go up: each collect adds what the source counted since the last one. Renders
// may run at once on two threads, hence the mutex.
class CounterMirror {
 public:
  explicit CounterMirror(Counter& counter) : counter_(counter) {}
  void update(std::uint64_t now) {
    std::lock_guard lock(mu_);
    if (now > seen_) counter_.inc(static_cast<double>(now - seen_));
    seen_ = std::max(seen_, now);
  }

 private:
  Counter& counter_;
  std::mutex mu_;
  std::uint64_t seen_ = 0;
};

void watch_redis(MetricsRegistry& r, const auth::RedisRateLimiter& limiter) {
  Gauge& up =
      r.gauge("parley_redis_up", "1 while Redis answers the rate limiter; 0 while this gateway decides limits alone")
          .with({});
  auto fallbacks = std::make_shared<CounterMirror>(
      r.counter("parley_ratelimit_fallback_decisions_total",
                "Rate-limit calls decided by the local limiter because Redis was unreachable")
          .with({}));
  r.on_collect([&limiter, &up, fallbacks] {
    up.set(limiter.redis_up() ? 1.0 : 0.0);
    fallbacks->update(limiter.fallback_decisions());
  });
}

void watch_replicas(MetricsRegistry& r, store::Store& store) {
  auto& reads = r.counter("parley_store_replica_reads_total",
                          "Conversation reads by where they ran: replica, or primary (read-your-writes, lag, "
                          "no usable replica, fallback)",
                          {"target"});
  auto replica_reads = std::make_shared<CounterMirror>(reads.with({"replica"}));
  auto primary_reads = std::make_shared<CounterMirror>(reads.with({"primary"}));
  auto fallbacks = std::make_shared<CounterMirror>(
      r.counter("parley_store_replica_fallbacks_total", "Replica reads that failed and ran again on the primary")
          .with({}));
  Gauge& usable = r.gauge("parley_store_replicas_usable", "Read replicas up and within the lag bound").with({});
  Gauge& lag = r.gauge("parley_store_replica_lag_seconds", "The largest read-replica lag at the last checks").with({});
  r.on_collect([&store, replica_reads, primary_reads, fallbacks, &usable, &lag] {
    const store::ReplicaStats s = store.replica_stats();
    replica_reads->update(s.reads_replica);
    primary_reads->update(s.reads_primary);
    fallbacks->update(s.fallbacks);
    usable.set(s.usable);
    lag.set(s.lag_seconds_max);
  });
}

}  // namespace

void watch_shared_state(MetricsRegistry& registry, Accounts& accounts) {
  if (const auth::RedisRateLimiter* redis = accounts.redis_limiter(); redis != nullptr) watch_redis(registry, *redis);
  if (accounts.store().replica_stats().configured > 0) watch_replicas(registry, accounts.store());
}

}  // namespace parley
