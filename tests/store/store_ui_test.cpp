// What the web UI added to the store (schema version 3), on every backend: conversation settings,
// usage per conversation and per day, share links, and the migration itself.
#include <cmath>

#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

UsageRecord rec(const User& u, std::string model, std::int64_t p, std::int64_t c, std::int64_t cost, Time at,
                std::string conversation_id = "") {
  UsageRecord r;
  r.user_id = u.id;
  r.model = std::move(model);
  r.prompt_tokens = p;
  r.completion_tokens = c;
  r.cost_micros = cost;
  r.at = at;
  r.conversation_id = std::move(conversation_id);
  return r;
}

Message add(Store& s, const User& u, const Conversation& c, const std::string& parent, MessageRole role,
            std::string text) {
  auto m = s.append_message(u.id, {c.id, parent, role, std::move(text)});
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? *m : Message{};
}

// ---- settings ---------------------------------------------------------------------------------

TEST_P(StoreTest, ConversationSettingsAreStoredMergedAndCleared) {
  User a = make_user("a@example.com");
  ConversationSettings initial;
  initial.system_prompt = "Be brief.";
  initial.temperature = 0.7;
  ASSERT_OK_AND_ASSIGN(Conversation c, store().create_conversation(a.id, "t", initial));
  EXPECT_EQ(c.settings, initial);
  ASSERT_OK_AND_ASSIGN(Conversation got, store().get_conversation(a.id, c.id));
  EXPECT_EQ(got.settings, initial);
  EXPECT_EQ(*got.settings.temperature, 0.7);  // exactly: the double reads back as itself

  // Fields not given stay; a given value replaces; nullopt clears.
  ConversationSettingsUpdate u;
  u.max_tokens = std::optional<std::int64_t>(256);
  u.model = std::optional<std::string>("tiny");
  u.temperature = std::optional<double>();
  ASSERT_OK_AND_ASSIGN(Conversation changed, store().update_conversation_settings(a.id, c.id, u));
  EXPECT_EQ(changed.settings.system_prompt, "Be brief.");
  EXPECT_FALSE(changed.settings.temperature.has_value());
  EXPECT_EQ(changed.settings.max_tokens, 256);
  EXPECT_EQ(changed.settings.model, "tiny");
  EXPECT_EQ(changed.updated_at, c.updated_at);  // settings do not reorder the list
  ASSERT_OK_AND_ASSIGN(auto page, store().list_conversations(a.id, {}));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].settings, changed.settings);
  // Other columns of the row are untouched, and the empty update changes nothing.
  ASSERT_OK_AND_ASSIGN(Conversation same, store().update_conversation_settings(a.id, c.id, {}));
  EXPECT_EQ(same.settings, changed.settings);
  EXPECT_EQ(same.title, "t");
}

TEST_P(StoreTest, ConversationSettingsAreCheckedAndOwnerScoped) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  Conversation c = make_conversation(a);
  const auto update = [&](auto set) {
    ConversationSettingsUpdate u;
    set(u);
    return store().update_conversation_settings(a.id, c.id, u).status();
  };
  EXPECT_CODE(update([](auto& u) { u.temperature = std::optional<double>(2.5); }), kInvalidArgument);
  EXPECT_CODE(update([](auto& u) { u.temperature = std::optional<double>(-0.1); }), kInvalidArgument);
  EXPECT_CODE(update([](auto& u) { u.temperature = std::optional<double>(std::nan("")); }), kInvalidArgument);
  EXPECT_CODE(update([](auto& u) { u.max_tokens = std::optional<std::int64_t>(0); }), kInvalidArgument);
  EXPECT_CODE(update([](auto& u) { u.system_prompt = std::optional<std::string>(std::string("a\0b", 3)); }),
              kInvalidArgument);
  EXPECT_CODE(update([](auto& u) { u.model = std::optional<std::string>(std::string(kMaxModelBytes + 1, 'm')); }),
              kInvalidArgument);
  ConversationSettings bad;
  bad.system_prompt = std::string(kMaxContentBytes + 1, 'x');
  EXPECT_CODE(store().create_conversation(a.id, "t", bad), kInvalidArgument);
  // Bob cannot read or change Alice's settings; nothing changed.
  ConversationSettingsUpdate u;
  u.model = std::optional<std::string>("m");
  EXPECT_CODE(store().update_conversation_settings(b.id, c.id, u), kNotFound);
  ASSERT_OK_AND_ASSIGN(Conversation got, store().get_conversation(a.id, c.id));
  EXPECT_EQ(got.settings, ConversationSettings{});
  ASSERT_OK(store().soft_delete_conversation(a.id, c.id));
  EXPECT_CODE(store().update_conversation_settings(a.id, c.id, u), kNotFound);
}

