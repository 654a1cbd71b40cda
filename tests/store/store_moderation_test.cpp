// The moderation audit log and suspensions (schema version 4), on every backend.
#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

ModerationEvent event(std::string user, std::string rule, std::string action, std::string stage = "input") {
  ModerationEvent e;
  e.user_id = std::move(user);
  e.address = "203.0.113.7";
  e.request_id = "req-1";
  e.rule = std::move(rule);
  e.action = std::move(action);
  e.stage = std::move(stage);
  e.excerpt = "my [redacted:email] is";
  return e;
}

TEST_P(StoreTest, ModerationEventsAreRecordedAndFiltered) {
  ASSERT_OK_AND_ASSIGN(ModerationEvent a, store().record_moderation_event(event("usr_a", "pii", "redact")));
  EXPECT_EQ(a.id.rfind("mev_", 0), 0u);
  EXPECT_GT(a.at, Time{});
  ASSERT_OK_AND_ASSIGN(ModerationEvent b,
                       store().record_moderation_event(event("usr_b", "secrets", "block", "output")));
  ASSERT_OK_AND_ASSIGN(ModerationEvent c, store().record_moderation_event(event("", "", "rate_limited", "")));
  ModerationEventQuery q;
  ASSERT_OK_AND_ASSIGN(auto all, store().list_moderation_events(q));
  ASSERT_EQ(all.items.size(), 3u);
  EXPECT_EQ(all.items[0].id, c.id);  // newest first
  EXPECT_EQ(all.items[2].id, a.id);
  EXPECT_EQ(all.items[2].excerpt, "my [redacted:email] is");
  EXPECT_EQ(all.items[2].address, "203.0.113.7");
  EXPECT_EQ(all.items[2].request_id, "req-1");
  EXPECT_EQ(all.items[2].at, a.at);
  q.user_id = "usr_b";
  ASSERT_OK_AND_ASSIGN(auto by_user, store().list_moderation_events(q));
  ASSERT_EQ(by_user.items.size(), 1u);
  EXPECT_EQ(by_user.items[0].rule, "secrets");
  EXPECT_EQ(by_user.items[0].stage, "output");
  q = {};
  q.action = "block";
  q.stage = "output";
  ASSERT_OK_AND_ASSIGN(auto blocks, store().list_moderation_events(q));
  ASSERT_EQ(blocks.items.size(), 1u);
  EXPECT_EQ(blocks.items[0].id, b.id);
  q = {};
  q.from = b.at;
  q.to = c.at;
  ASSERT_OK_AND_ASSIGN(auto window, store().list_moderation_events(q));
  ASSERT_EQ(window.items.size(), 1u);
  EXPECT_EQ(window.items[0].id, b.id);
  q = {};
  q.page.limit = 2;
  ASSERT_OK_AND_ASSIGN(auto first, store().list_moderation_events(q));
  EXPECT_EQ(first.items.size(), 2u);
  EXPECT_TRUE(first.has_more);
}

TEST_P(StoreTest, ModerationEventsAreChecked) {
  EXPECT_CODE(store().record_moderation_event(event("u", "r", "Block")), kInvalidArgument);
  EXPECT_CODE(store().record_moderation_event(event("u", "r", "")), kInvalidArgument);
  ModerationEvent e = event("u", "r", "flag");
  e.excerpt = std::string(kMaxAuditExcerptBytes + 1, 'x');
  EXPECT_CODE(store().record_moderation_event(e), kInvalidArgument);
  e = event("u", std::string("a\0b", 3), "flag");
  EXPECT_CODE(store().record_moderation_event(e), kInvalidArgument);
}

TEST_P(StoreTest, ModerationEventsArePurgedAfterTheirRetention) {
  ModerationEvent old = event("u", "r", "flag");
  old.at = clock_.peek() - hours(24 * 100);
  ASSERT_OK(store().record_moderation_event(old).status());
  ASSERT_OK(store().record_moderation_event(event("u", "r", "flag")).status());
  ASSERT_OK_AND_ASSIGN(std::int64_t n, store().purge_moderation_events(clock_.peek() - hours(24 * 90)));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(auto rest, store().list_moderation_events({}));
  EXPECT_EQ(rest.items.size(), 1u);
}

