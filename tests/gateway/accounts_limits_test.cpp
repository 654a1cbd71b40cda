// Limits and usage accounting of /v1 requests end to end: requests and tokens per minute per user
// and per key (429 + Retry-After), quotas refused before the request is queued, usage rows with
// the price table's cost, and the config that sets them.
#include <fstream>
#include <sstream>

#include "accounts_fixture.h"
#include "gateway/serve_config.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

TEST_F(AccountsTest, RequestsPerMinuteGive429WithRetryAfter) {
  config_.limits.roles.user.requests_per_minute = 2;
  start();
  signup("admin@example.com");  // the first user is admin: admins have their own (unlimited) role limits
  const Session u = signup("u@example.com");
  const auto [id, key] = create_key(u);
  EXPECT_EQ(chat(key).status, 200);
  EXPECT_EQ(with_key(key, "GET", "/v1/models").status, 200) << "listing models costs nothing";
  EXPECT_EQ(chat(key).status, 200);
  const Reply limited = chat(key);
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.error_code(), "rate_limit_exceeded");
  EXPECT_EQ(limited.json.at("error").at("type"), "rate_limit_error");
  const int retry_after = std::stoi(std::string(limited.header("Retry-After")));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 30) << "one request refills in 30 s at 2 per minute";
  // The limit is the user's: a second key of the same user shares it.
  const auto [id2, key2] = create_key(u);
  EXPECT_EQ(chat(key2).status, 429);
}

TEST_F(AccountsTest, PerUserOverridesAndZeroSuspends) {
  config_.limits.roles.user.requests_per_minute = 100;
  config_.limits.users["u@example.com"].requests_per_minute = auth::LimitValue(0);
  start();
  signup("admin@example.com");
  const auto [i1, suspended] = create_key(signup("U@example.com"));
  const auto [i2, other] = create_key(signup("v@example.com"));
  const Reply r = chat(suspended);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.error_code(), "rate_limit_exceeded");
  EXPECT_EQ(chat(other).status, 200);
}

TEST_F(AccountsTest, PerKeyLimitsApplyToEachKey) {
  config_.limits.key_requests_per_minute = 1;
  start();
  const Session a = signup("a@example.com");
  const auto [i1, k1] = create_key(a);
  const auto [i2, k2] = create_key(a);
  EXPECT_EQ(chat(k1).status, 200);
  EXPECT_EQ(chat(k1).status, 429);
  EXPECT_EQ(chat(k2).status, 200) << "each key has its own bucket";
}

TEST_F(AccountsTest, TokensPerMinuteAreReservedAndSettled) {
  start();
  const Session a = signup("a@example.com");
  const auto [id, key] = create_key(a);
  const Reply first = chat(key, 1);
  ASSERT_EQ(first.status, 200);
  const std::int64_t per_request = first.json.at("usage").at("total_tokens").as_int64();
  ASSERT_GT(per_request, 1);
  stop();
  // Room for two such requests and a half: the third finds too few tokens left.
  config_.limits.roles.admin.tokens_per_minute = per_request * 5 / 2;
  start();
  EXPECT_EQ(chat(key, 1).status, 200);
  EXPECT_EQ(chat(key, 1).status, 200);
  const Reply limited = chat(key, 1);
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_NE(limited.json.at("error").at("message").as_string().find("tokens per minute"), boost::json::string::npos);
  EXPECT_GE(std::stoi(std::string(limited.header("Retry-After"))), 1);
}

