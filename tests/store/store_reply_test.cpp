// Streamed replies saved as they stream (issue 18): a reply row created `streaming`, rewritten at
// each checkpoint, finished once; replies left streaming by a dead process swept to `interrupted`.
#include <string>

#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

using std::chrono::seconds;

class ReplyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    owner_ = make_user("a@example.com");
    conv_ = make_conversation(owner_);
    NewMessage q;
    q.conversation_id = conv_.id;
    q.content = "hello";
    ASSERT_OK_AND_ASSIGN(question_, store().append_message(owner_.id, q));
  }

  Message streaming_reply(std::string content = "") {
    NewMessage r;
    r.conversation_id = conv_.id;
    r.parent_id = question_.id;
    r.role = MessageRole::kAssistant;
    r.content = std::move(content);
    r.status = MessageStatus::kStreaming;
    Result<Message> m = store().append_message(owner_.id, r);
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    return m.ok() ? *m : Message{};
  }

  ReplyUpdate update(const Message& m, std::string content, MessageStatus status) {
    ReplyUpdate u;
    u.conversation_id = conv_.id;
    u.message_id = m.id;
    u.content = std::move(content);
    u.metadata = "{}";
    u.status = status;
    u.prompt_tokens = 5;
    u.completion_tokens = 7;
    return u;
  }

  User owner_;
  Conversation conv_;
  Message question_;
};

TEST_P(ReplyTest, StatusNamesRoundTrip) {
  for (const MessageStatus s : {MessageStatus::kComplete, MessageStatus::kStreaming, MessageStatus::kStopped,
                                MessageStatus::kFiltered, MessageStatus::kError, MessageStatus::kInterrupted}) {
    EXPECT_EQ(parse_message_status(message_status_name(s)), s);
  }
  EXPECT_EQ(parse_message_status("nonsense"), MessageStatus::kComplete);
}

TEST_P(ReplyTest, MessagesAreCompleteByDefault) {
  EXPECT_EQ(question_.status, MessageStatus::kComplete);
  ASSERT_OK_AND_ASSIGN(Message got, store().get_message(owner_.id, conv_.id, question_.id));
  EXPECT_EQ(got.status, MessageStatus::kComplete);
  EXPECT_EQ(got.updated_at, got.created_at);
}

TEST_P(ReplyTest, CheckpointsThenFinalState) {
  const Message m = streaming_reply();
  EXPECT_EQ(m.status, MessageStatus::kStreaming);
  ASSERT_OK_AND_ASSIGN(Conversation c, store().get_conversation(owner_.id, conv_.id));
  EXPECT_EQ(c.current_leaf_id, m.id);  // the reply being streamed is the current leaf already

  ASSERT_OK_AND_ASSIGN(Message one, store().update_reply(owner_.id, update(m, "Hel", MessageStatus::kStreaming)));
  EXPECT_EQ(one.content, "Hel");
  EXPECT_EQ(one.status, MessageStatus::kStreaming);
  EXPECT_GT(one.updated_at, m.updated_at);
  ASSERT_OK_AND_ASSIGN(Message done, store().update_reply(owner_.id, update(m, "Hello!", MessageStatus::kComplete)));
  EXPECT_EQ(done.status, MessageStatus::kComplete);
  EXPECT_EQ(done.seq, m.seq);
  EXPECT_EQ(done.parent_id, question_.id);

  ASSERT_OK_AND_ASSIGN(MessageTree tree, store().get_message_tree(owner_.id, conv_.id));
  ASSERT_EQ(tree.messages.size(), 2u);
  EXPECT_EQ(tree.messages[1].content, "Hello!");
  EXPECT_EQ(tree.messages[1].status, MessageStatus::kComplete);
  EXPECT_EQ(tree.messages[1].completion_tokens, 7);
  EXPECT_EQ(tree.conversation.message_count, 2);

  // Final: immutable.
  EXPECT_CODE(store().update_reply(owner_.id, update(m, "again", MessageStatus::kStreaming)), kFailedPrecondition);
  EXPECT_CODE(store().update_reply(owner_.id, update(question_, "edit", MessageStatus::kComplete)),
              kFailedPrecondition);
}