TEST_P(StoreTest, SuspensionsAreCreatedListedAndLifted) {
  const Time now = clock_.peek();
  ASSERT_OK_AND_ASSIGN(StoredSuspension s,
                       store().create_suspension({"user:usr_a", "blocked", 52.5, now + hours(1), ""}));
  EXPECT_EQ(s.id.rfind("sus_", 0), 0u);
  ASSERT_OK(store().create_suspension({"addr:203.0.113.7", "rate_limited", 60, now + hours(2), ""}).status());
  ASSERT_OK(store().create_suspension({"user:usr_a", "admin", 0, now - seconds(1), "usr_admin"}).status());  // over
  SuspensionQuery q;
  q.active_at = clock_.peek();
  ASSERT_OK_AND_ASSIGN(auto active, store().list_suspensions(q));
  ASSERT_EQ(active.items.size(), 2u);
  q.subject = "user:usr_a";
  ASSERT_OK_AND_ASSIGN(auto mine, store().list_suspensions(q));
  ASSERT_EQ(mine.items.size(), 1u);
  EXPECT_EQ(mine.items[0].reason, "blocked");
  EXPECT_DOUBLE_EQ(mine.items[0].score, 52.5);
  EXPECT_EQ(mine.items[0].until, now + hours(1));
  EXPECT_TRUE(mine.items[0].active_at(clock_.peek()));
  ASSERT_OK_AND_ASSIGN(auto everything, store().list_suspensions({}));
  EXPECT_EQ(everything.items.size(), 3u);

  ASSERT_OK_AND_ASSIGN(StoredSuspension lifted, store().lift_suspension(s.id, "usr_admin"));
  ASSERT_TRUE(lifted.lifted_at);
  EXPECT_EQ(lifted.lifted_by, "usr_admin");
  ASSERT_OK_AND_ASSIGN(StoredSuspension again, store().lift_suspension(s.id, "usr_other"));
  EXPECT_EQ(again.lifted_by, "usr_admin");
  EXPECT_EQ(again.lifted_at, lifted.lifted_at);
  ASSERT_OK_AND_ASSIGN(auto after, store().list_suspensions(q));
  EXPECT_TRUE(after.items.empty());
  EXPECT_CODE(store().lift_suspension("sus_aaaaaaaaaaaaaaaaaaaaaaaaaa", "x"), kNotFound);
  EXPECT_CODE(store().lift_suspension("nonsense", "x"), kNotFound);

  ASSERT_OK_AND_ASSIGN(std::int64_t n, store().lift_subject_suspensions("addr:203.0.113.7", "usr_admin"));
  EXPECT_EQ(n, 1);
  q = {};
  q.active_at = clock_.peek();
  ASSERT_OK_AND_ASSIGN(auto none, store().list_suspensions(q));
  EXPECT_TRUE(none.items.empty());
  EXPECT_CODE(store().create_suspension({"", "blocked", 0, now, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_suspension({"user:x", "Blocked!", 0, now, ""}), kInvalidArgument);
}

TEST_P(StoreTest, EndedSuspensionsArePurged) {
  const Time now = clock_.peek();
  ASSERT_OK(store().create_suspension({"user:a", "blocked", 1, now - hours(48), ""}).status());
  ASSERT_OK(store().create_suspension({"user:b", "blocked", 1, now + hours(48), ""}).status());
  ASSERT_OK_AND_ASSIGN(std::int64_t n, store().purge_suspensions(now - hours(24)));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(auto rest, store().list_suspensions({}));
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_EQ(rest.items[0].subject, "user:b");
}

// A version 3 database with users: version 4 adds the two tables and changes nothing else.
TEST_P(StoreTest, MigrationFourAddsTheModerationTables) {
  User a = make_user("a@example.com");
  store_.reset();
  downgrade_to_schema_3();
  ASSERT_OK_AND_ASSIGN(store_, open());
  EXPECT_EQ(store().schema_version(), latest_schema_version());
  ASSERT_OK_AND_ASSIGN(User got, store().get_user(a.id));
  EXPECT_EQ(got.email, "a@example.com");
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM moderation_events"), 0);
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM suspensions"), 0);
  ASSERT_OK(store().record_moderation_event(event(a.id, "r", "flag")).status());
}

}  // namespace
}  // namespace parley::store::testing