// ---- usage per conversation and per day ----------------------------------------------------------

TEST_P(StoreTest, UsageOfAConversationIsTheOwnersAndOnlyItsReplies) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  Conversation c1 = make_conversation(a);
  Conversation c2 = make_conversation(a);
  Conversation cb = make_conversation(b);
  const Time t = clock_.peek();
  ASSERT_OK(store().record_usage(rec(a, "m", 10, 5, 100, t, c1.id)));
  ASSERT_OK(store().record_usage(rec(a, "m", 20, 7, 200, t, c1.id)));
  ASSERT_OK(store().record_usage(rec(a, "m", 1, 1, 1, t, c2.id)));
  ASSERT_OK(store().record_usage(rec(a, "m", 1000, 1000, 1000, t)));  // /v1: no conversation
  ASSERT_OK_AND_ASSIGN(UsageTotals u1, store().conversation_usage(a.id, c1.id));
  EXPECT_EQ(u1.requests, 2);
  EXPECT_EQ(u1.prompt_tokens, 30);
  EXPECT_EQ(u1.completion_tokens, 12);
  EXPECT_EQ(u1.cost_micros, 300);
  ASSERT_OK_AND_ASSIGN(UsageTotals none, store().conversation_usage(b.id, cb.id));
  EXPECT_EQ(none.requests, 0);
  EXPECT_EQ(none.cost_micros, 0);
  // Another user's conversation: neither readable nor chargeable to it.
  EXPECT_CODE(store().conversation_usage(b.id, c1.id), kNotFound);
  EXPECT_CODE(store().record_usage(rec(b, "m", 1, 1, 1, t, c1.id)), kInvalidArgument);
  EXPECT_CODE(store().record_usage(rec(a, "m", 1, 1, 1, t, "cnv_nope")), kInvalidArgument);
  // A reply that ends after its conversation was deleted is still charged to the user.
  ASSERT_OK(store().soft_delete_conversation(a.id, c2.id));
  ASSERT_OK(store().record_usage(rec(a, "m", 2, 2, 2, t, c2.id)));
  EXPECT_CODE(store().conversation_usage(a.id, c2.id), kNotFound);
  // Usage rows outlive a purged conversation (they are the billing record).
  ASSERT_OK_AND_ASSIGN(auto purged, store().purge_deleted_conversations(clock_.peek() + hours(1)));
  EXPECT_EQ(purged, 1);
  ASSERT_OK_AND_ASSIGN(UsageTotals all, store().usage_totals(a.id, t - hours(1)));
  EXPECT_EQ(all.requests, 5);
}

TEST_P(StoreTest, UsageByDayGroupsByUtcDayAndModel) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  // 2026-12-06 00:00:00 UTC = 1796515200.
  const Time day = Time(std::chrono::seconds(1796515200));
  ASSERT_OK(store().record_usage(rec(a, "qwen", 1, 2, 3, day)));  // the first microsecond
  ASSERT_OK(store().record_usage(rec(a, "llama", 10, 20, 30, day + hours(5))));
  ASSERT_OK(store().record_usage(
      rec(a, "llama", 1, 1, 1,
          day + hours(23) + std::chrono::minutes(59) + std::chrono::seconds(59) + std::chrono::microseconds(999999))));
  ASSERT_OK(store().record_usage(rec(a, "llama", 5, 5, 5, day + hours(24))));                     // the next day
  ASSERT_OK(store().record_usage(rec(a, "llama", 7, 7, 7, day - std::chrono::microseconds(1))));  // the day before
  ASSERT_OK(store().record_usage(rec(b, "llama", 9, 9, 9, day)));                                 // another user
  ASSERT_OK_AND_ASSIGN(auto rows, store().usage_by_day(a.id, day, day + hours(48)));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].day, day);
  EXPECT_EQ(rows[0].model, "llama");  // byte order within a day
  EXPECT_EQ(rows[0].totals.requests, 2);
  EXPECT_EQ(rows[0].totals.prompt_tokens, 11);
  EXPECT_EQ(rows[0].totals.completion_tokens, 21);
  EXPECT_EQ(rows[0].totals.cost_micros, 31);
  EXPECT_EQ(rows[1].day, day);
  EXPECT_EQ(rows[1].model, "qwen");
  EXPECT_EQ(rows[2].day, day + hours(24));
  EXPECT_EQ(rows[2].totals.requests, 1);
  ASSERT_OK_AND_ASSIGN(auto earlier, store().usage_by_day(a.id, day - hours(24), day));
  ASSERT_EQ(earlier.size(), 1u);
  EXPECT_EQ(earlier[0].day, day - hours(24));
  ASSERT_OK_AND_ASSIGN(auto none, store().usage_by_day("usr_nobody", day, day + hours(48)));
  EXPECT_TRUE(none.empty());
}

