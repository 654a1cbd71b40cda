// Token buckets with a fake clock: burst, refill, exact Retry-After, reserve/settle, bounded
// memory, and concurrency that never over-grants.
#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace parley::auth {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

// A clock that moves only when told to; safe to read from many threads.
class FakeClock {
 public:
  TimePoint now() const { return TimePoint(std::chrono::nanoseconds(ns_.load())); }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }
  LocalRateLimiter::Clock fn() {
    return [this] { return now(); };
  }

 private:
  std::atomic<std::int64_t> ns_{1'000'000'000'000};  // arbitrary, far from 0
};

TEST(RateLimiter, BurstThenRefusedWithExactRetryAfter) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec rpm = TokenBucketSpec::per_minute(60);  // 1 token per second, burst 60
  for (int i = 0; i < 60; ++i) {
    const RateDecision d = rl.try_acquire("user:1:rpm", 1, rpm);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 59 - i);
    EXPECT_EQ(d.retry_after_seconds, 0);
  }
  RateDecision d = rl.try_acquire("user:1:rpm", 1, rpm);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(d.exceeds_capacity);
  EXPECT_EQ(d.retry_after_seconds, 1);
  EXPECT_EQ(d.remaining, 0);
  // A cost of 5 needs 5 more seconds of refill.
  EXPECT_EQ(rl.try_acquire("user:1:rpm", 5, rpm).retry_after_seconds, 5);
  // Refused calls take nothing: after exactly 1 s one token is back.
  clock.advance(999'999'999ns);
  EXPECT_FALSE(rl.try_acquire("user:1:rpm", 1, rpm).allowed);
  clock.advance(1ns);
  EXPECT_TRUE(rl.try_acquire("user:1:rpm", 1, rpm).allowed);
  EXPECT_FALSE(rl.try_acquire("user:1:rpm", 1, rpm).allowed);
  // Other keys are independent.
  EXPECT_TRUE(rl.try_acquire("user:2:rpm", 60, rpm).allowed);
}

TEST(RateLimiter, RetryAfterRoundsPartialSecondsUp) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec spec{10, 1, 3s};  // one token every 3 s
  ASSERT_TRUE(rl.try_acquire("k", 10, spec).allowed);
  EXPECT_EQ(rl.try_acquire("k", 1, spec).retry_after_seconds, 3);
  clock.advance(100ms);
  EXPECT_EQ(rl.try_acquire("k", 1, spec).retry_after_seconds, 3);  // 2.9 s -> 3
  clock.advance(1s);
  EXPECT_EQ(rl.try_acquire("k", 1, spec).retry_after_seconds, 2);  // 1.9 s -> 2
  clock.advance(1899ms);
  EXPECT_EQ(rl.try_acquire("k", 1, spec).retry_after_seconds, 1);  // 1 ms -> 1, never 0
  clock.advance(1ms);
  EXPECT_TRUE(rl.try_acquire("k", 1, spec).allowed);
  EXPECT_EQ(rl.try_acquire("k", 2, spec).retry_after_seconds, 6);
}

TEST(RateLimiter, SteadyStateRate) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec tpm = TokenBucketSpec::per_minute(6000);  // 100 tokens per second
  ASSERT_TRUE(rl.try_acquire("t", 6000, tpm).allowed);            // drain the burst
  // Polling every 10 ms for 10 s with cost 1 yields exactly 100 per second: 1 per poll.
  int granted = 0;
  for (int i = 0; i < 1000; ++i) {
    clock.advance(10ms);
    granted += rl.try_acquire("t", 1, tpm).allowed ? 1 : 0;
    EXPECT_FALSE(rl.try_acquire("t", 1, tpm).allowed);
  }
  EXPECT_EQ(granted, 1000);
  // After a long idle period the bucket is full again, never fuller.
  clock.advance(1h);
  EXPECT_TRUE(rl.try_acquire("t", 6000, tpm).allowed);
  EXPECT_FALSE(rl.try_acquire("t", 1, tpm).allowed);
}

TEST(RateLimiter, NonIntegralRates) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec spec = TokenBucketSpec::per_minute(7);  // one every 8.571428... s
  ASSERT_TRUE(rl.try_acquire("k", 7, spec).allowed);
  EXPECT_EQ(rl.try_acquire("k", 1, spec).retry_after_seconds, 9);
  clock.advance(8571428571ns);
  EXPECT_FALSE(rl.try_acquire("k", 1, spec).allowed);  // the interval rounds up to ...572 ns
  clock.advance(1ns);
  EXPECT_TRUE(rl.try_acquire("k", 1, spec).allowed);
  // Over a long time the rate is the configured one, to within the rounding of 1 ns per token:
  // the 70th token of the next 600 s is due 40 ns after them, so it arrives in the 6001st step.
  int granted = 0;
  for (int i = 0; i < 6000; ++i) {
    clock.advance(100ms);
    granted += rl.try_acquire("k", 1, spec).allowed ? 1 : 0;
  }
  EXPECT_EQ(granted, 69);
  clock.advance(100ms);
  EXPECT_TRUE(rl.try_acquire("k", 1, spec).allowed);
}

