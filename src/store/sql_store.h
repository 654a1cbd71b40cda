// SqlStore: the Store over a sql::Db, shared by SQLite and PostgreSQL. The statements are written
// once in the subset both dialects accept (RETURNING, LIMIT/OFFSET, partial indexes, `?`
// placeholders that the PostgreSQL driver rewrites); the drivers own everything that differs.
// Internal to src/store: users get a Store from open_store().
//
// Split by entity: sql_store_accounts.cpp (users, sessions, API keys), sql_store_conversations.cpp
// (conversations, messages), sql_store_usage.cpp, sql_store_shares.cpp; sql_store.cpp holds the
// row decoders.
#pragma once

#include <memory>

#include "store/read_replicas.h"
#include "store/sql_db.h"
#include "store/store.h"

namespace parley::store {

// Column lists, in the order the decoders below read them.
#define PARLEY_USER_COLS "id, email, display_name, role, disabled, password_hash, created_at, updated_at"
#define PARLEY_SESSION_COLS "token_hash, user_id, created_at, expires_at"
#define PARLEY_KEY_COLS "id, user_id, name, prefix, key_hash, scopes, created_at, expires_at, last_used_at, revoked_at"
#define PARLEY_CONV_COLS                                                                    \
  "id, owner_id, title, created_at, updated_at, archived, current_leaf_id, message_count, " \
  "settings_system_prompt, settings_temperature, settings_max_tokens, settings_model"
#define PARLEY_MSG_COLS_M                                                                           \
  "m.id, m.conversation_id, m.parent_id, m.role, m.content, m.model, m.metadata, m.prompt_tokens, " \
  "m.completion_tokens, m.created_at, m.seq, m.status, m.updated_at"
#define PARLEY_MSG_COLS                                                                                \
  "id, conversation_id, parent_id, role, content, model, metadata, prompt_tokens, completion_tokens, " \
  "created_at, seq, status, updated_at"
#define PARLEY_SHARE_COLS_S                                                                                   \
  "s.id, s.token, s.owner_id, s.conversation_id, s.leaf_message_id, s.title, s.message_count, s.created_at, " \
  "s.revoked_at"

User decode_user(const sql::Rows& rows, std::size_t r);
Session decode_session(const sql::Rows& rows, std::size_t r);
ApiKey decode_key(const sql::Rows& rows, std::size_t r);
Conversation decode_conversation(const sql::Rows& rows, std::size_t r);
Message decode_message(const sql::Rows& rows, std::size_t r);
Share decode_share(const sql::Rows& rows, std::size_t r);

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<sql::Db> db, Clock clock, int version)
      : db_(std::move(db)), clock_(std::move(clock)), version_(version) {}

  std::string_view backend() const override { return db_->dialect() == sql::Dialect::kSqlite ? "sqlite" : "postgres"; }
  int schema_version() const override { return version_; }
  ReplicaStats replica_stats() const override { return replicas_ ? replicas_->stats() : ReplicaStats{}; }

  // Owner-scoped reads (conversations, messages) go to these when they fit (read_replicas.h).
  void set_replicas(std::unique_ptr<ReadReplicas> replicas) { replicas_ = std::move(replicas); }

  Result<User> create_user(const NewUser& user) override;
  Result<User> get_user(std::string_view user_id) override;
  Result<User> find_user_by_email(std::string_view email) override;
  Result<Page<User>> list_users(const UserQuery& query) override;
  Result<User> update_user(std::string_view user_id, const UserUpdate& update) override;
  Result<std::int64_t> count_users() override;

  Status create_session(const Session& session) override;
  Result<Session> find_session(std::string_view token_hash) override;
  Status extend_session(std::string_view token_hash, Time expires_at) override;
  Status delete_session(std::string_view token_hash) override;
  Result<std::int64_t> delete_user_sessions(std::string_view user_id) override;
  Result<std::int64_t> delete_expired_sessions() override;

  Result<ApiKey> create_api_key(const NewApiKey& key) override;
  Result<ApiKey> find_api_key_by_hash(std::string_view hash) override;
  Result<std::vector<ApiKey>> list_api_keys(std::string_view user_id) override;
  Result<ApiKey> revoke_api_key(std::string_view user_id, std::string_view key_id) override;
  Status touch_api_key(std::string_view user_id, std::string_view key_id, Time used_at) override;

  using Store::create_conversation;
  Result<Conversation> create_conversation(std::string_view owner_id, std::string_view title,
                                           const ConversationSettings& settings) override;
  Result<Conversation> get_conversation(std::string_view owner_id, std::string_view id) override;
  Result<Page<Conversation>> list_conversations(std::string_view owner_id, const ConversationQuery& query) override;
  Result<Conversation> rename_conversation(std::string_view owner_id, std::string_view id,
                                           std::string_view title) override;
  Result<Conversation> set_conversation_archived(std::string_view owner_id, std::string_view id,
                                                 bool archived) override;
  Result<Conversation> update_conversation_settings(std::string_view owner_id, std::string_view id,
                                                    const ConversationSettingsUpdate& update) override;
  Status soft_delete_conversation(std::string_view owner_id, std::string_view id) override;
  Result<std::int64_t> purge_deleted_conversations(Time deleted_before) override;

  Result<Message> append_message(std::string_view owner_id, const NewMessage& message) override;
  Result<Message> get_message(std::string_view owner_id, std::string_view conversation_id,
                              std::string_view message_id) override;
  Result<MessageTree> get_message_tree(std::string_view owner_id, std::string_view conversation_id) override;
  Result<Conversation> set_current_leaf(std::string_view owner_id, std::string_view conversation_id,
                                        std::string_view message_id) override;
  Result<Message> update_reply(std::string_view owner_id, const ReplyUpdate& update) override;
  Result<std::int64_t> interrupt_stale_replies(Time written_before) override;

  Status record_usage(const UsageRecord& record) override;
  Status ping() override { return db_->ping(); }
  Result<std::vector<ModelUsage>> usage_summary(std::string_view user_id, Time from, Time to) override;
  Result<std::vector<UserUsage>> usage_by_user(Time from, Time to) override;
  Result<UsageTotals> usage_totals(std::string_view user_id, Time since, std::string_view api_key_id) override;
  Result<std::vector<DayUsage>> usage_by_day(std::string_view user_id, Time from, Time to) override;
  Result<UsageTotals> conversation_usage(std::string_view owner_id, std::string_view conversation_id) override;

  Result<Share> create_share(std::string_view owner_id, const NewShare& share) override;
  Result<std::vector<Share>> list_shares(std::string_view owner_id, std::string_view conversation_id) override;
  Result<Share> revoke_share(std::string_view owner_id, std::string_view share_id) override;
  Result<SharedConversation> find_shared_conversation(std::string_view token) override;

  Result<ModerationEvent> record_moderation_event(const ModerationEvent& event) override;
  Result<Page<ModerationEvent>> list_moderation_events(const ModerationEventQuery& query) override;
  Result<std::int64_t> purge_moderation_events(Time before) override;
  Result<StoredSuspension> create_suspension(const NewSuspension& suspension) override;
  Result<Page<StoredSuspension>> list_suspensions(const SuspensionQuery& query) override;
  Result<StoredSuspension> lift_suspension(std::string_view id, std::string_view lifted_by) override;
  Result<std::int64_t> lift_subject_suspensions(std::string_view subject, std::string_view lifted_by) override;
  Result<std::int64_t> purge_suspensions(Time before) override;

 private:
  Time now() const { return clock_(); }
  // One write statement in its own transaction.
  Result<sql::Rows> write(std::string_view sql, std::initializer_list<sql::Param> params);
  Result<sql::Rows> read(std::string_view sql, std::initializer_list<sql::Param> params) {
    return db_->query(sql, params);
  }

  // Runs `fn` on a replica fit for `owner`'s reads, else on the primary.
  Status read_owned(std::string_view owner, const std::function<Status(sql::Db&)>& fn) {
    return replicas_ ? replicas_->read(owner, fn) : fn(*db_);
  }
  // Declared at the top of a method that writes `owner`'s conversations: when the method returns
  // (the write committed, or failed), their reads stay on the primary until the replicas have it.
  struct WriteMark {
    SqlStore& store;
    std::string_view owner;
    ~WriteMark() {
      if (store.replicas_) store.replicas_->note_write(owner);
    }
  };

  std::unique_ptr<sql::Db> db_;
  std::unique_ptr<ReadReplicas> replicas_;  // declared after db_: destroyed first (it refers to it)
  Clock clock_;
  int version_;
};

}  // namespace parley::store
