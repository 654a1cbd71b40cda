// RedisRateLimiter: the RateLimiter whose buckets live in Redis, shared by every gateway that
// uses the same Redis database, so that a limit holds across all of them.
//
// Each call is one Lua script run atomically by Redis (the same GCRA formulation as
// LocalRateLimiter: one "theoretical arrival time" per bucket), with the time taken from the
// Redis server (`TIME`), so the gateways' clocks do not matter. A bucket's key expires when the
// bucket is full again (plus a second), so Redis holds only buckets in use. Keys are
// "<prefix>" + the first 32 hex digits of SHA-256(bucket name): bucket names hold user ids,
// e-mail addresses and client addresses, which Redis need not see in clear.
//
// Semantics equal LocalRateLimiter's (refused calls take nothing, refunds never beyond capacity,
// debt of at most one capacity) at a resolution of about a microsecond: Redis's Lua computes in
// doubles, so time stamps are microseconds and comparisons allow 0.5 us of rounding.
//
// When Redis cannot be reached (RedisClient is down or a call fails) a decision is made by the
// local limiter instead, and counted (fallback_decisions()). The Redis buckets are untouched
// meanwhile; when Redis returns, decisions are shared and exact again. A reservation taken on one
// side and settled on the other is settled where the settle call lands (a refund to a full
// bucket is a no-op), so a few tokens may be off around a transition.
//
// Thread-safe: any thread may call anything.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "auth/rate_limiter.h"
#include "auth/redis_client.h"

namespace parley::auth {

struct RedisRateLimiterOptions {
  RedisClientOptions client;
  std::string key_prefix = "parley:rl:";
};

class RedisRateLimiter final : public RateLimiter {
 public:
  // `fallback`: the limiter used while Redis is unreachable (default: a LocalRateLimiter).
  explicit RedisRateLimiter(RedisRateLimiterOptions options, std::unique_ptr<RateLimiter> fallback = nullptr);
  ~RedisRateLimiter() override;

  RateDecision try_acquire(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec) override;
  void adjust(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec) override;

  // Whether the last call reached Redis (parley_redis_up).
  bool redis_up() const { return client_.up(); }
  // Calls decided by the local limiter because Redis was unreachable.
  std::uint64_t fallback_decisions() const { return fallback_decisions_.load(std::memory_order_relaxed); }
  const RedisEndpoint& endpoint() const { return client_.endpoint(); }

  // The Redis key of a bucket name.
  std::string redis_key(std::string_view key) const;

  // The Lua script (for tests and docs).
  static std::string_view script();

 private:
  Result<std::vector<std::int64_t>> run(std::string_view op, std::string_view key, std::int64_t amount,
                                        const TokenBucketSpec& spec);

  RedisRateLimiterOptions options_;
  RedisClient client_;
  std::unique_ptr<RateLimiter> fallback_;
  std::string sha1_;
  std::atomic<std::uint64_t> fallback_decisions_{0};
};

}  // namespace parley::auth