TEST_F(AccountsTest, QuotaRefusesBeforeQueueing) {
  start();
  const Session a = signup("a@example.com");
  const auto [id, key] = create_key(a);
  ASSERT_EQ(chat(key).status, 200);
  accounts_->usage().flush();
  stop();
  config_.limits.roles.admin.tokens_per_day = 1;  // already used more than that today
  start();
  const EngineStats before = engine_->stats();
  const Reply r = chat(key);
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.error_code(), "insufficient_quota");
  const int retry_after = std::stoi(std::string(r.header("Retry-After")));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 86400) << "the daily quota resets at the next UTC midnight";
  const EngineStats after = engine_->stats();
  EXPECT_EQ(after.prompt_tokens, before.prompt_tokens) << "the engine never saw it";
  EXPECT_EQ(after.requests_finished, before.requests_finished);
  EXPECT_EQ(after.requests_rejected, before.requests_rejected);
  // The next UTC day has a fresh quota.
  advance(std::chrono::hours(24));
  EXPECT_EQ(chat(key).status, 200);
}

TEST_F(AccountsTest, CostQuotaFromThePriceTable) {
  config_.prices["tiny"] = {.prompt_per_million = 1'000'000,
                            .completion_per_million = 2'000'000};  // 1 and 2 units a token
  config_.limits.roles.admin.cost_micros_per_month = 5'000'000;    // 5 units
  start();
  const auto [id, key] = create_key(signup("a@example.com"));
  const Reply r = chat(key, 2);
  ASSERT_EQ(r.status, 200);
  accounts_->usage().flush();
  const Reply refused = chat(key);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.error_code(), "insufficient_quota");
  EXPECT_NE(refused.json.at("error").at("message").as_string().find("monthly cost quota"), boost::json::string::npos);
}

TEST_F(AccountsTest, EveryRequestIsRecordedWithItsKeyAndCost) {
  config_.prices["tiny"] = {.prompt_per_million = 3, .completion_per_million = 15};
  start();
  const Session a = signup("a@example.com");
  const auto [id, key] = create_key(a);
  const Reply plain = chat(key, 3);
  ASSERT_EQ(plain.status, 200);
  const Reply streamed = chat(key, 2, true);
  ASSERT_EQ(streamed.status, 200);
  EXPECT_NE(streamed.body.find("[DONE]"), std::string::npos);
  const Reply completion = with_key(key, "POST", "/v1/completions",
                                    R"({"model":"tiny","prompt":["ab","cd"],"max_tokens":2,"n":2,"ignore_eos":true})");
  ASSERT_EQ(completion.status, 200) << completion.body;
  accounts_->usage().flush();

  const Reply usage = as(a, "GET", "/api/usage");
  ASSERT_EQ(usage.status, 200) << usage.body;
  const auto& t = usage.json.at("totals");
  EXPECT_EQ(t.at("requests"), 3);
  const std::int64_t prompt = plain.json.at("usage").at("prompt_tokens").as_int64() * 2 +
                              completion.json.at("usage").at("prompt_tokens").as_int64();
  const std::int64_t completion_tokens = 3 + 2 + completion.json.at("usage").at("completion_tokens").as_int64();
  EXPECT_EQ(completion.json.at("usage").at("completion_tokens"), 8);
  EXPECT_EQ(t.at("prompt_tokens"), prompt);
  EXPECT_EQ(t.at("completion_tokens"), completion_tokens);
  EXPECT_EQ(t.at("cost_micros"), prompt * 3 + completion_tokens * 15);
  EXPECT_EQ(usage.json.at("by_model").at(0).at("model"), "tiny");
  // Each row names the key it came through.
  Result<store::UsageTotals> by_key = db().usage_totals(a.user_id, store::Time{}, id);
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(by_key->requests, 3);
}

