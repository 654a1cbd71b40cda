// What the web UI added to the API, through the whole gateway with accounts: /api/models and who
// may call it, usage by day and per conversation with the real usage recorder, share links
// without credentials, and model output with control bytes on /v1.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "accounts_fixture.h"

namespace parley::testing {
namespace {

namespace json = boost::json;

// The data of the last SSE event named `name` in a whole streamed body; null if none.
json::value last_event(const std::string& body, std::string_view name) {
  json::value out;
  const std::string marker = "event: " + std::string(name) + "\n";
  for (std::size_t at = body.find(marker); at != std::string::npos; at = body.find(marker, at + 1)) {
    const std::size_t data = body.find("data: ", at);
    if (data == std::string::npos) break;
    const std::size_t end = body.find('\n', data);
    out = json::parse(body.substr(data + 6, end - data - 6));
  }
  return out;
}

std::string today_utc() {
  const std::chrono::year_month_day d{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                     static_cast<unsigned>(d.day()));
}

TEST_F(AccountsTest, ApiModelsListsTheModelsForEveryKindOfCaller) {
  demo_model_ = true;
  start();
  const Session admin = signup("admin@example.com");  // the first account: admin
  const Reply r = as(admin, "GET", "/api/models");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json, json::parse(R"({"object":"list","data":[{"id":"tiny","object":"model","context_length":256,
                                    "demo":true,"owned_by":"parley"}]})"));
  const auto [chat_id, chat_key] = create_key(admin, R"({"scopes":["chat"]})");
  const auto [models_id, models_key] = create_key(admin, R"({"scopes":["models"]})");
  const auto [admin_id, admin_key] = create_key(admin, R"({"scopes":["admin"]})");
  EXPECT_EQ(with_key(chat_key, "GET", "/api/models").status, 200);
  EXPECT_EQ(with_key(models_key, "GET", "/api/models").status, 200);
  const Reply refused = with_key(admin_key, "GET", "/api/models");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.error_code(), "insufficient_scope");
  EXPECT_EQ(call("GET", "/api/models").status, 401);
}

TEST_F(AccountsTest, ApiModelsInLocalModeAndForARealModel) {
  mode_ = AuthMode::kNone;
  start();
  const Reply r = call("GET", "/api/models");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("data").at(0).at("demo"), false);
}

TEST_F(AccountsTest, UsageIsRecordedPerConversationAndReportedByDay) {
  config_.prices["tiny"] = {.prompt_per_million = 1'000'000, .completion_per_million = 2'000'000};
  start();
  const std::string day_before = today_utc();
  const Session a = signup("a@example.com");
  const Reply created = as(a, "POST", "/api/conversations", "{}");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json.at("id").as_string());
  const Reply sent =
      as(a, "POST", "/api/conversations/" + id + "/messages", R"({"content":"hi","max_tokens":3,"ignore_eos":true})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  const json::value done = last_event(sent.body, "done");
  ASSERT_FALSE(done.is_null()) << sent.body;
  // The done event waited for this reply's usage row: the conversation's usage is this reply's.
  const json::value& mine = done.at("message").at("usage");
  const json::value& conv = done.at("conversation").at("usage");
  EXPECT_EQ(conv.at("requests"), 1);
  EXPECT_EQ(conv.at("prompt_tokens"), mine.at("prompt_tokens"));
  EXPECT_EQ(conv.at("completion_tokens"), 3);
  const std::int64_t cost = mine.at("prompt_tokens").as_int64() * 1'000'000 + 3 * 2'000'000;
  EXPECT_EQ(conv.at("cost_micros"), cost);
  EXPECT_EQ(conv.at("cost").to_number<double>(), static_cast<double>(cost) / 1e6);
  const Reply got = as(a, "GET", "/api/conversations/" + id);
  EXPECT_EQ(got.json.at("conversation").at("usage"), conv);

  // A /v1 request of the same user is usage too, but of no conversation.
  const auto [key_id, key] = create_key(a);
  ASSERT_EQ(chat(key, 2).status, 200);
  accounts_->usage().flush();
  EXPECT_EQ(as(a, "GET", "/api/conversations/" + id).json.at("conversation").at("usage"), conv);

  const Reply usage = as(a, "GET", "/api/usage?group_by=day");
  ASSERT_EQ(usage.status, 200) << usage.body;
  ASSERT_EQ(usage.json.at("by_day").as_array().size(), 1u);
  const json::value& day = usage.json.at("by_day").at(0);
  const std::string day_of_row(day.at("day").as_string());
  EXPECT_TRUE(day_of_row == day_before || day_of_row == today_utc()) << day_of_row;  // midnight may pass
  EXPECT_EQ(day.at("model"), "tiny");
  EXPECT_EQ(day.at("requests"), 2);
  EXPECT_EQ(day.at("completion_tokens"), 5);
  EXPECT_EQ(day.at("total_tokens"), usage.json.at("totals").at("total_tokens"));
  EXPECT_EQ(day.at("cost_micros"), usage.json.at("totals").at("cost_micros"));
  EXPECT_FALSE(as(a, "GET", "/api/usage").json.as_object().contains("by_day"));
  const Reply bad = as(a, "GET", "/api/usage?group_by=week");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json.at("error").at("param"), "group_by");
  // Through an API key as well (the same answer as for the session).
  EXPECT_EQ(with_key(key, "GET", "/api/usage?group_by=day").json.at("by_day"), usage.json.at("by_day"));
}

