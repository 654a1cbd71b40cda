// The Redis rate limiter against a real redis-server started by each test: two limiters (two
// "gateways") share one limit exactly; the script's edge cases (cost above capacity, zero cost,
// reservations settled, refunds capped at capacity, bounded debt, key expiry, hashed keys); Redis
// stopped -> the local limiter decides (counted), started again -> shared again. Skipped when
// redis-server is not installed. Rates are per hour, so refill during a test is negligible.
#include "auth/redis_rate_limiter.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "auth/redis_test_server.h"

namespace parley::auth {
namespace {

using namespace std::chrono_literals;

// `n` per hour with a burst of `n`: 720 s per token for n = 5.
TokenBucketSpec per_hour(std::int64_t n) {
  return {n, n, std::chrono::hours(1)};
}

class RedisLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_.available()) GTEST_SKIP() << "redis-server is not installed (scripts/setup installs it)";
    ASSERT_TRUE(server_.start()) << "redis-server did not start";
  }

  std::unique_ptr<RedisRateLimiter> make_limiter() {
    RedisRateLimiterOptions o;
    Result<RedisEndpoint> e = parse_redis_url(server_.url());
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    o.client.endpoint = *e;
    o.client.connect_timeout = 500ms;
    o.client.command_timeout = 1000ms;
    o.client.backoff_min = 10ms;
    o.client.backoff_max = 50ms;
    return std::make_unique<RedisRateLimiter>(std::move(o));
  }

  // A direct connection for looking at what the limiter stored.
  long long redis_int(const std::string& command, const std::string& key) {
    redisContext* c = redisConnect("127.0.0.1", server_.port());
    if (c == nullptr || c->err != 0) {
      if (c != nullptr) redisFree(c);
      return -100;
    }
    auto* r = static_cast<redisReply*>(redisCommand(c, "%s %b", command.c_str(), key.data(), key.size()));
    long long v = -100;
    if (r != nullptr && r->type == REDIS_REPLY_INTEGER) v = r->integer;
    if (r != nullptr) freeReplyObject(r);
    redisFree(c);
    return v;
  }

  testing::RedisTestServer server_;
};

TEST(RedisUrl, Parses) {
  ::unsetenv("PARLEY_TEST_REDIS_PW");
  Result<RedisEndpoint> e = parse_redis_url("redis://cache.internal:6380/3", "PARLEY_TEST_REDIS_PW");
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 3);
  EXPECT_EQ(e->password, "");
  e = parse_redis_url("redis://app:s3cr%25t%40x@10.0.0.5", "PARLEY_TEST_REDIS_PW");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->user, "app");
  EXPECT_EQ(e->password, "s3cr%t@x");
  Result<RedisEndpoint> bad = parse_redis_url("redis://app:hunter2%4@10.0.0.5");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().to_string().find("hunter2"), std::string::npos) << "the password is not echoed";
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
  e = parse_redis_url("redis://[::1]:7000", "PARLEY_TEST_REDIS_PW");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(redis_display_name(*e), "[::1]:7000/0");
  ::setenv("PARLEY_TEST_REDIS_PW", "from-env", 1);
  e = parse_redis_url("redis://localhost", "PARLEY_TEST_REDIS_PW");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->password, "from-env");
  ::unsetenv("PARLEY_TEST_REDIS_PW");
  EXPECT_FALSE(parse_redis_url("rediss://localhost").ok());
  EXPECT_FALSE(parse_redis_url("redis://localhost:0").ok());
  EXPECT_FALSE(parse_redis_url("redis://localhost:99999").ok());
  EXPECT_FALSE(parse_redis_url("redis://localhost/x").ok());
  EXPECT_FALSE(parse_redis_url("redis://:6379").ok());
  EXPECT_FALSE(parse_redis_url("http://localhost").ok());
}

