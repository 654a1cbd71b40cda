// What one rate-limit decision costs: the in-process limiter against the Redis limiter (one Lua
// script round trip to a redis-server on loopback, started here like the tests start one), on
// one thread and on several. Skips the Redis cases when redis-server is not installed.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "auth/rate_limiter.h"
#include "auth/redis_rate_limiter.h"
#include "auth/redis_test_server.h"

namespace {

using parley::auth::LocalRateLimiter;
using parley::auth::RateLimiter;
using parley::auth::RedisRateLimiter;
using parley::auth::TokenBucketSpec;

// Never refuses within a run: the cost is the decision, not the refusal path.
const TokenBucketSpec kSpec{1'000'000'000, 1'000'000'000, std::chrono::seconds(1)};

struct RedisFixture {
  parley::testing::RedisTestServer server;
  std::unique_ptr<RedisRateLimiter> limiter;
  RedisFixture() {
    if (!server.available() || !server.start()) return;
    parley::auth::RedisRateLimiterOptions o;
    o.client.endpoint.port = server.port();
    o.client.command_timeout = std::chrono::milliseconds(1000);
    limiter = std::make_unique<RedisRateLimiter>(std::move(o));
  }
};

RedisFixture& redis() {
  static RedisFixture f;
  return f;
}

void run(benchmark::State& state, RateLimiter& rl) {
  const std::string key = "user:" + std::to_string(state.thread_index() % 64) + ":rpm";
  for (auto _ : state) benchmark::DoNotOptimize(rl.try_acquire(key, 1, kSpec));
  state.SetItemsProcessed(state.iterations());
}

void BM_LocalAcquire(benchmark::State& state) {
  static LocalRateLimiter local;
  run(state, local);
}
BENCHMARK(BM_LocalAcquire)->Threads(1)->Threads(4)->UseRealTime();

void BM_RedisAcquire(benchmark::State& state) {
  RedisFixture& f = redis();
  if (!f.limiter) {
    state.SkipWithError("redis-server is not installed");
    return;
  }
  run(state, *f.limiter);
  if (f.limiter->fallback_decisions() != 0) state.SkipWithError("Redis failed during the run");
}
BENCHMARK(BM_RedisAcquire)->Threads(1)->Threads(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
