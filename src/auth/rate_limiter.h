// Rate limits: token buckets keyed by string ("user:42:rpm", "key:17:tpm", "ip:1.2.3.4:login").
//
// A bucket holds up to `capacity` tokens (the burst) and refills `refill_tokens` per
// `refill_period`, continuously. A request of cost k passes when the bucket holds k tokens, and
// takes them; a refused request takes nothing and learns how many whole seconds (rounded up, at
// least 1) until it would pass, for a Retry-After header. Requests/minute is cost 1 per request;
// tokens/minute charges tokens.
//
// Costs not known in advance (completion tokens): reserve an upper bound with try_acquire (prompt
// tokens + max_tokens), and when the request ends call settle(key, reserved, actual): the unused
// part goes back into the bucket, an overrun is charged on top. A charge may take a bucket into
// debt (at most one capacity), which later requests wait out; a refund never fills it beyond
// capacity.
//
// RateLimiter is the interface the gateway uses. LocalRateLimiter keeps buckets in this process:
// right for `parley serve` and for one gateway. With several gateway replicas each would grant
// the full rate; a Redis-backed implementation of the same interface (one atomic Lua script per
// call, time from the Redis server) will share buckets between them. It is not written yet; the
// interface takes no time argument so that such an implementation can use its own clock.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace parley::auth {

struct TokenBucketSpec {
  std::int64_t capacity = 1;                                         // tokens when full: the largest burst, >= 1
  std::int64_t refill_tokens = 1;                                    // tokens added per refill_period, >= 1
  std::chrono::nanoseconds refill_period = std::chrono::seconds(1);  // > 0

  // `n` per minute with a burst of `n`: the usual "requests per minute" / "tokens per minute".
  static TokenBucketSpec per_minute(std::int64_t n) { return {n, n, std::chrono::minutes(1)}; }
  static TokenBucketSpec per_second(std::int64_t capacity, std::int64_t rate) {
    return {capacity, rate, std::chrono::seconds(1)};
  }

  // kInvalidArgument unless capacity >= 1, refill_tokens >= 1 and refill_period > 0.
  Status validate() const;
};

struct RateDecision {
  bool allowed = false;
  // Refused: whole seconds until the same request would pass (rounded up, >= 1). 0 when allowed.
  std::int64_t retry_after_seconds = 0;
  // Refused because the cost exceeds the capacity: no wait helps. retry_after_seconds is 0 then.
  bool exceeds_capacity = false;
  // Whole tokens left after this call (for X-RateLimit-Remaining style headers); 0 in debt.
  std::int64_t remaining = 0;
};

// The 429 for a refused decision: kResourceExhausted with details "retry_after" (what
// gateway/http_errors.cpp turns into Retry-After) and code "rate_limit_exceeded". For a decision
// that exceeds the capacity, kInvalidArgument (400, code "request_too_large"): retrying cannot help.
// `what` names the limit in the message, e.g. "requests per minute".
Status rate_limited_error(const RateDecision& decision, std::string_view what);

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;

  // Takes `cost` (>= 0) tokens from the bucket `key`, created full on first use, if it holds
  // them. `spec` is passed on every call (it comes from the resolved limits, which can change);
  // an invalid spec is a programming error (validate limits when they are loaded).
  virtual RateDecision try_acquire(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec) = 0;

  // Puts `delta` tokens back (delta > 0, never beyond capacity) or takes -delta more
  // (delta < 0, into debt of at most one capacity).
  virtual void adjust(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec) = 0;

  // After a request that reserved `reserved` tokens actually used `actual`.
  void settle(std::string_view key, std::int64_t reserved, std::int64_t actual, const TokenBucketSpec& spec) {
    if (reserved != actual) adjust(key, reserved - actual, spec);
  }
};

struct LocalRateLimiterOptions {
  std::size_t n_shards = 16;         // independent mutexes; keys are spread over them by a keyed hash
  std::size_t n_keys_max = 100'000;  // bound on buckets held (~100 bytes each)
};

// In-process buckets. Thread-safe: any thread may call any method; calls on keys of different
// shards do not contend.
//
// Memory is bounded: a bucket that has refilled to capacity is indistinguishable from one never
// created, so such buckets are dropped as the table grows (amortized, no background thread). If
// the table is still at n_keys_max, the bucket closest to full is dropped, which is the one whose
// loss forgives the least; that only happens when more than n_keys_max keys are active within one
// refill period.
//
// Internally each bucket is one time stamp, the instant it will be full again (the "theoretical
// arrival time" of the GCRA formulation of a token bucket), in whole nanoseconds; the emission
// interval refill_period / refill_tokens is rounded up to a whole nanosecond, so the effective
// rate is at most 1e9 tokens per second and never above the configured one.
class LocalRateLimiter final : public RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` (default: steady_clock::now) must be thread-safe; tests pass a fake one.
  explicit LocalRateLimiter(LocalRateLimiterOptions options = {}, Clock clock = {});
  ~LocalRateLimiter() override;

  RateDecision try_acquire(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec) override;
  void adjust(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec) override;

  // The same at an explicit instant (the clock is not read).
  RateDecision try_acquire_at(std::string_view key, std::int64_t cost, const TokenBucketSpec& spec,
                              std::chrono::steady_clock::time_point now);
  void adjust_at(std::string_view key, std::int64_t delta, const TokenBucketSpec& spec,
                 std::chrono::steady_clock::time_point now);

  // Buckets currently held (for tests and a gauge).
  std::size_t size() const;

 private:
  struct Shard;
  Shard& shard_for(std::string_view key);

  LocalRateLimiterOptions options_;
  Clock clock_;
  // Random SipHash key for shard choice and the tables: keys that reach the limiter can be
  // partly chosen by clients (an IP address, a user id), and must not be made to collide.
  std::array<unsigned char, 16> hash_key_{};
  std::size_t n_keys_max_per_shard_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace parley::auth
