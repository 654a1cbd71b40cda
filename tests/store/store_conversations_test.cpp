// Conversations and message trees, on every backend.
#include <algorithm>
#include <string>

#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

using std::chrono::hours;

NewMessage msg(const Conversation& c, std::string parent, MessageRole role, std::string content) {
  NewMessage m;
  m.conversation_id = c.id;
  m.parent_id = std::move(parent);
  m.role = role;
  m.content = std::move(content);
  return m;
}

std::vector<std::string> contents(const std::vector<Message>& path) {
  std::vector<std::string> out;
  for (const Message& m : path) out.push_back(m.content);
  return out;
}

std::vector<std::string> ids(const Page<Conversation>& page) {
  std::vector<std::string> out;
  for (const Conversation& c : page.items) out.push_back(c.id);
  return out;
}

constexpr char kNoSuchConversation[] = "cnv_00000000000000000000000000";

TEST_P(StoreTest, CreateGetRenameArchiveConversation) {
  User u = make_user("u@example.com");
  ASSERT_OK_AND_ASSIGN(Conversation c, store().create_conversation(u.id, "First chat"));
  EXPECT_TRUE(c.id.starts_with("cnv_"));
  EXPECT_EQ(c.owner_id, u.id);
  EXPECT_FALSE(c.archived);
  EXPECT_EQ(c.current_leaf_id, "");
  EXPECT_EQ(c.message_count, 0);
  ASSERT_OK_AND_ASSIGN(Conversation got, store().get_conversation(u.id, c.id));
  EXPECT_EQ(got.title, "First chat");
  EXPECT_EQ(got.created_at, c.created_at);

  ASSERT_OK_AND_ASSIGN(Conversation renamed, store().rename_conversation(u.id, c.id, "Renamed"));
  EXPECT_EQ(renamed.title, "Renamed");
  EXPECT_GT(renamed.updated_at, c.updated_at);
  EXPECT_EQ(renamed.created_at, c.created_at);

  ASSERT_OK_AND_ASSIGN(Conversation arch, store().set_conversation_archived(u.id, c.id, true));
  EXPECT_TRUE(arch.archived);
  ASSERT_OK_AND_ASSIGN(auto listed, store().list_conversations(u.id, {}));
  EXPECT_TRUE(listed.items.empty());  // archived ones are hidden by default
  ConversationQuery all;
  all.include_archived = true;
  ASSERT_OK_AND_ASSIGN(auto listed_all, store().list_conversations(u.id, all));
  ASSERT_EQ(listed_all.items.size(), 1u);
  EXPECT_TRUE(listed_all.items[0].archived);
  ASSERT_OK(store().get_conversation(u.id, c.id));  // still directly reachable
  ASSERT_OK_AND_ASSIGN(Conversation unarch, store().set_conversation_archived(u.id, c.id, false));
  EXPECT_FALSE(unarch.archived);

  EXPECT_CODE(store().create_conversation("usr_00000000000000000000000000", "x"), kNotFound);
  EXPECT_CODE(store().get_conversation(u.id, kNoSuchConversation), kNotFound);
  EXPECT_CODE(store().rename_conversation(u.id, kNoSuchConversation, "x"), kNotFound);
}