// ---- share links ------------------------------------------------------------------------------

TEST_P(StoreTest, ShareShowsThePathToItsLeafAsItWasShared) {
  User a = make_user("a@example.com");
  Conversation c = make_conversation(a, "Trip");
  Message sys = add(store(), a, c, "", MessageRole::kSystem, "secret system prompt");
  Message u1 = add(store(), a, c, sys.id, MessageRole::kUser, "hi");
  Message r1 = add(store(), a, c, u1.id, MessageRole::kAssistant, "hello");
  ASSERT_OK_AND_ASSIGN(Share s, store().create_share(a.id, {c.id, "tok-1", r1.id, "Trip", 2}));
  EXPECT_EQ(s.id.substr(0, 4), "shr_");
  EXPECT_EQ(s.owner_id, a.id);
  EXPECT_FALSE(s.revoked_at.has_value());
  // Later messages (a branch, a continuation) are not part of the snapshot.
  Message r2 = add(store(), a, c, u1.id, MessageRole::kAssistant, "another answer");
  add(store(), a, c, r1.id, MessageRole::kUser, "more");
  ASSERT_OK_AND_ASSIGN(SharedConversation shared, store().find_shared_conversation("tok-1"));
  EXPECT_EQ(shared.share.id, s.id);
  ASSERT_EQ(shared.path.size(), 3u);
  EXPECT_EQ(shared.path[0].id, sys.id);  // the gateway leaves system messages out
  EXPECT_EQ(shared.path[1].id, u1.id);
  EXPECT_EQ(shared.path[2].id, r1.id);
  EXPECT_CODE(store().find_shared_conversation("tok-2"), kNotFound);
  EXPECT_CODE(store().find_shared_conversation(""), kNotFound);
  EXPECT_CODE(store().find_shared_conversation(std::string("tok\0", 4)), kNotFound);
  // The same token twice is refused (the gateway's are random: this never happens by chance).
  EXPECT_CODE(store().create_share(a.id, {c.id, "tok-1", r2.id, "Trip", 2}), kAlreadyExists);
}

