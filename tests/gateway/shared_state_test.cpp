// Shared state as `parley serve` / `parley gateway` wire it: [redis] and [store] replicas in the
// config file; a gateway whose rate limits go through a real redis-server (the buckets are in
// Redis, the metrics say so), keeps serving with its local limiter while Redis is down, and
// reports that (parley_redis_up 0, fallback decisions counted).
#include <hiredis/hiredis.h>

#include "accounts_fixture.h"
#include "auth/redis_test_server.h"
#include "gateway/serve_config.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

TEST(SharedStateConfig, ParsesRedisAndReplicas) {
  Result<ServeConfig> c = parse_serve_config(R"(
[store]
url = "postgres://parley@primary/parley"
replicas = ["postgres://parley@replica-1/parley", "postgresql://parley@replica-2/parley"]
replica_max_lag_ms = 2500
replica_check_interval_ms = 100
replica_retry_ms = 3000

[redis]
url = "redis://cache:6380/2"
connect_timeout_ms = 50
command_timeout_ms = 75
pool_size = 4
key_prefix = "eu1:rl:"
)",
                                             "/etc", "p.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const AccountsConfig& a = c->accounts;
  ASSERT_EQ(a.replicas.urls.size(), 2u);
  EXPECT_EQ(a.replicas.urls[1], "postgresql://parley@replica-2/parley");
  EXPECT_EQ(a.replicas.max_lag_ms, 2500);
  EXPECT_EQ(a.replicas.check_interval_ms, 100);
  EXPECT_EQ(a.replicas.retry_ms, 3000);
  EXPECT_EQ(a.redis.url, "redis://cache:6380/2");
  EXPECT_EQ(a.redis.connect_timeout_ms, 50);
  EXPECT_EQ(a.redis.command_timeout_ms, 75);
  EXPECT_EQ(a.redis.pool_size, 4);
  EXPECT_EQ(a.redis.key_prefix, "eu1:rl:");

  const auto error = [](std::string_view text) {
    Result<ServeConfig> bad = parse_serve_config(text, "/etc", "p.toml");
    EXPECT_FALSE(bad.ok()) << text;
    return bad.ok() ? std::string() : bad.status().to_string();
  };
  EXPECT_NE(error("[redis]\npool_size = 0\n").find("redis.pool_size"), std::string::npos);
  EXPECT_NE(error("[redis]\nhost = \"x\"\n").find("host"), std::string::npos);
  EXPECT_NE(error("[store]\nreplicas = [\"sqlite:/x.db\"]\n").find("store.replicas"), std::string::npos);
  EXPECT_NE(error("[store]\nreplica_max_lag_ms = 0\n").find("replica_max_lag_ms"), std::string::npos);
}

TEST(SharedStateConfig, BadRedisUrlFailsWithoutEchoingIt) {
  RedisConfig rc;
  rc.url = "rediss://:hunter2@cache:6379";
  Result<std::unique_ptr<auth::RateLimiter>> rl = make_rate_limiter(rc);
  ASSERT_FALSE(rl.ok());
  EXPECT_EQ(rl.status().to_string().find("hunter2"), std::string::npos) << rl.status().to_string();
  rc.url = "";
  rl = make_rate_limiter(rc);
  ASSERT_TRUE(rl.ok());
  EXPECT_EQ(dynamic_cast<auth::RedisRateLimiter*>(rl->get()), nullptr) << "no URL: the local limiter";
}

class RedisGatewayTest : public AccountsTest {
 protected:
  void SetUp() override {
    AccountsTest::SetUp();
    if (!redis_.available()) GTEST_SKIP() << "redis-server is not installed (scripts/setup installs it)";
    ASSERT_TRUE(redis_.start());
    config_.redis.url = redis_.url();
    config_.redis.command_timeout_ms = 1000;
  }

  long long redis_keys() {
    redisContext* c = redisConnect("127.0.0.1", redis_.port());
    if (c == nullptr || c->err != 0) {
      if (c != nullptr) redisFree(c);
      return -1;
    }
    auto* r = static_cast<redisReply*>(redisCommand(c, "DBSIZE"));
    const long long n = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != nullptr) freeReplyObject(r);
    redisFree(c);
    return n;
  }

  std::string metrics() { return gateway_->metrics_registry().render(); }

  testing::RedisTestServer redis_;
};

TEST_F(RedisGatewayTest, LimitsGoThroughRedisAndFallBackWhileItIsDown) {
  config_.limits.roles.user.requests_per_minute = 2;
  start();
  ASSERT_NE(accounts_->redis_limiter(), nullptr);
  signup("admin@example.com");
  const Session u = signup("u@example.com");
  const auto [id, key] = create_key(u);
  EXPECT_EQ(chat(key).status, 200);
  EXPECT_EQ(chat(key).status, 200);
  EXPECT_EQ(chat(key).status, 429);
  EXPECT_GT(redis_keys(), 0) << "the buckets live in Redis";
  std::string m = metrics();
  EXPECT_NE(m.find("parley_redis_up 1"), std::string::npos) << m;
  EXPECT_NE(m.find("parley_ratelimit_fallback_decisions_total 0"), std::string::npos) << m;

  redis_.stop();
  // This gateway's own limiter decides now: its bucket for the user is full.
  EXPECT_EQ(chat(key).status, 200);
  m = metrics();
  EXPECT_NE(m.find("parley_redis_up 0"), std::string::npos) << m;
  EXPECT_EQ(m.find("parley_ratelimit_fallback_decisions_total 0"), std::string::npos) << m;
}

}  // namespace
}  // namespace parley
