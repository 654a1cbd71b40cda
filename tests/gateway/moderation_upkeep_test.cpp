// Moderation's upkeep through the gateway (moderation_fixture.h): suspensions and lifts made in
// the store by someone else (`parley admin moderation lift`, another gateway) reach a running
// server, the periodic retention purge, which 429s count as violations, and redacted text never
// reaching the log.
#include <chrono>

#include "base/log.h"
#include "moderation_fixture.h"

namespace parley::testing {
namespace {

using std::chrono::seconds;

TEST_F(ModerationTest, StoreLiftsAndSuspensionsReachTheRunningServer) {
  start_moderated(9, "sync_s = 1\n");
  reply_with("ok");
  const Session other = signup("other@example.com");
  const std::string other_key = create_key(other).second;
  const std::string subject = "user:" + other.user_id;
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  ASSERT_EQ(chat_with(other_key, "hello").status, 403);
  gateway_->moderation().flush();

  // What `parley admin moderation lift` does: the store only.
  auto lifted = db().lift_subject_suspensions(subject, "cli");
  ASSERT_TRUE(lifted.ok()) << lifted.status().to_string();
  ASSERT_EQ(*lifted, 1);
  EXPECT_TRUE(eventually([&] { return chat_with(other_key, "hello").status == 200; }));
  EXPECT_FALSE(gateway_->moderation().tracker().suspended(subject));

  // Another gateway sharing the store suspends the account.
  store::NewSuspension s;
  s.subject = subject;
  s.reason = "blocked";
  s.score = 10;
  s.until = store::system_now() + seconds(600);
  ASSERT_TRUE(db().create_suspension(s).ok());
  EXPECT_TRUE(eventually([&] { return chat_with(other_key, "hello").status == 403; }));
  // The admin (same address) is not affected.
  EXPECT_EQ(chat_with(key, "hello").status, 200);
}

TEST_F(ModerationTest, ASyncKeepsSuspensionsItsStoreWriteHasNotMadeYet) {
  start_moderated(9);
  const Session other = signup("other@example.com");
  const std::string other_key = create_key(other).second;
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  ASSERT_EQ(chat_with(other_key, "project nightingale").status, 400);
  gateway_->moderation().flush();
  const std::string subject = "user:" + other.user_id;
  // A sync whose cutoff is before the suspension began leaves it alone even if the store has
  // none (here: lifted behind the gateway's back); a later one lifts it.
  ASSERT_TRUE(db().lift_subject_suspensions(subject, "cli").ok());
  ASSERT_TRUE(gateway_->moderation().sync_suspensions(store::system_now() - seconds(60)).ok());
  EXPECT_TRUE(gateway_->moderation().tracker().suspended(subject));
  ASSERT_TRUE(gateway_->moderation().sync_suspensions(store::system_now() + seconds(1)).ok());
  EXPECT_FALSE(gateway_->moderation().tracker().suspended(subject));
}

TEST_F(ModerationTest, RetentionPurgeRunsPeriodically) {
  start_moderated(100, "[moderation.audit]\nretention_days = 1\npurge_interval_s = 1\n");
  ASSERT_EQ(chat_with(key, "project nightingale").status, 400);
  ASSERT_FALSE(events().empty());
  advance(std::chrono::duration_cast<seconds>(std::chrono::hours(49)));  // the event is two days old
  EXPECT_TRUE(eventually([&] { return events().empty(); }));
}

TEST_F(ModerationTest, AFullQueueIsNoViolationButRateLimitsAre) {
  start_moderated(0.4);  // one rate-limit hit (0.5 points) suspends
  reply_with("ok");
  engine->refuse_requests = 3;
  for (int i = 0; i < 3; ++i) {
    const Reply r = chat_with(key, "hello");
    ASSERT_EQ(r.status, 429) << r.body;
    EXPECT_NE(r.error_code(), "rate_limit_exceeded");
  }
  EXPECT_EQ(chat_with(key, "hello").status, 200);
  for (const auto& e : events()) EXPECT_NE(e.action, "rate_limited");
}

TEST_F(ModerationTest, RedactedTextNeverReachesTheLog) {
  start_moderated();
  reply_with("ok");
  init_logging({.level = LogLevel::kTrace, .format = LogFormat::kJson});
  ::testing::internal::CaptureStderr();
  const Reply chat = chat_with(key, "mail me at jane.doe@example.com please");
  const Reply streamed_chat = chat_with(key, "or at jane.doe@example.com", true);
  const Reply blocked = chat_with(key, "project nightingale, jane.doe@example.com");
  const Reply created = as(owner, "POST", "/api/conversations", "{}");
  const std::string id(created.json.at("id").as_string());
  const Reply sent =
      as(owner, "POST", "/api/conversations/" + id + "/messages", R"({"content":"I am jane.doe@example.com"})");
  gateway_->moderation().flush();
  const std::string log = ::testing::internal::GetCapturedStderr();
  init_logging(log_options_from_env({}));
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(streamed_chat.status, 200) << streamed_chat.body;
  EXPECT_EQ(blocked.status, 400) << blocked.body;
  EXPECT_EQ(sent.status, 200) << sent.body;
  EXPECT_NE(log.find(R"("msg":"request")"), std::string::npos) << log;  // the sink was captured
  EXPECT_EQ(log.find("jane.doe"), std::string::npos) << log;
  EXPECT_EQ(log.find("project nightingale"), std::string::npos) << log;
}

}  // namespace
}  // namespace parley::testing