TEST_P(ReplyTest, UpdatesAreOwnerScopedAndChecked) {
  const Message m = streaming_reply();
  const User other = make_user("b@example.com");
  EXPECT_CODE(store().update_reply(other.id, update(m, "x", MessageStatus::kStreaming)), kNotFound);
  ReplyUpdate bad = update(m, std::string("a\0b", 3), MessageStatus::kStreaming);
  EXPECT_CODE(store().update_reply(owner_.id, bad), kInvalidArgument);
  ReplyUpdate missing = update(m, "x", MessageStatus::kStreaming);
  missing.message_id = "msg_00000000000000000000000000";
  EXPECT_CODE(store().update_reply(owner_.id, missing), kNotFound);
  ASSERT_OK(store().soft_delete_conversation(owner_.id, conv_.id));
  EXPECT_CODE(store().update_reply(owner_.id, update(m, "x", MessageStatus::kComplete)), kNotFound);
}

TEST_P(ReplyTest, StaleStreamsBecomeInterruptedOnly) {
  const Message old_stream = streaming_reply("partial");
  ASSERT_OK(store().update_reply(owner_.id, update(old_stream, "partial answer", MessageStatus::kStreaming)).status());
  clock_.advance(seconds(120));
  const Time bound = clock_.peek() - seconds(60);
  const Message live = streaming_reply("live");
  const Message finished = streaming_reply();
  ASSERT_OK(store().update_reply(owner_.id, update(finished, "done", MessageStatus::kComplete)).status());

  ASSERT_OK_AND_ASSIGN(std::int64_t n, store().interrupt_stale_replies(bound));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(Message a, store().get_message(owner_.id, conv_.id, old_stream.id));
  EXPECT_EQ(a.status, MessageStatus::kInterrupted);
  EXPECT_EQ(a.content, "partial answer");
  ASSERT_OK_AND_ASSIGN(Message b, store().get_message(owner_.id, conv_.id, live.id));
  EXPECT_EQ(b.status, MessageStatus::kStreaming);
  ASSERT_OK_AND_ASSIGN(Message c, store().get_message(owner_.id, conv_.id, finished.id));
  EXPECT_EQ(c.status, MessageStatus::kComplete);

  // Everything still streaming, with a bound in the future (a single-process SQLite start-up).
  ASSERT_OK_AND_ASSIGN(n, store().interrupt_stale_replies(clock_.peek() + seconds(1)));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(n, store().interrupt_stale_replies(clock_.peek() + seconds(1)));
  EXPECT_EQ(n, 0);

  // A live stream swept by mistake (a stall longer than the bound) comes back with its next
  // checkpoint, and still ends in its own final state.
  ASSERT_OK_AND_ASSIGN(Message back,
                       store().update_reply(owner_.id, update(live, "live more", MessageStatus::kStreaming)));
  EXPECT_EQ(back.status, MessageStatus::kStreaming);
  ASSERT_OK_AND_ASSIGN(Message end, store().update_reply(owner_.id, update(live, "live end", MessageStatus::kStopped)));
  EXPECT_EQ(end.status, MessageStatus::kStopped);
}

// A version 4 database with messages: version 5 reads them as complete, written at creation.
TEST_P(ReplyTest, MigrationFiveKeepsExistingMessagesFinal) {
  store_.reset();
  downgrade_to_schema_4();
  ASSERT_OK_AND_ASSIGN(store_, open());
  EXPECT_EQ(store().schema_version(), latest_schema_version());
  ASSERT_OK_AND_ASSIGN(Message got, store().get_message(owner_.id, conv_.id, question_.id));
  EXPECT_EQ(got.status, MessageStatus::kComplete);
  EXPECT_EQ(got.updated_at, got.created_at);
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM messages WHERE status = 'streaming'"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReplyTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         backend_param_name);

}  // namespace
}  // namespace parley::store::testing