TEST(RateLimiter, CostAboveCapacityCanNeverPass) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec spec = TokenBucketSpec::per_minute(100);
  const RateDecision d = rl.try_acquire("k", 101, spec);
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.exceeds_capacity);
  EXPECT_EQ(d.retry_after_seconds, 0);
  EXPECT_EQ(d.remaining, 100);  // and nothing was taken
  EXPECT_TRUE(rl.try_acquire("k", 100, spec).allowed);
  EXPECT_EQ(rl.size(), 1u);
}

TEST(RateLimiter, ZeroCostAlwaysPassesAndStoresNothing) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const RateDecision d = rl.try_acquire("k", 0, TokenBucketSpec::per_minute(5));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 5);
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiter, ReserveThenSettle) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec tpm = TokenBucketSpec::per_minute(1000);
  // Reserve prompt + max_tokens = 600; the request used 150: 450 come back.
  ASSERT_TRUE(rl.try_acquire("u", 600, tpm).allowed);
  rl.settle("u", 600, 150, tpm);
  EXPECT_TRUE(rl.try_acquire("u", 850, tpm).allowed);
  EXPECT_FALSE(rl.try_acquire("u", 1, tpm).allowed);
  // Refunds never overfill: a full bucket stays at capacity.
  clock.advance(1h);
  rl.settle("u", 500, 0, tpm);
  EXPECT_FALSE(rl.try_acquire("u", 1001, tpm).allowed);
  EXPECT_TRUE(rl.try_acquire("u", 1000, tpm).allowed);
  EXPECT_FALSE(rl.try_acquire("u", 1, tpm).allowed);
}

TEST(RateLimiter, OverrunGoesIntoBoundedDebt) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec tpm = TokenBucketSpec::per_minute(600);  // 10 per second
  ASSERT_TRUE(rl.try_acquire("u", 100, tpm).allowed);
  rl.settle("u", 100, 800, tpm);  // used 700 more than reserved: 200 in debt
  RateDecision d = rl.try_acquire("u", 1, tpm);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 21);  // 201 tokens at 10/s
  EXPECT_EQ(d.remaining, 0);
  // A huge overrun is capped at one capacity of debt (60 s here), so the key is not locked out for long.
  rl.settle("u", 0, 1'000'000, tpm);
  EXPECT_EQ(rl.try_acquire("u", 1, tpm).retry_after_seconds, 61);
  clock.advance(60s);
  EXPECT_FALSE(rl.try_acquire("u", 1, tpm).allowed);
  clock.advance(100ms);
  EXPECT_TRUE(rl.try_acquire("u", 1, tpm).allowed);
  // A charge on a key never seen starts from a full bucket.
  rl.adjust("fresh", -600, tpm);
  EXPECT_EQ(rl.try_acquire("fresh", 1, tpm).retry_after_seconds, 1);
}

TEST(RateLimiter, IdleFullBucketsAreEvicted) {
  FakeClock clock;
  LocalRateLimiter rl({.n_shards = 1, .n_keys_max = 100'000}, clock.fn());
  const TokenBucketSpec rpm = TokenBucketSpec::per_minute(10);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.try_acquire("k" + std::to_string(i), 1, rpm).allowed);
  EXPECT_EQ(rl.size(), 1000u);
  clock.advance(6s);  // one token's refill: every bucket is full again
  // New keys trigger amortized sweeps; the old, full buckets go.
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(rl.try_acquire("n" + std::to_string(i), 1, rpm).allowed);
  EXPECT_EQ(rl.size(), 2000u);
  // A refund that fills a bucket removes it.
  LocalRateLimiter one({}, clock.fn());
  ASSERT_TRUE(one.try_acquire("x", 3, rpm).allowed);
  EXPECT_EQ(one.size(), 1u);
  one.adjust("x", 3, rpm);
  EXPECT_EQ(one.size(), 0u);
}

TEST(RateLimiter, KeyCapEvictsTheBucketClosestToFull) {
  FakeClock clock;
  LocalRateLimiter rl({.n_shards = 1, .n_keys_max = 3}, clock.fn());
  const TokenBucketSpec spec = TokenBucketSpec::per_minute(60);
  ASSERT_TRUE(rl.try_acquire("a", 50, spec).allowed);  // full again in 50 s
  ASSERT_TRUE(rl.try_acquire("b", 10, spec).allowed);  // in 10 s: the one to go
  ASSERT_TRUE(rl.try_acquire("c", 30, spec).allowed);
  ASSERT_TRUE(rl.try_acquire("d", 1, spec).allowed);
  EXPECT_EQ(rl.size(), 3u);
  EXPECT_EQ(rl.try_acquire("a", 11, spec).retry_after_seconds, 1);  // a and c kept their state
  EXPECT_EQ(rl.try_acquire("c", 31, spec).retry_after_seconds, 1);
  EXPECT_TRUE(rl.try_acquire("b", 60, spec).allowed);  // b was forgotten (full)
  EXPECT_EQ(rl.size(), 3u);
}

TEST(RateLimiter, SizeStaysBoundedUnderManyKeys) {
  FakeClock clock;
  LocalRateLimiter rl({.n_shards = 4, .n_keys_max = 400}, clock.fn());
  const TokenBucketSpec spec = TokenBucketSpec::per_minute(10);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(rl.try_acquire("ip:" + std::to_string(i), 1, spec).allowed);
    ASSERT_LE(rl.size(), 400u);
  }
}