TEST_F(AccountsTest, ASharedConversationIsReadWithoutCredentialsAndSharingNeedsCsrf) {
  start();
  const Session a = signup("a@example.com");
  const Reply created = as(a, "POST", "/api/conversations", R"({"title":"Lisbon"})");
  const std::string id(created.json.at("id").as_string());
  ASSERT_EQ(as(a, "POST", "/api/conversations/" + id + "/messages", R"({"content":"hi","max_tokens":2})").status, 200);
  EXPECT_EQ(as(a, "POST", "/api/conversations/" + id + "/shares", "{}", /*csrf=*/false).status, 403);
  const Reply shared = as(a, "POST", "/api/conversations/" + id + "/shares", "{}");
  ASSERT_EQ(shared.status, 201) << shared.body;
  const std::string token(shared.json.at("token").as_string());
  const Reply view = call("GET", "/api/shared/" + token);  // no cookie, no key
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(view.header("X-Robots-Tag"), "noindex, nofollow");
  EXPECT_EQ(view.header("Cache-Control"), "no-store");
  EXPECT_EQ(view.json.at("title"), "Lisbon");
  EXPECT_EQ(view.json.at("messages").as_array().size(), 2u);
  // Another account cannot revoke it; its owner can.
  const Session b = signup("b@example.com");
  const std::string share_id(shared.json.at("id").as_string());
  EXPECT_EQ(as(b, "DELETE", "/api/shares/" + share_id).status, 404);
  EXPECT_EQ(call("GET", "/api/shared/" + token).status, 200);
  EXPECT_EQ(as(a, "DELETE", "/api/shares/" + share_id).status, 200);
  EXPECT_EQ(call("GET", "/api/shared/" + token).status, 404);
}

// Byte tokens such as <0x00> and ESC never reach a /v1 client (nor a conversation, see
// conversation_settings_test.cpp): streamed or not, the text has no C0 control but \t \n \r.
TEST_F(AccountsTest, ControlBytesInModelOutputAreDroppedOnV1) {
  start();
  // The demo vocabulary's first 256 tokens are the bytes.
  const Tokenizer& tok = gateway_->models().front()->tokenizer();
  ASSERT_EQ(tok.token_piece(0, false), std::string(1, '\0'));
  ASSERT_EQ(tok.token_piece(27, false), "\x1b");
  ASSERT_EQ(tok.token_piece(97, false), "a");
  const Session a = signup("a@example.com");
  const auto [key_id, key] = create_key(a);
  const std::string request =
      R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"seed":3,"ignore_eos":true,)"
      R"("logit_bias":{"0":100,"27":100,"97":100})";
  const Reply plain = with_key(key, "POST", "/v1/chat/completions", request + "}");
  ASSERT_EQ(plain.status, 200) << plain.body;
  const std::string text(plain.json.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(plain.json.at("usage").at("completion_tokens"), 16);
  EXPECT_FALSE(text.empty());
  for (const char c : text) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r');
  EXPECT_EQ(plain.body.find("\\u0000"), std::string::npos);
  EXPECT_EQ(plain.body.find("\\u001b"), std::string::npos);
  const Reply streamed = with_key(key, "POST", "/v1/chat/completions", request + R"(,"stream":true})");
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(streamed.body.find("\\u0000"), std::string::npos);
  EXPECT_EQ(streamed.body.find("\\u001b"), std::string::npos);
  const Reply completion = with_key(key, "POST", "/v1/completions",
                                    R"({"model":"tiny","prompt":"x","max_tokens":8,"ignore_eos":true,)"
                                    R"("logit_bias":{"0":100,"27":100}})");
  ASSERT_EQ(completion.status, 200) << completion.body;
  EXPECT_EQ(completion.json.at("choices").at(0).at("text"), "");  // nothing but controls was generated
}

}  // namespace
}  // namespace parley::testing

namespace parley::testing {
namespace {

// The operators' dashboard reads the store's health and the cost of usage from /metrics.
TEST_F(AccountsTest, MetricsCarryTheStoresHealthAndTheCostOfUsage) {
  config_.prices["tiny"] = {.prompt_per_million = 1'000'000, .completion_per_million = 2'000'000};
  start();
  EXPECT_NE(call("GET", "/metrics").body.find("parley_store_up 1"), std::string::npos);
  const Session a = signup("a@example.com");
  const auto [id, key] = create_key(a);
  ASSERT_EQ(chat(key, 3).status, 200);
  // prompt tokens x 1 + completion tokens x 2 (micro-units per token at these prices), counted as
  // the request is charged, just after its response.
  std::string body;
  for (int i = 0; i < 200; ++i) {
    body = call("GET", "/metrics").body;
    if (body.find("parley_usage_cost_micros_total{model=\"tiny\"}") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  const std::size_t at = body.find("parley_usage_cost_micros_total{model=\"tiny\"} ");
  ASSERT_NE(at, std::string::npos) << body;
  const double cost = std::stod(body.substr(at + std::string("parley_usage_cost_micros_total{model=\"tiny\"} ").size()));
  accounts_->usage().flush();  // the usage row has the same cost
  const Result<store::UsageTotals> totals = db().usage_totals(a.user_id, store::Time{});
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(cost, static_cast<double>(totals->cost_micros));
  EXPECT_GT(cost, 0);
}

}  // namespace
}  // namespace parley::testing
