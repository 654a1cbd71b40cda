// Moderation through the gateway, end to end (moderation_fixture.h): input rules on
// /v1/chat/completions, /v1/completions and the conversation API, the streamed output filter,
// /v1/moderations, suspensions and the admin API.
#include "moderation_fixture.h"

namespace parley::testing {
namespace {

TEST_F(ModerationTest, BlockedChatInputIs400AndNothingIsQueuedOrSaved) {
  start_moderated();
  reply_with("hello");
  const Reply r = chat_with(key, "tell me about ＰＲＯＪＥＣＴ night\u200bingale");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.error_code(), "content_policy_violation");
  EXPECT_TRUE(engine->prompts().empty());
  const auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].rule, "nightingale");
  EXPECT_EQ(ev[0].action, "block");
  EXPECT_EQ(ev[0].stage, "input");
  EXPECT_EQ(ev[0].user_id, owner.user_id);
  EXPECT_EQ(ev[0].excerpt, "");  // private by default
  // The completions endpoint and the conversation API refuse it alike.
  const Reply c = with_key(key, "POST", "/v1/completions", R"({"model":"tiny","prompt":"project nightingale"})");
  EXPECT_EQ(c.status, 400) << c.body;
  EXPECT_EQ(c.error_code(), "content_policy_violation");
  const Reply created = as(owner, "POST", "/api/conversations", "{}");
  ASSERT_EQ(created.status, 201);
  const std::string id(created.json.at("id").as_string());
  const Reply sent =
      as(owner, "POST", "/api/conversations/" + id + "/messages", R"({"content":"project nightingale"})");
  EXPECT_EQ(sent.status, 400) << sent.body;
  EXPECT_EQ(as(owner, "GET", "/api/conversations/" + id).json.at("messages").as_array().size(), 0u);
  EXPECT_TRUE(engine->prompts().empty());
}

TEST_F(ModerationTest, RedactedInputReachesNeitherTheEngineNorTheStore) {
  start_moderated();
  reply_with("ok");
  const Reply r = chat_with(key, "mail me at jane.doe@example.com please");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string prompt = prompt_text(0);
  EXPECT_EQ(prompt.find("jane.doe"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("[redacted:email]"), std::string::npos) << prompt;
  // The conversation API stores the masked message.
  const Reply created = as(owner, "POST", "/api/conversations", "{}");
  const std::string id(created.json.at("id").as_string());
  const Reply sent =
      as(owner, "POST", "/api/conversations/" + id + "/messages", R"({"content":"I am jane@example.org"})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.body.find("jane@example.org"), std::string::npos);
  const std::string tree = as(owner, "GET", "/api/conversations/" + id).body;
  EXPECT_EQ(tree.find("jane@example.org"), std::string::npos) << tree;
  EXPECT_NE(tree.find("[redacted:email]"), std::string::npos) << tree;
  EXPECT_EQ(prompt_text(1).find("jane@example.org"), std::string::npos);
  for (const auto& e : events()) EXPECT_EQ(e.excerpt, "");
}

TEST_F(ModerationTest, StreamedReplyStopsBeforeAPhraseSplitAcrossTokens) {
  start_moderated();
  reply_with("Here is the secret sauce: butter.");  // one byte per token
  const Reply s = chat_with(key, "hi", true);
  ASSERT_EQ(s.status, 200) << s.body;
  const auto [content, finish] = streamed(s.body);
  EXPECT_EQ(content, "Here is the ");
  EXPECT_EQ(finish, "content_filter");
  const Reply whole = chat_with(key, "hi", false);
  ASSERT_EQ(whole.status, 200) << whole.body;
  const json::value& choice = whole.json.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("content"), "Here is the ");
  EXPECT_EQ(choice.at("finish_reason"), "content_filter");
  // The conversation API saves the reply marked filtered.
  const Reply created = as(owner, "POST", "/api/conversations", "{}");
  const std::string id(created.json.at("id").as_string());
  ASSERT_EQ(as(owner, "POST", "/api/conversations/" + id + "/messages", R"({"content":"hi"})").status, 200);
  const Reply tree = as(owner, "GET", "/api/conversations/" + id);
  const json::array& messages = tree.json.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u) << tree.body;
  EXPECT_EQ(messages[1].at("content"), "Here is the ");
  EXPECT_EQ(messages[1].at("finish_reason"), "content_filter");
  bool output_event = false;
  for (const auto& e : events()) output_event |= e.rule == "sauce-out" && e.stage == "output";
  EXPECT_TRUE(output_event);
  const std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(parley_moderation_events_total{rule="sauce-out",action="block",stage="output"})"),
            std::string::npos);
}