TEST(RateLimiter, ConcurrentAcquiresNeverOverGrant) {
  FakeClock clock;  // frozen: no refill during the test
  LocalRateLimiter rl({.n_shards = 4, .n_keys_max = 1000}, clock.fn());
  const TokenBucketSpec spec = TokenBucketSpec::per_minute(1000);
  constexpr int kThreads = 8;
  constexpr int kAttempts = 1000;
  std::atomic<int> granted_shared{0};
  std::atomic<int> granted_own[kThreads] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttempts; ++i) {
        if (rl.try_acquire("shared", 1, spec).allowed) ++granted_shared;
        // A cost of 3 on a per-thread key as well, interleaved.
        if (rl.try_acquire("own:" + std::to_string(t), 3, spec).allowed) ++granted_own[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted_shared.load(), 1000);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(granted_own[t].load(), 333) << t;
}

TEST(RateLimiter, ConcurrentWithAdvancingClockGrantsExactlyTheRefill) {
  FakeClock clock;
  LocalRateLimiter rl({}, clock.fn());
  const TokenBucketSpec spec = TokenBucketSpec::per_second(10, 100);  // burst 10, 100 per second
  std::atomic<int> granted{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        if (rl.try_acquire("k", 1, spec).allowed) ++granted;
      }
    });
  }
  // 2 s of fake time in 1 ms steps (0.1 token each). Before each step the threads must have drained
  // every whole token (a full bucket would discard refill), so the total is exact however they
  // interleave.
  auto drained = [&] { return rl.try_acquire("k", 0, spec).remaining == 0; };
  for (int step = 0; step < 2000; ++step) {
    while (!drained()) std::this_thread::yield();
    clock.advance(1ms);
  }
  while (!drained()) std::this_thread::yield();
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), 10 + 200);
}

TEST(RateLimiter, RateLimitedError) {
  RateDecision refused;
  refused.retry_after_seconds = 7;
  const Status st = rate_limited_error(refused, "requests per minute");
  EXPECT_EQ(st.code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(st.detail("retry_after"), "7");
  EXPECT_EQ(st.detail("code"), "rate_limit_exceeded");
  EXPECT_NE(st.message().find("requests per minute"), std::string_view::npos);
  RateDecision too_big;
  too_big.exceeds_capacity = true;
  const Status big = rate_limited_error(too_big, "tokens per minute");
  EXPECT_EQ(big.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(big.detail("retry_after"), "");
  EXPECT_EQ(big.detail("code"), "request_too_large");
  RateDecision ok;
  ok.allowed = true;
  EXPECT_TRUE(rate_limited_error(ok, "x").ok());
}

TEST(RateLimiter, SpecValidation) {
  EXPECT_TRUE(TokenBucketSpec::per_minute(1).validate().ok());
  EXPECT_FALSE((TokenBucketSpec{0, 1, 1s}).validate().ok());
  EXPECT_FALSE((TokenBucketSpec{1, 0, 1s}).validate().ok());
  EXPECT_FALSE((TokenBucketSpec{1, 1, 0s}).validate().ok());
}

TEST(RateLimiter, RealClockByDefault) {
  LocalRateLimiter rl;
  EXPECT_TRUE(rl.try_acquire("k", 1, TokenBucketSpec::per_minute(1)).allowed);
  EXPECT_FALSE(rl.try_acquire("k", 1, TokenBucketSpec::per_minute(1)).allowed);
}

}  // namespace
}  // namespace parley::auth