TEST_F(RedisLimiterTest, TwoLimitersShareOneLimitExactly) {
  auto a = make_limiter();
  auto b = make_limiter();
  const TokenBucketSpec spec = per_hour(5);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    RateLimiter& rl = i % 2 == 0 ? static_cast<RateLimiter&>(*a) : *b;
    const RateDecision d = rl.try_acquire("user:1:rpm", 1, spec);
    if (d.allowed) {
      ++allowed;
      EXPECT_EQ(d.remaining, 5 - allowed) << i;
    } else {
      EXPECT_FALSE(d.exceeds_capacity);
      EXPECT_GT(d.retry_after_seconds, 700) << "one token takes 720 s";
      EXPECT_LE(d.retry_after_seconds, 720);
      EXPECT_EQ(d.remaining, 0);
    }
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_TRUE(a->redis_up());
  EXPECT_EQ(a->fallback_decisions() + b->fallback_decisions(), 0u);
  // Another key has its own bucket.
  EXPECT_TRUE(b->try_acquire("user:2:rpm", 1, spec).allowed);
}

TEST_F(RedisLimiterTest, ConcurrentCallersNeverOverGrant) {
  auto a = make_limiter();
  auto b = make_limiter();
  const TokenBucketSpec spec = per_hour(50);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      RateLimiter& rl = t % 2 == 0 ? static_cast<RateLimiter&>(*a) : *b;
      for (int i = 0; i < 40; ++i) {
        if (rl.try_acquire("key:9:rpm", 1, spec).allowed) ++allowed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 50);
}

TEST_F(RedisLimiterTest, CostAboveCapacityAndZeroCost) {
  auto rl = make_limiter();
  const TokenBucketSpec spec = per_hour(5);
  const RateDecision big = rl->try_acquire("k", 6, spec);
  EXPECT_FALSE(big.allowed);
  EXPECT_TRUE(big.exceeds_capacity);
  EXPECT_EQ(big.retry_after_seconds, 0);
  EXPECT_EQ(big.remaining, 5);
  EXPECT_EQ(redis_int("EXISTS", rl->redis_key("k")), 0) << "a refused call takes nothing";
  const RateDecision zero = rl->try_acquire("k", 0, spec);
  EXPECT_TRUE(zero.allowed);
  EXPECT_EQ(zero.remaining, 5);
  EXPECT_TRUE(rl->try_acquire("k", 5, spec).allowed) << "exactly the capacity passes";
  EXPECT_FALSE(rl->try_acquire("k", 1, spec).allowed);
}

TEST_F(RedisLimiterTest, ReservationSettledAfterTheRequest) {
  auto a = make_limiter();
  auto b = make_limiter();
  const TokenBucketSpec tpm = per_hour(100);
  ASSERT_TRUE(a->try_acquire("user:1:tpm", 80, tpm).allowed);  // prompt + max_tokens
  EXPECT_FALSE(b->try_acquire("user:1:tpm", 30, tpm).allowed);
  a->settle("user:1:tpm", 80, 20, tpm);  // used 20: 60 back
  const RateDecision d = b->try_acquire("user:1:tpm", 80, tpm);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  // An overrun is charged on top: the bucket goes into debt.
  b->settle("user:1:tpm", 10, 60, tpm);
  const RateDecision refused = a->try_acquire("user:1:tpm", 1, tpm);
  EXPECT_FALSE(refused.allowed);
  EXPECT_GE(refused.retry_after_seconds, 50 * 36) << "50 tokens of debt + 1, at 36 s each";
}

TEST_F(RedisLimiterTest, RefundNeverBeyondCapacityAndDebtBounded) {
  auto rl = make_limiter();
  const TokenBucketSpec spec = per_hour(5);
  rl->adjust("fresh", 100, spec);  // refund to a full (absent) bucket: nothing
  EXPECT_EQ(redis_int("EXISTS", rl->redis_key("fresh")), 0);
  ASSERT_TRUE(rl->try_acquire("fresh", 2, spec).allowed);
  rl->adjust("fresh", 100, spec);  // back to full, no further
  EXPECT_EQ(redis_int("EXISTS", rl->redis_key("fresh")), 0) << "a full bucket is deleted";
  EXPECT_TRUE(rl->try_acquire("fresh", 5, spec).allowed);
  EXPECT_FALSE(rl->try_acquire("fresh", 1, spec).allowed);

  rl->adjust("debt", -1'000'000, spec);  // debt of at most one capacity
  const RateDecision d = rl->try_acquire("debt", 1, spec);
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after_seconds, 3600) << "more than one full refill";
  EXPECT_LE(d.retry_after_seconds, 2 * 3600 + 720);
}