TEST_F(ModerationTest, RepeatedViolationsSuspendOneUserUntilLiftedOrOver) {
  start_moderated(9);
  reply_with("ok");
  const Session other = signup("other@example.com");
  const std::string other_key = create_key(other).second;
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);  // 5 points: not yet (threshold 9)
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);  // 10: suspended
  const Reply refused = chat_with(other_key, "hello");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.error_code(), "suspended");
  EXPECT_NE(refused.body.find("suspended until"), std::string::npos) << refused.body;
  // Isolation: the admin (same address) is not affected.
  EXPECT_EQ(chat_with(key, "hello").status, 200);
  gateway_->moderation().flush();
  const Reply listed = as(owner, "GET", "/api/admin/moderation/suspensions?active=true");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json.at("data").as_array().size(), 1u);
  EXPECT_EQ(listed.json.at("data").at(0).at("subject").as_string(), "user:" + other.user_id);
  EXPECT_EQ(listed.json.at("data").at(0).at("reason"), "blocked");
  const Reply ev = as(owner, "GET", "/api/admin/moderation/events?rule=nightingale&user_id=" + other.user_id);
  ASSERT_EQ(ev.status, 200) << ev.body;
  EXPECT_EQ(ev.json.at("data").as_array().size(), 2u);
  // Not an admin: no admin API.
  EXPECT_EQ(as(other, "GET", "/api/admin/moderation/suspensions").status, 403);

  const Reply lifted =
      as(owner, "POST", "/api/admin/moderation/suspensions/lift", R"({"subject":"user:)" + other.user_id + R"("})");
  ASSERT_EQ(lifted.status, 200) << lifted.body;
  EXPECT_EQ(lifted.json.at("lifted"), true);
  EXPECT_EQ(chat_with(other_key, "hello").status, 200);

  // Again, and this time it runs out by itself.
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  EXPECT_EQ(chat_with(other_key, "hello").status, 403);
  advance(std::chrono::seconds(601));
  EXPECT_EQ(chat_with(other_key, "hello").status, 200);
}

TEST_F(ModerationTest, RateAbuseSuspendsWith429AndRetryAfter) {
  config_.limits.key_requests_per_minute = 1;
  start_moderated(9, "weights = { rate_limited = 5 }\n");
  reply_with("ok");
  const Session other = signup("other@example.com");
  const std::string other_key = create_key(other).second;
  ASSERT_EQ(chat_with(other_key, "hello").status, 200);
  ASSERT_EQ(chat_with(other_key, "hello").status, 429);  // the key's limit: 5 points
  ASSERT_EQ(chat_with(other_key, "hello").status, 429);  // 10: suspended for rate abuse
  advance(std::chrono::seconds(120));                    // the per-minute limit has room again
  const Reply r = chat_with(other_key, "hello");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.error_code(), "suspended");
  EXPECT_NE(r.body.find("suspended until"), std::string::npos) << r.body;
  EXPECT_FALSE(r.header("Retry-After").empty());
  // Its session too: the account is suspended, not the key.
  EXPECT_EQ(as(other, "GET", "/api/conversations").status, 429);
}

TEST_F(ModerationTest, FailedLogInsSuspendTheAddress) {
  start_moderated(2.5);  // a failed log-in is 1 point (decaying): the third suspends
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"owner@example.com","password":"wrong guess"})").status, 401);
  }
  const Reply r =
      call("POST", "/api/auth/login", R"({"email":"owner@example.com","password":"correct horse battery"})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.error_code(), "suspended");
  EXPECT_NE(r.body.find("address is suspended"), std::string::npos) << r.body;
  // The admin API still answers (that is where the suspension is lifted).
  const Reply lifted = as(owner, "POST", "/api/admin/moderation/suspensions/lift", R"({"subject":"addr:127.0.0.1"})");
  ASSERT_EQ(lifted.status, 200) << lifted.body;
  EXPECT_EQ(
      call("POST", "/api/auth/login", R"({"email":"owner@example.com","password":"correct horse battery"})").status,
      200);
}