TEST_F(AccountsTest, ADisconnectedStreamIsChargedForWhatWasComputed) {
  start();
  const Session a = signup("a@example.com");
  const auto [id, key] = create_key(a);
  auto cancel = std::make_shared<HttpCancellation>();
  HttpClientRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/chat/completions";
  req.headers = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
  req.body =
      R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":200,"ignore_eos":true,"stream":true})";
  req.cancel = cancel;
  int chunks = 0;
  auto r = client_.stream(req, {.on_data = [&](std::string_view) { return ++chunks < 4; }});
  EXPECT_FALSE(r.ok());  // we hung up
  // The engine finishes the cancelled request within a step; then it is charged.
  store::UsageTotals t;
  for (int i = 0; i < 500 && t.requests == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    accounts_->usage().flush();
    Result<store::UsageTotals> got = db().usage_totals(a.user_id, store::Time{});
    ASSERT_TRUE(got.ok());
    t = *got;
  }
  EXPECT_EQ(t.requests, 1);
  EXPECT_GT(t.prompt_tokens, 0);
  EXPECT_GE(t.completion_tokens, 1);
  EXPECT_LE(t.completion_tokens, 200);
}

TEST(AccountsConfig, ParsesEveryAccountKey) {
  Result<ServeConfig> c = parse_serve_config(R"(
[store]
url = "postgres://parley@db/parley"

[auth]
mode = "required"
signup = false
session_days = 7
secure_cookies = true
csrf_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
password_memory_mib = 19
password_passes = 2
password_workers = 1
login_per_minute_ip = 5
login_per_minute_account = 3

[limits]
max_n = 4

[limits.roles.user]
requests_per_minute = 60
tokens_per_minute = 40000
tokens_per_day = 1000000
cost_per_month = 12.5

[limits.roles.admin]
requests_per_minute = "unlimited"

[limits.users."Alice@Example.com"]
requests_per_minute = "unlimited"
tokens_per_day = 0

[limits.keys]
requests_per_minute = 30

[prices."llama-3.2-1b"]
prompt_per_million = 0.15
completion_per_million = 0.6
)",
                                             "/etc/parley", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const AccountsConfig& a = c->accounts;
  EXPECT_EQ(a.store_url, "postgres://parley@db/parley");
  EXPECT_EQ(a.auth.mode, AuthMode::kRequired);
  EXPECT_FALSE(a.auth.signup);
  EXPECT_EQ(a.auth.session_days, 7);
  EXPECT_TRUE(a.auth.secure_cookies);
  EXPECT_EQ(a.auth.csrf_key_hex.size(), 64u);
  EXPECT_EQ(a.auth.password.mem_limit_bytes, 19u << 20);
  EXPECT_EQ(a.auth.password_workers, 1);
  EXPECT_EQ(a.auth.login_per_minute_account, 3);
  EXPECT_EQ(c->gateway.limits.max_n, 4);
  EXPECT_EQ(a.limits.roles.user.requests_per_minute, 60);
  EXPECT_EQ(a.limits.roles.user.tokens_per_minute, 40000);
  EXPECT_EQ(a.limits.roles.user.tokens_per_day, 1000000);
  EXPECT_EQ(a.limits.roles.user.cost_micros_per_month, 12'500'000);
  EXPECT_FALSE(a.limits.roles.user.cost_micros_per_day.has_value());
  EXPECT_FALSE(a.limits.roles.admin.requests_per_minute.has_value());
  EXPECT_EQ(a.limits.key_requests_per_minute, 30);
  // Overrides are per email, case-insensitively, and may lift a limit.
  const auth::Limits alice = a.limits.for_user(auth::Role::kUser, "alice@EXAMPLE.com");
  EXPECT_FALSE(alice.requests_per_minute.has_value());
  EXPECT_EQ(alice.tokens_per_day, 0);
  EXPECT_EQ(alice.tokens_per_minute, 40000);
  // By the normalized address, as accounts are stored (store/email.h): width and form too.
  EXPECT_EQ(a.limits.for_user(auth::Role::kUser, "ａｌｉｃｅ@example.com").tokens_per_day, 0);
  EXPECT_EQ(a.limits.for_user(auth::Role::kUser, "bob@example.com").requests_per_minute, 60);
  EXPECT_EQ(cost_micros(a.prices, "llama-3.2-1b", 1000, 100), 150 + 60);
  EXPECT_EQ(cost_micros(a.prices, "other", 1000, 100), 0);
}