TEST_P(StoreTest, SharesAreListedNewestFirstRevokedOnceAndEndWithTheConversation) {
  User a = make_user("a@example.com");
  Conversation c = make_conversation(a);
  Message u1 = add(store(), a, c, "", MessageRole::kUser, "hi");
  ASSERT_OK_AND_ASSIGN(Share s1, store().create_share(a.id, {c.id, "tok-1", u1.id, "", 1}));
  ASSERT_OK_AND_ASSIGN(Share s2, store().create_share(a.id, {c.id, "tok-2", u1.id, "", 1}));
  ASSERT_OK_AND_ASSIGN(Share revoked, store().revoke_share(a.id, s1.id));
  ASSERT_TRUE(revoked.revoked_at.has_value());
  ASSERT_OK_AND_ASSIGN(Share again, store().revoke_share(a.id, s1.id));
  EXPECT_EQ(again.revoked_at, revoked.revoked_at);
  ASSERT_OK_AND_ASSIGN(auto list, store().list_shares(a.id, c.id));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, s2.id);
  EXPECT_EQ(list[1].id, s1.id);
  EXPECT_TRUE(list[1].revoked_at.has_value());
  EXPECT_CODE(store().find_shared_conversation("tok-1"), kNotFound);
  ASSERT_OK(store().find_shared_conversation("tok-2"));
  // A disabled owner's links stop working, and work again when the account is enabled.
  ASSERT_OK(store().update_user(a.id, {.disabled = true}));
  EXPECT_CODE(store().find_shared_conversation("tok-2"), kNotFound);
  ASSERT_OK(store().update_user(a.id, {.disabled = false}));
  ASSERT_OK(store().find_shared_conversation("tok-2"));
  // Deleting the conversation ends every share, and purging removes them.
  ASSERT_OK(store().soft_delete_conversation(a.id, c.id));
  EXPECT_CODE(store().find_shared_conversation("tok-2"), kNotFound);
  EXPECT_CODE(store().list_shares(a.id, c.id), kNotFound);
  EXPECT_CODE(store().revoke_share(a.id, s2.id), kNotFound);
  ASSERT_OK(store().purge_deleted_conversations(clock_.peek() + hours(1)));
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM shares"), 0);
}

TEST_P(StoreTest, SharesAreOwnerScoped) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  Conversation c = make_conversation(a);
  Conversation other = make_conversation(a);
  Message u1 = add(store(), a, c, "", MessageRole::kUser, "hi");
  Message elsewhere = add(store(), a, other, "", MessageRole::kUser, "elsewhere");
  ASSERT_OK_AND_ASSIGN(Share s, store().create_share(a.id, {c.id, "tok-1", u1.id, "", 1}));
  // Bob can neither share, list nor revoke anything of Alice's: all "not found".
  EXPECT_CODE(store().create_share(b.id, {c.id, "tok-b", u1.id, "", 1}), kNotFound);
  EXPECT_CODE(store().list_shares(b.id, c.id), kNotFound);
  EXPECT_CODE(store().revoke_share(b.id, s.id), kNotFound);
  EXPECT_CODE(store().revoke_share(a.id, "shr_00000000000000000000000000"), kNotFound);
  EXPECT_CODE(store().revoke_share(a.id, "not an id"), kNotFound);
  // A leaf from another conversation is not a snapshot of this one.
  EXPECT_CODE(store().create_share(a.id, {c.id, "tok-x", elsewhere.id, "", 1}), kInvalidArgument);
  EXPECT_CODE(store().create_share(a.id, {c.id, "tok-x", "msg_00000000000000000000000000", "", 1}), kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto list, store().list_shares(a.id, c.id));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].revoked_at.has_value());
  ASSERT_OK_AND_ASSIGN(auto none, store().list_shares(a.id, other.id));
  EXPECT_TRUE(none.empty());
}

// ---- the migration --------------------------------------------------------------------------------

// A version 2 database with a conversation and usage: version 3 adds the columns and the table
// and changes no row.
TEST_P(StoreTest, MigrationThreeKeepsRowsAndSetsNothing) {
  User a = make_user("a@example.com");
  Conversation c = make_conversation(a, "old");
  add(store(), a, c, "", MessageRole::kUser, "hi");
  store_.reset();
  downgrade_to_schema_2();
  exec_raw(
      "INSERT INTO usage_records (id, user_id, model, prompt_tokens, completion_tokens, cost_micros, at) "
      "VALUES ('use_aaaaaaaaaaaaaaaaaaaaaaaaaa', '" +
      a.id + "', 'm', 1, 2, 3, 4)");
  ASSERT_OK_AND_ASSIGN(store_, open());
  EXPECT_EQ(store().schema_version(), latest_schema_version());
  ASSERT_OK_AND_ASSIGN(Conversation got, store().get_conversation(a.id, c.id));
  EXPECT_EQ(got.title, "old");
  EXPECT_EQ(got.message_count, 1);
  EXPECT_EQ(got.settings, ConversationSettings{});
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM usage_records WHERE conversation_id IS NULL"), 1);
  ASSERT_OK_AND_ASSIGN(UsageTotals u, store().conversation_usage(a.id, c.id));
  EXPECT_EQ(u.requests, 0);
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM shares"), 0);
}

}  // namespace
}  // namespace parley::store::testing