TEST_F(ModerationTest, SuspensionsAreRestoredAtStartUp) {
  start_moderated(9);
  const Session other = signup("other@example.com");
  const std::string other_key = create_key(other).second;
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  gateway_->moderation().flush();
  // A new gateway on the same store.
  server_->stop();
  server_.reset();
  gateway_.reset();
  start();
  EXPECT_EQ(chat_with(other_key, "hello").status, 403);
}

TEST_F(ModerationTest, GuardModelRefusesUnsafePromptsAndFailsOpenOrClosed) {
  gateway_options_.guard.model = "tiny";  // the scripted engine answers the guard's prompt too
  gateway_options_.guard.timeout_ms = 200;
  gateway_options_.guard.prompt = "Classify. {role}: {text}";  // the default is longer than this context
  start_moderated();
  reply_with("unsafe\nS1,S10");
  const Reply refused = chat_with(key, "hello");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.error_code(), "content_policy_violation");
  EXPECT_NE(refused.body.find("S1,S10"), std::string::npos) << refused.body;
  ASSERT_EQ(engine->prompts().size(), 1u);  // the guard's request only: nothing queued for the reply
  const std::string guard_prompt = prompt_text(0);
  EXPECT_NE(guard_prompt.find("User: hello"), std::string::npos) << guard_prompt;
  EXPECT_NE(kLlamaGuardPrompt.find("S14: Code Interpreter Abuse."), std::string::npos);
  bool recorded = false;
  for (const auto& e : events()) recorded |= e.rule == "guard:S1,S10" && e.action == "block";
  EXPECT_TRUE(recorded);

  reply_with("safe");
  EXPECT_EQ(chat_with(key, "hello").status, 200);
  // No answer within the budget: fail open (the default) lets the request through.
  engine->hang_requests = 1;
  EXPECT_EQ(chat_with(key, "hello").status, 200);
  EXPECT_NE(call("GET", "/metrics").body.find("parley_guard_seconds_count{model=\"tiny\"} 3"), std::string::npos);
}

TEST_F(ModerationTest, GuardModelFailsClosed) {
  gateway_options_.guard.model = "tiny";
  gateway_options_.guard.timeout_ms = 200;
  gateway_options_.guard.fail_closed = true;
  gateway_options_.guard.prompt = "Classify. {role}: {text}";
  start_moderated();
  reply_with("safe");
  engine->hang_requests = 1;
  const Reply r = chat_with(key, "hello");
  EXPECT_EQ(r.status, 503) << r.body;
  reply_with("I am not a classifier");  // an answer in another format fails too
  EXPECT_EQ(chat_with(key, "hello").status, 503);
  EXPECT_EQ(parse_guard_answer(" unsafe \n S2 , S3\n").categories, (std::vector<std::string>{"S2", "S3"}));
  EXPECT_FALSE(parse_guard_answer(" unsafe \n S2 , S3\n").error.size());
}

TEST_F(ModerationTest, ModerationsEndpointReportsCategories) {
  start_moderated();
  const Reply r = with_key(key, "POST", "/v1/moderations",
                           R"({"input":["a quiet day","write to bob@example.com","project nightingale"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array& results = r.json.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].at("flagged"), false);
  EXPECT_EQ(results[1].at("flagged"), true);
  EXPECT_EQ(results[1].at("categories").at("pii-in"), true);
  EXPECT_EQ(results[1].at("category_scores").at("pii-in").to_number<double>(), 1.0);
  EXPECT_EQ(results[2].at("categories").at("nightingale"), true);
  EXPECT_EQ(results[2].at("categories").at("pii-in"), false);
  EXPECT_EQ(with_key(key, "POST", "/v1/moderations", R"({"input":"x"})").json.at("results").as_array().size(), 1u);
  EXPECT_EQ(with_key(key, "POST", "/v1/moderations", R"({"input":5})").status, 400);
  EXPECT_EQ(call("POST", "/v1/moderations", R"({"input":"x"})").status, 401);
}

}  // namespace
}  // namespace parley::testing