TEST(AccountsConfig, ErrorsNameTheKey) {
  const auto error = [](std::string_view text) {
    Result<ServeConfig> c = parse_serve_config(text, "/etc", "p.toml");
    EXPECT_FALSE(c.ok()) << text;
    return c.ok() ? std::string() : c.status().to_string();
  };
  EXPECT_NE(error("[auth]\nmode = \"open\"\n").find("auth.mode"), std::string::npos);
  EXPECT_NE(error("[auth]\nsignup = 1\n").find("auth.signup"), std::string::npos);
  EXPECT_NE(error("[auth]\nsignpu = true\n").find("signpu"), std::string::npos);
  const std::string csrf = error("[auth]\ncsrf_key = \"secret-but-short\"\n");
  EXPECT_NE(csrf.find("auth.csrf_key"), std::string::npos);
  EXPECT_EQ(csrf.find("secret-but-short"), std::string::npos) << "the key is not echoed";
  EXPECT_NE(error("[limits.roles.user]\nrequests_per_minute = -1\n").find("requests_per_minute"), std::string::npos);
  EXPECT_NE(error("[limits.roles.user]\nrequests_per_minute = 1.5\n").find("requests_per_minute"), std::string::npos);
  EXPECT_NE(error("[limits.roles.user]\nrpm = 1\n").find("rpm"), std::string::npos);
  EXPECT_NE(error("[limits.roles.owner]\nrequests_per_minute = 1\n").find("owner"), std::string::npos);
  EXPECT_NE(error("[limits.users.bob]\nrequests_per_minute = 1\n").find("email"), std::string::npos);
  EXPECT_NE(error("[prices.m]\nprompt_per_million = \"cheap\"\n").find("prompt_per_million"), std::string::npos);
  EXPECT_NE(error("[prices.m]\nprompt = 1\n").find("prompt"), std::string::npos);
  EXPECT_NE(error("[store]\nurl = 5\n").find("store.url"), std::string::npos);
}

// The example in docs/configuration.md is a valid file (the tests run in the source tree).
TEST(AccountsConfig, TheDocumentedExampleParses) {
  std::ifstream in("docs/configuration.md");
  ASSERT_TRUE(in.good()) << "run from the repository root";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::size_t start = doc.find("```toml\n");
  ASSERT_NE(start, std::string::npos);
  const std::size_t end = doc.find("```", start + 8);
  Result<ServeConfig> c = parse_serve_config(doc.substr(start + 8, end - start - 8), "/srv", "configuration.md");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->accounts.auth.mode, AuthMode::kRequired);
  EXPECT_EQ(c->accounts.limits.roles.user.requests_per_minute, 60);
  EXPECT_EQ(c->accounts.limits.roles.user.cost_micros_per_month, 20'000'000);
  EXPECT_EQ(c->accounts.prices.at("llama-3.2-1b").completion_per_million, 0.6);
  EXPECT_TRUE(c->accounts.auth.csrf_key_hex.empty());
}

TEST(AccountsConfig, LocalModeIsTheDefaultOnlyOnLoopback) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
    EXPECT_EQ(effective_auth_mode({}, host), AuthMode::kNone) << host;
  }
  for (const char* host :
       {"0.0.0.0", "::", "192.168.1.2", "127.0.0.1.example.com", "127.0.0", "127.0.0.1000", "example.com", ""}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
    EXPECT_EQ(effective_auth_mode({}, host), AuthMode::kRequired) << host;
  }
  AuthConfig explicit_none;
  explicit_none.mode = AuthMode::kNone;
  EXPECT_EQ(effective_auth_mode(explicit_none, "0.0.0.0"), AuthMode::kNone);
  AuthConfig required;
  required.mode = AuthMode::kRequired;
  EXPECT_EQ(effective_auth_mode(required, "127.0.0.1"), AuthMode::kRequired);
}

}  // namespace
}  // namespace parley
