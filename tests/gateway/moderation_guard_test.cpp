// The guard model on finished replies and in /v1/moderations (moderation_fixture.h). The scripted
// engine answers every request with the same text, the guard's classification included: a reply
// "unsafe\nS1" is also the guard's verdict on it, "safe" likewise.
#include "moderation_fixture.h"

namespace parley::testing {
namespace {

class ModerationGuardTest : public ModerationTest {
 protected:
  void start_guarded(bool input, bool output, bool fail_closed = false) {
    gateway_options_.guard.model = "tiny";
    gateway_options_.guard.input = input;
    gateway_options_.guard.output = output;
    gateway_options_.guard.fail_closed = fail_closed;
    gateway_options_.guard.timeout_ms = 2000;
    gateway_options_.guard.prompt = "Classify. {role}: {text}";  // the default is longer than this context
    start_moderated();
  }
  bool has_event(std::string_view rule, std::string_view action, std::string_view stage) {
    for (const auto& e : events()) {
      if (e.rule == rule && e.action == action && e.stage == stage) return true;
    }
    return false;
  }
};

TEST_F(ModerationGuardTest, AnUnsafeReplyIsWithheldFromNonStreamedAnswers) {
  start_guarded(false, true);
  reply_with("unsafe\nS1");
  const Reply r = chat_with(key, "hello");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value& choice = r.json.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("content"), "");
  EXPECT_EQ(choice.at("finish_reason"), "content_filter");
  ASSERT_EQ(engine->prompts().size(), 2u);  // the reply, then the guard's reading of it
  EXPECT_NE(prompt_text(1).find("Agent: unsafe"), std::string::npos) << prompt_text(1);
  EXPECT_TRUE(has_event("guard:S1", "block", "output"));
  EXPECT_NE(call("GET", "/metrics")
                .body.find(R"(parley_moderation_events_total{rule="guard",action="block",stage="output"})"),
            std::string::npos);

  const Reply completion = with_key(key, "POST", "/v1/completions", R"({"model":"tiny","prompt":"hello"})");
  ASSERT_EQ(completion.status, 200) << completion.body;
  EXPECT_EQ(completion.json.at("choices").at(0).at("text"), "");
  EXPECT_EQ(completion.json.at("choices").at(0).at("finish_reason"), "content_filter");

  reply_with("safe");
  const Reply fine = chat_with(key, "hello");
  ASSERT_EQ(fine.status, 200) << fine.body;
  EXPECT_EQ(fine.json.at("choices").at(0).at("message").at("content"), "safe");
  EXPECT_EQ(fine.json.at("choices").at(0).at("finish_reason"), "stop");
}

TEST_F(ModerationGuardTest, AStreamedUnsafeReplyIsRecordedAfterItWasShown) {
  start_guarded(false, true);
  reply_with("unsafe\nS10");
  const Reply s = chat_with(key, "hello", true);
  ASSERT_EQ(s.status, 200) << s.body;
  const auto [content, finish] = streamed(s.body);
  EXPECT_EQ(content, "unsafe\nS10");  // shown as it came: the verdict is known only at the end
  EXPECT_EQ(finish, "stop");
  EXPECT_TRUE(eventually([&] { return has_event("guard:S10", "flag", "output"); }));
}

TEST_F(ModerationGuardTest, TheConversationApiSavesAnUnsafeReplyFiltered) {
  start_guarded(false, true);
  reply_with("unsafe\nS1");
  const Reply created = as(owner, "POST", "/api/conversations", "{}");
  const std::string id(created.json.at("id").as_string());
  const Reply sent = as(owner, "POST", "/api/conversations/" + id + "/messages", R"({"content":"hi"})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_NE(sent.body.find("content_filter"), std::string::npos) << sent.body;  // the "done" event says so
  const Reply tree = as(owner, "GET", "/api/conversations/" + id);
  const json::array& messages = tree.json.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u) << tree.body;
  EXPECT_EQ(messages[1].at("content"), "");
  EXPECT_EQ(messages[1].at("finish_reason"), "content_filter");
  EXPECT_TRUE(has_event("guard:S1", "block", "output"));
}

TEST_F(ModerationGuardTest, ModerationsIncludeTheGuardsCategories) {
  start_guarded(true, false);
  reply_with("unsafe\nS1,S10,S7");
  const Reply r = with_key(key, "POST", "/v1/moderations", R"({"input":["a quiet day","write to bob@example.com"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value& first = r.json.at("results").at(0);
  EXPECT_EQ(first.at("flagged"), true);
  EXPECT_EQ(first.at("categories").at("violence"), true);  // S1: Violent Crimes
  EXPECT_EQ(first.at("categories").at("hate"), true);      // S10: Hate
  EXPECT_EQ(first.at("categories").at("S7"), true);        // Privacy: no OpenAI category
  EXPECT_EQ(first.at("categories").at("sexual"), false);   // S12, not named
  EXPECT_EQ(first.at("categories").at("nightingale"), false);
  EXPECT_EQ(first.at("category_scores").at("hate").to_number<double>(), 1.0);
  EXPECT_EQ(r.json.at("results").at(1).at("categories").at("pii-in"), true);
  EXPECT_EQ(openai_category("S4"), "sexual/minors");
  EXPECT_EQ(openai_category("S15"), "S15");

  reply_with("safe");
  const Reply safe = with_key(key, "POST", "/v1/moderations", R"({"input":"a quiet day"})");
  ASSERT_EQ(safe.status, 200) << safe.body;
  EXPECT_EQ(safe.json.at("results").at(0).at("flagged"), false);
  EXPECT_EQ(safe.json.at("results").at(0).at("categories").at("violence"), false);
}

TEST_F(ModerationGuardTest, ModerationsFailClosedWhenTheGuardDoesNotAnswer) {
  start_guarded(true, false, true);
  reply_with("I am not a classifier");
  EXPECT_EQ(with_key(key, "POST", "/v1/moderations", R"({"input":"a quiet day"})").status, 503);
}

}  // namespace
}  // namespace parley::testing