TEST_P(StoreTest, TitleLimits) {
  User u = make_user("u@example.com");
  ASSERT_OK(store().create_conversation(u.id, ""));
  ASSERT_OK(store().create_conversation(u.id, std::string(kMaxTitleBytes, 't')));
  auto too_long = store().create_conversation(u.id, std::string(kMaxTitleBytes + 1, 't'));
  EXPECT_CODE(too_long, kInvalidArgument);
  EXPECT_EQ(too_long.status().detail("param"), "title");
  Conversation c = make_conversation(u);
  EXPECT_CODE(store().rename_conversation(u.id, c.id, std::string(kMaxTitleBytes + 1, 't')), kInvalidArgument);
  EXPECT_CODE(store().rename_conversation(u.id, c.id, std::string("a\0b", 3)), kInvalidArgument);
  EXPECT_CODE(store().rename_conversation(u.id, c.id, "\xFF"), kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(Conversation same, store().get_conversation(u.id, c.id));
  EXPECT_EQ(same.title, "chat");
}

TEST_P(StoreTest, ListConversationsPagesMostRecentFirst) {
  User u = make_user("u@example.com");
  std::vector<Conversation> cs;
  for (int i = 0; i < 7; ++i) cs.push_back(make_conversation(u, "chat " + std::to_string(i)));
  // A new message moves cs[2] to the top.
  ASSERT_OK(store().append_message(u.id, msg(cs[2], "", MessageRole::kUser, "hello")));
  ConversationQuery q;
  q.page = {3, 0};
  ASSERT_OK_AND_ASSIGN(auto p1, store().list_conversations(u.id, q));
  EXPECT_EQ(ids(p1), (std::vector<std::string>{cs[2].id, cs[6].id, cs[5].id}));
  EXPECT_TRUE(p1.has_more);
  q.page = {3, 3};
  ASSERT_OK_AND_ASSIGN(auto p2, store().list_conversations(u.id, q));
  EXPECT_EQ(ids(p2), (std::vector<std::string>{cs[4].id, cs[3].id, cs[1].id}));
  EXPECT_TRUE(p2.has_more);
  q.page = {3, 6};
  ASSERT_OK_AND_ASSIGN(auto p3, store().list_conversations(u.id, q));
  EXPECT_EQ(ids(p3), (std::vector<std::string>{cs[0].id}));
  EXPECT_FALSE(p3.has_more);
  q.page = {3, 9};
  ASSERT_OK_AND_ASSIGN(auto p4, store().list_conversations(u.id, q));
  EXPECT_TRUE(p4.items.empty());
  EXPECT_FALSE(p4.has_more);
  q.page = {0, 0};
  EXPECT_CODE(store().list_conversations(u.id, q), kInvalidArgument);
}

TEST_P(StoreTest, TitleSearchTreatsWildcardsLiterally) {
  User u = make_user("u@example.com");
  Conversation pct = make_conversation(u, "100% Done");
  Conversation percent = make_conversation(u, "100 percent");
  Conversation under = make_conversation(u, "a_b");
  Conversation axb = make_conversation(u, "axb");
  Conversation slash = make_conversation(u, "back\\slash");
  Conversation uni = make_conversation(u, "Résumé 日本語");
  auto search = [&](std::string text, bool archived = false) {
    ConversationQuery q;
    q.title_contains = std::move(text);
    q.include_archived = archived;
    auto r = store().list_conversations(u.id, q);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    std::vector<std::string> out = r.ok() ? ids(*r) : std::vector<std::string>{};
    std::sort(out.begin(), out.end());
    return out;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(search("%"), sorted({pct.id}));
  EXPECT_EQ(search("_"), sorted({under.id}));
  EXPECT_EQ(search("a_b"), sorted({under.id}));
  EXPECT_EQ(search("\\"), sorted({slash.id}));
  EXPECT_EQ(search("100"), sorted({pct.id, percent.id}));
  EXPECT_EQ(search("done"), sorted({pct.id}));  // case-insensitive
  EXPECT_EQ(search("DONE"), sorted({pct.id}));
  EXPECT_EQ(search("日本"), sorted({uni.id}));
  EXPECT_EQ(search("résumé"), sorted({uni.id}));
  EXPECT_EQ(search("nothing like it"), std::vector<std::string>{});
  ASSERT_OK(store().set_conversation_archived(u.id, axb.id, true));
  EXPECT_EQ(search("x"), std::vector<std::string>{});
  EXPECT_EQ(search("x", true), sorted({axb.id}));
  EXPECT_CODE(store().list_conversations(u.id, {{10, 0}, std::string(kMaxSearchBytes + 1, 'a'), false}),
              kInvalidArgument);
}

TEST_P(StoreTest, SoftDeleteHidesEverywhereAndPurgeRemoves) {
  User u = make_user("u@example.com");
  Conversation keep = make_conversation(u, "keep");
  Conversation gone = make_conversation(u, "gone");
  ASSERT_OK_AND_ASSIGN(Message m, store().append_message(u.id, msg(gone, "", MessageRole::kUser, "hi")));
  ASSERT_OK(store().soft_delete_conversation(u.id, gone.id));
  EXPECT_CODE(store().soft_delete_conversation(u.id, gone.id), kNotFound);
  EXPECT_CODE(store().get_conversation(u.id, gone.id), kNotFound);
  EXPECT_CODE(store().get_message_tree(u.id, gone.id), kNotFound);
  EXPECT_CODE(store().get_message(u.id, gone.id, m.id), kNotFound);
  EXPECT_CODE(store().append_message(u.id, msg(gone, m.id, MessageRole::kAssistant, "x")), kNotFound);
  EXPECT_CODE(store().rename_conversation(u.id, gone.id, "x"), kNotFound);
  EXPECT_CODE(store().set_conversation_archived(u.id, gone.id, true), kNotFound);
  EXPECT_CODE(store().set_current_leaf(u.id, gone.id, m.id), kNotFound);
  ConversationQuery all;
  all.include_archived = true;
  ASSERT_OK_AND_ASSIGN(auto listed, store().list_conversations(u.id, all));
  EXPECT_EQ(ids(listed), (std::vector<std::string>{keep.id}));

  // Purge only what was deleted before the cut-off.
  ASSERT_OK_AND_ASSIGN(auto none, store().purge_deleted_conversations(clock_.peek() - hours(1)));
  EXPECT_EQ(none, 0);
  ASSERT_OK_AND_ASSIGN(auto one, store().purge_deleted_conversations(clock_.peek()));
  EXPECT_EQ(one, 1);
  ASSERT_OK_AND_ASSIGN(auto again, store().purge_deleted_conversations(clock_.peek()));
  EXPECT_EQ(again, 0);
  ASSERT_OK(store().get_conversation(u.id, keep.id));
}

TEST_P(StoreTest, MessageTreeBranchesByEditAndRegenerate) {
  User u = make_user("u@example.com");
  Conversation c = make_conversation(u);
  ASSERT_OK_AND_ASSIGN(Message u1, store().append_message(u.id, msg(c, "", MessageRole::kUser, "u1")));
  EXPECT_TRUE(u1.id.starts_with("msg_"));
  EXPECT_EQ(u1.seq, 1);
  NewMessage a1_in = msg(c, u1.id, MessageRole::kAssistant, "a1");
  a1_in.model = "tiny-llama";
  a1_in.metadata = R"({"finish_reason":"stop"})";
  a1_in.prompt_tokens = 12;
  a1_in.completion_tokens = 34;
  ASSERT_OK_AND_ASSIGN(Message a1, store().append_message(u.id, a1_in));
  ASSERT_OK_AND_ASSIGN(Message u2, store().append_message(u.id, msg(c, a1.id, MessageRole::kUser, "u2")));
  ASSERT_OK_AND_ASSIGN(Message a2, store().append_message(u.id, msg(c, u2.id, MessageRole::kAssistant, "a2")));
  // Regenerate the last answer: a sibling of a2, now current.
  ASSERT_OK_AND_ASSIGN(Message a2b, store().append_message(u.id, msg(c, u2.id, MessageRole::kAssistant, "a2b")));
  ASSERT_OK_AND_ASSIGN(MessageTree t1, store().get_message_tree(u.id, c.id));
  EXPECT_EQ(t1.conversation.current_leaf_id, a2b.id);
  ASSERT_OK_AND_ASSIGN(auto path1, message_path(t1));
  EXPECT_EQ(contents(path1), (std::vector<std::string>{"u1", "a1", "u2", "a2b"}));
  // Edit u2: a sibling of u2 under a1, then its answer.
  ASSERT_OK_AND_ASSIGN(Message u2b, store().append_message(u.id, msg(c, a1.id, MessageRole::kUser, "u2b")));
  ASSERT_OK_AND_ASSIGN(Message a3, store().append_message(u.id, msg(c, u2b.id, MessageRole::kAssistant, "a3")));
  // Edit the very first message: a second root.
  NewMessage root2 = msg(c, "", MessageRole::kUser, "u1b");
  root2.make_current = false;
  ASSERT_OK_AND_ASSIGN(Message u1b, store().append_message(u.id, root2));

  ASSERT_OK_AND_ASSIGN(MessageTree t, store().get_message_tree(u.id, c.id));
  EXPECT_EQ(t.conversation.message_count, 8);
  EXPECT_EQ(t.conversation.current_leaf_id, a3.id);  // make_current=false kept it
  ASSERT_EQ(t.messages.size(), 8u);
  for (std::size_t i = 0; i < t.messages.size(); ++i) EXPECT_EQ(t.messages[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(t.messages[1].id, a1.id);
  EXPECT_EQ(t.messages[1].parent_id, u1.id);
  EXPECT_EQ(t.messages[1].role, MessageRole::kAssistant);
  EXPECT_EQ(t.messages[1].model, "tiny-llama");
  EXPECT_EQ(t.messages[1].metadata, R"({"finish_reason":"stop"})");
  EXPECT_EQ(t.messages[1].prompt_tokens, 12);
  EXPECT_EQ(t.messages[1].completion_tokens, 34);
  EXPECT_EQ(t.messages[1].created_at, a1.created_at);
  EXPECT_EQ(t.messages[7].id, u1b.id);
  EXPECT_EQ(t.messages[7].parent_id, "");
  ASSERT_OK_AND_ASSIGN(auto path, message_path(t));
  EXPECT_EQ(contents(path), (std::vector<std::string>{"u1", "a1", "u2b", "a3"}));

  // Switch back to the first branch.
  ASSERT_OK_AND_ASSIGN(Conversation sw, store().set_current_leaf(u.id, c.id, a2.id));
  EXPECT_EQ(sw.current_leaf_id, a2.id);
  EXPECT_EQ(sw.updated_at, t.conversation.updated_at);  // a view change, not activity
  ASSERT_OK_AND_ASSIGN(MessageTree t2, store().get_message_tree(u.id, c.id));
  ASSERT_OK_AND_ASSIGN(auto path2, message_path(t2));
  EXPECT_EQ(contents(path2), (std::vector<std::string>{"u1", "a1", "u2", "a2"}));
  ASSERT_OK_AND_ASSIGN(auto path_b, message_path(t2, u1b.id));
  EXPECT_EQ(contents(path_b), (std::vector<std::string>{"u1b"}));
  EXPECT_CODE(message_path(t2, "msg_00000000000000000000000000"), kNotFound);

  ASSERT_OK_AND_ASSIGN(Message got, store().get_message(u.id, c.id, u2b.id));
  EXPECT_EQ(got.content, "u2b");
  EXPECT_EQ(got.parent_id, a1.id);
}

TEST_P(StoreTest, ParentsAndLeavesMustBelongToTheConversation) {
  User u = make_user("u@example.com");
  User v = make_user("v@example.com");
  Conversation c = make_conversation(u, "c");
  Conversation d = make_conversation(u, "d");
  Conversation w = make_conversation(v, "w");
  ASSERT_OK_AND_ASSIGN(Message mc, store().append_message(u.id, msg(c, "", MessageRole::kUser, "in c")));
  ASSERT_OK_AND_ASSIGN(Message md, store().append_message(u.id, msg(d, "", MessageRole::kUser, "in d")));
  ASSERT_OK_AND_ASSIGN(Message mw, store().append_message(v.id, msg(w, "", MessageRole::kUser, "in w")));

  auto bad = store().append_message(u.id, msg(c, md.id, MessageRole::kAssistant, "x"));
  EXPECT_CODE(bad, kInvalidArgument);
  EXPECT_EQ(bad.status().detail("param"), "parent_id");
  EXPECT_CODE(store().append_message(u.id, msg(c, mw.id, MessageRole::kAssistant, "x")), kInvalidArgument);
  EXPECT_CODE(store().append_message(u.id, msg(c, "msg_00000000000000000000000000", MessageRole::kAssistant, "x")),
              kInvalidArgument);
  EXPECT_CODE(store().append_message(u.id, msg(c, "garbage", MessageRole::kAssistant, "x")), kInvalidArgument);
  EXPECT_CODE(store().set_current_leaf(u.id, c.id, md.id), kInvalidArgument);
  EXPECT_CODE(store().set_current_leaf(u.id, c.id, mw.id), kInvalidArgument);
  EXPECT_CODE(store().get_message(u.id, c.id, md.id), kNotFound);
  // Failed appends changed nothing (one transaction each).
  ASSERT_OK_AND_ASSIGN(MessageTree t, store().get_message_tree(u.id, c.id));
  EXPECT_EQ(t.conversation.message_count, 1);
  EXPECT_EQ(t.conversation.current_leaf_id, mc.id);
  ASSERT_EQ(t.messages.size(), 1u);
  // The next successful append gets the next seq.
  ASSERT_OK_AND_ASSIGN(Message next, store().append_message(u.id, msg(c, mc.id, MessageRole::kAssistant, "ok")));
  EXPECT_EQ(next.seq, 2);
}

TEST_P(StoreTest, MessageLimits) {
  User u = make_user("u@example.com");
  Conversation c = make_conversation(u);
  NewMessage m = msg(c, "", MessageRole::kUser, std::string(kMaxContentBytes + 1, 'x'));
  auto r = store().append_message(u.id, m);
  EXPECT_CODE(r, kInvalidArgument);
  EXPECT_EQ(r.status().detail("param"), "content");
  m.content = "ok";
  m.model = std::string(kMaxModelBytes + 1, 'm');
  EXPECT_CODE(store().append_message(u.id, m), kInvalidArgument);
  m.model = "";
  m.metadata = std::string(kMaxMetadataBytes + 1, '{');
  EXPECT_CODE(store().append_message(u.id, m), kInvalidArgument);
  m.metadata = "";
  m.prompt_tokens = -1;
  EXPECT_CODE(store().append_message(u.id, m), kInvalidArgument);
  m.prompt_tokens = 0;
  m.content = std::string("nul\0inside", 10);
  EXPECT_CODE(store().append_message(u.id, m), kInvalidArgument);
  // The largest content allowed round-trips.
  m.content = std::string(kMaxContentBytes, 'y');
  ASSERT_OK_AND_ASSIGN(Message big, store().append_message(u.id, m));
  ASSERT_OK_AND_ASSIGN(Message got, store().get_message(u.id, c.id, big.id));
  EXPECT_EQ(got.content.size(), kMaxContentBytes);
  EXPECT_EQ(got.content, m.content);
}

// Every owner-scoped method, called with another user's id: not found, and nothing changes.
TEST_P(StoreTest, ConversationsAreIsolatedBetweenUsers) {
  User alice = make_user("alice@example.com");
  User mallory = make_user("mallory@example.com");
  Conversation c = make_conversation(alice, "secret plans");
  ASSERT_OK_AND_ASSIGN(Message m1, store().append_message(alice.id, msg(c, "", MessageRole::kUser, "q")));
  ASSERT_OK_AND_ASSIGN(Message m2, store().append_message(alice.id, msg(c, m1.id, MessageRole::kAssistant, "a")));
  make_conversation(mallory, "mallory's own");

  EXPECT_CODE(store().get_conversation(mallory.id, c.id), kNotFound);
  EXPECT_CODE(store().rename_conversation(mallory.id, c.id, "pwned"), kNotFound);
  EXPECT_CODE(store().set_conversation_archived(mallory.id, c.id, true), kNotFound);
  EXPECT_CODE(store().soft_delete_conversation(mallory.id, c.id), kNotFound);
  EXPECT_CODE(store().append_message(mallory.id, msg(c, m2.id, MessageRole::kUser, "injected")), kNotFound);
  EXPECT_CODE(store().append_message(mallory.id, msg(c, "", MessageRole::kUser, "injected")), kNotFound);
  EXPECT_CODE(store().get_message_tree(mallory.id, c.id), kNotFound);
  EXPECT_CODE(store().get_message(mallory.id, c.id, m1.id), kNotFound);
  EXPECT_CODE(store().set_current_leaf(mallory.id, c.id, m1.id), kNotFound);
  ConversationQuery q;
  q.include_archived = true;
  q.title_contains = "secret";
  ASSERT_OK_AND_ASSIGN(auto found, store().list_conversations(mallory.id, q));
  EXPECT_TRUE(found.items.empty());
  ASSERT_OK_AND_ASSIGN(auto own, store().list_conversations(mallory.id, {}));
  ASSERT_EQ(own.items.size(), 1u);
  EXPECT_EQ(own.items[0].title, "mallory's own");

  // Mallory's conversation cannot adopt Alice's messages either.
  ASSERT_OK_AND_ASSIGN(auto mine, store().list_conversations(mallory.id, {}));
  const Conversation& mc = mine.items[0];
  EXPECT_CODE(store().append_message(mallory.id, msg(mc, m2.id, MessageRole::kUser, "x")), kInvalidArgument);
  EXPECT_CODE(store().set_current_leaf(mallory.id, mc.id, m2.id), kInvalidArgument);

  ASSERT_OK_AND_ASSIGN(MessageTree t, store().get_message_tree(alice.id, c.id));
  EXPECT_EQ(t.conversation.title, "secret plans");
  EXPECT_FALSE(t.conversation.archived);
  EXPECT_EQ(t.conversation.current_leaf_id, m2.id);
  EXPECT_EQ(t.conversation.updated_at, m2.created_at);
  ASSERT_EQ(t.messages.size(), 2u);
}

}  // namespace
}  // namespace parley::store::testing