TEST_F(RedisLimiterTest, KeysAreHashedAndExpireWhenFull) {
  auto rl = make_limiter();
  const TokenBucketSpec spec = per_hour(5);
  ASSERT_TRUE(rl->try_acquire("login:alice@example.com", 1, spec).allowed);
  const std::string key = rl->redis_key("login:alice@example.com");
  EXPECT_EQ(key.find("alice"), std::string::npos);
  EXPECT_EQ(key.rfind("parley:rl:", 0), 0u);
  const long long ttl_ms = redis_int("PTTL", key);
  EXPECT_GT(ttl_ms, 700'000) << "one token: full again in 720 s";
  EXPECT_LE(ttl_ms, 721'000);
}

TEST_F(RedisLimiterTest, RedisDownFallsBackLocallyAndSharesAgainWhenBack) {
  auto a = make_limiter();
  auto b = make_limiter();
  const TokenBucketSpec spec = per_hour(3);
  ASSERT_TRUE(a->try_acquire("user:7:rpm", 1, spec).allowed);
  ASSERT_TRUE(b->try_acquire("user:7:rpm", 1, spec).allowed);

  server_.stop();
  // Each gateway decides alone: its local bucket is full.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(a->try_acquire("user:7:rpm", 1, spec).allowed) << i;
  EXPECT_FALSE(a->try_acquire("user:7:rpm", 1, spec).allowed) << "the local limit still holds";
  EXPECT_FALSE(a->redis_up());
  EXPECT_EQ(a->fallback_decisions(), 4u);
  a->settle("user:7:rpm", 1, 0, spec);  // lands on the local limiter too
  EXPECT_EQ(a->fallback_decisions(), 5u);

  ASSERT_TRUE(server_.start());  // empty: the outage lost the shared buckets (no persistence)
  // Back within the backoff (at most 50 ms here); poll rather than assume a time.
  bool shared = false;
  for (int i = 0; i < 500 && !shared; ++i) {
    std::this_thread::sleep_for(10ms);
    shared = b->try_acquire("user:8:rpm", 1, spec).allowed && b->redis_up();
  }
  ASSERT_TRUE(shared);
  for (int i = 0; i < 500 && !a->redis_up(); ++i) {
    std::this_thread::sleep_for(10ms);
    a->try_acquire("probe", 0, spec);
  }
  ASSERT_TRUE(a->redis_up());
  // Shared and exact again: three between the two, then refused on both.
  const std::uint64_t fallbacks = a->fallback_decisions() + b->fallback_decisions();
  EXPECT_TRUE(a->try_acquire("user:9:rpm", 1, spec).allowed);
  EXPECT_TRUE(b->try_acquire("user:9:rpm", 1, spec).allowed);
  EXPECT_TRUE(a->try_acquire("user:9:rpm", 1, spec).allowed);
  EXPECT_FALSE(b->try_acquire("user:9:rpm", 1, spec).allowed);
  EXPECT_FALSE(a->try_acquire("user:9:rpm", 1, spec).allowed);
  EXPECT_EQ(a->fallback_decisions() + b->fallback_decisions(), fallbacks);
}

TEST_F(RedisLimiterTest, ScriptReloadedAfterFlush) {
  auto rl = make_limiter();
  const TokenBucketSpec spec = per_hour(2);
  ASSERT_TRUE(rl->try_acquire("k", 1, spec).allowed);
  redisContext* c = redisConnect("127.0.0.1", server_.port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
  redisFree(c);
  EXPECT_TRUE(rl->try_acquire("k", 1, spec).allowed) << "EVALSHA's NOSCRIPT falls back to EVAL";
  EXPECT_FALSE(rl->try_acquire("k", 1, spec).allowed);
  EXPECT_EQ(rl->fallback_decisions(), 0u);
}

}  // namespace
}  // namespace parley::auth
