// Store: the persistence of Parley's accounts, credentials, conversations and usage, behind one
// interface with two real implementations (open_store.h picks one from a URL):
//
//   SQLite      the embedded default: one file (`sqlite:DIR/parley.db`), WAL, synchronous=FULL.
//   PostgreSQL  `postgres://...` through libpq, for deployments with several gateway processes.
//
// Both run the same SQL (store/sql_store.cpp) over a small driver (store/sql_db.h); the same test
// suite (tests/store) runs against both. docs/store.md has the schema, ids, durability and pooling.
//
// Tenant isolation. Every method on conversations, messages, API keys and usage takes the owner's
// user id and matches it in SQL: a row of another user is never returned or changed, and a wrong
// owner is indistinguishable from a missing row (kNotFound). The only lookups without an owner
// are those by a secret's hash (find_session, find_api_key_by_hash): the secret is the proof.
//
// Errors: kNotFound (missing, or not the caller's), kAlreadyExists (unique violations such as a
// duplicate email or a look-alike of one, store/email.h), kInvalidArgument (a value over its
// documented limit, invalid UTF-8, a NUL byte, a parent message from another conversation...),
// kUnavailable (the database cannot be reached, the pool is exhausted past its timeout, SQLite
// stayed busy, the disk is full or read-only or fails), kFailedPrecondition (schema newer than this binary), kDataLoss
// (corrupt file), kInternal. A call that fails changes nothing (each write is one transaction).
//
// Thread safety: a Store may be called from any number of threads at once; it owns a bounded set
// of connections (see open_store.h) and every method is safe to call concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace parley::store {

// Wall-clock instants, microseconds since the Unix epoch (UTC); stored as 64-bit integers.
using Time = std::chrono::sys_time<std::chrono::microseconds>;
using Clock = std::function<Time()>;
Time system_now();

// Limits on what the store accepts (bytes of UTF-8 unless said otherwise). Every text field must
// also be valid UTF-8 without NUL bytes (PostgreSQL's text type cannot hold NUL; we refuse it on
// both backends so they behave alike). Over a limit: kInvalidArgument naming the field.
inline constexpr std::size_t kMaxEmailBytes = 254;  // RFC 5321 path limit
inline constexpr std::size_t kMaxDisplayNameBytes = 200;
inline constexpr std::size_t kMaxPasswordHashBytes = 1024;  // opaque (PHC string)
inline constexpr std::size_t kMaxSecretHashBytes = 256;     // session token / API key hashes
inline constexpr std::size_t kMaxKeyNameBytes = 128;
inline constexpr std::size_t kMaxKeyPrefixBytes = 32;
inline constexpr std::size_t kMaxScopes = 32;
inline constexpr std::size_t kMaxScopeBytes = 64;  // each scope: [A-Za-z0-9:._-]+
inline constexpr std::size_t kMaxTitleBytes = 512;
inline constexpr std::size_t kMaxContentBytes = 4u << 20;   // one message
inline constexpr std::size_t kMaxMetadataBytes = 2u << 20;  // opaque per-message metadata (JSON)
inline constexpr std::size_t kMaxModelBytes = 256;
inline constexpr std::size_t kMaxSearchBytes = 256;
inline constexpr int kMaxPageLimit = 200;
inline constexpr double kMaxTemperature = 2.0;                    // conversation settings: 0..2
inline constexpr std::int64_t kMaxSettingsMaxTokens = INT32_MAX;  // conversation settings: 1..
inline constexpr std::size_t kMaxShareTokenBytes = 128;           // a share link's secret

// Ids are random opaque text: a type prefix, '_', then 26 base32 characters (128 random bits
// from the OS), e.g. "cnv_0q3z...". They do not reveal counts or creation order and cannot be
// enumerated in URLs. An id that is not of this shape is simply not found.
inline constexpr std::size_t kMaxIdBytes = 40;

// ---- users and sessions -------------------------------------------------------------------

enum class UserRole { kUser, kAdmin };
std::string_view user_role_name(UserRole role);  // "user", "admin"

struct User {
  std::string id;
  std::string email;  // normalized (store/email.h; accounts made before schema version 2: as given)
  std::string display_name;
  UserRole role = UserRole::kUser;
  bool disabled = false;
  std::string password_hash;  // opaque to the store; empty: no password login
  Time created_at{};
  Time updated_at{};
};

struct NewUser {
  std::string email;  // normalized by create_user (store/email.h), then 3..kMaxEmailBytes, one '@' inside
  std::string display_name;
  UserRole role = UserRole::kUser;
  std::string password_hash;
};

// Fields left empty are unchanged.
struct UserUpdate {
  std::optional<std::string> display_name;
  std::optional<UserRole> role;
  std::optional<bool> disabled;
  std::optional<std::string> password_hash;
};

// limit 1..kMaxPageLimit, offset >= 0.
struct PageRequest {
  int limit = 50;
  int offset = 0;
};

template <typename T>
struct Page {
  std::vector<T> items;
  bool has_more = false;  // another page follows
};

struct UserQuery {
  PageRequest page;
  std::string search;  // substring of email or display name, case-insensitive (ASCII); literal
};

// A login session; the store keeps only the hash of the cookie's secret.
struct Session {
  std::string token_hash;
  std::string user_id;
  Time created_at{};
  Time expires_at{};
};

// ---- API keys -------------------------------------------------------------------------------

struct ApiKey {
  std::string id;
  std::string user_id;
  std::string name;
  std::string prefix;  // the visible start of the key, shown in lists ("pk-3fa9...")
  std::string hash;    // hash of the whole secret; the store never sees the secret
  std::vector<std::string> scopes;
  Time created_at{};
  std::optional<Time> expires_at;
  std::optional<Time> last_used_at;
  std::optional<Time> revoked_at;

  // Not revoked and not expired at `now`.
  bool usable_at(Time now) const;
};

struct NewApiKey {
  std::string user_id;
  std::string name;
  std::string prefix;
  std::string hash;
  std::vector<std::string> scopes;
  std::optional<Time> expires_at;
};

// ---- conversations and message trees --------------------------------------------------------

// A conversation's defaults for its replies (the web UI's per-conversation settings); each field
// may be unset. The store checks the limits (system_prompt: kMaxContentBytes, model:
// kMaxModelBytes, temperature: 0..kMaxTemperature, max_tokens: 1..kMaxSettingsMaxTokens); what
// they mean is the gateway's business.
struct ConversationSettings {
  std::optional<std::string> system_prompt;
  std::optional<double> temperature;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::string> model;

  bool operator==(const ConversationSettings&) const = default;
};

// A change of settings: a field that is absent stays as it is; present, it is set to its value,
// or cleared when that is nullopt.
struct ConversationSettingsUpdate {
  std::optional<std::optional<std::string>> system_prompt;
  std::optional<std::optional<double>> temperature;
  std::optional<std::optional<std::int64_t>> max_tokens;
  std::optional<std::optional<std::string>> model;
};

struct Conversation {
  std::string id;
  std::string owner_id;
  std::string title;
  Time created_at{};
  Time updated_at{};  // creation, a new message, rename or (un)archive
  bool archived = false;
  std::string current_leaf_id;  // the message the UI shows the path to; empty: no messages
  std::int64_t message_count = 0;
  ConversationSettings settings;
};

struct ConversationQuery {
  PageRequest page;
  std::string title_contains;  // case-insensitive (ASCII); '%', '_' and '\' match literally
  bool include_archived = false;
};

enum class MessageRole { kSystem, kUser, kAssistant, kTool };
std::string_view message_role_name(MessageRole role);  // "system", "user", "assistant", "tool"

// Where a message is in its life. Every message but a reply being generated is final from the
// start (kComplete); a streamed reply is created kStreaming, rewritten at each checkpoint with its
// text so far (update_reply), and finished in one of the other states. docs/api.md has the wire
// names and what each means.
enum class MessageStatus {
  kComplete,     // the model finished (stop, length, tool calls); every user/system/tool message
  kStreaming,    // being generated: the text so far, as of the last checkpoint (updated_at)
  kStopped,      // the user stopped it
  kFiltered,     // the output rules blocked it (content_filter)
  kError,        // the generation failed before any text
  kInterrupted,  // cut short without the user asking: a crash, a worker lost mid-stream, a
                 // disconnect, a shutdown; the text is what was saved until then
};
std::string_view message_status_name(MessageStatus status);  // "complete", "streaming", ...
// kComplete for an unknown name (the column's CHECK admits nothing else).
MessageStatus parse_message_status(std::string_view name);

// Messages form a tree: editing a user message or regenerating an answer appends a sibling (a
// new message with the same parent), and the conversation remembers which leaf is current.
// A message is immutable once final (status other than kStreaming/kInterrupted, see update_reply).
struct Message {
  std::string id;
  std::string conversation_id;
  std::string parent_id;  // empty: a root (a conversation may have several roots)
  MessageRole role = MessageRole::kUser;
  std::string content;
  std::string model;     // the model that wrote an assistant message; may be empty
  std::string metadata;  // opaque to the store (the gateway keeps JSON here)
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  Time created_at{};
  std::int64_t seq = 0;  // 1, 2, ... in order of creation within the conversation
  MessageStatus status = MessageStatus::kComplete;
  Time updated_at{};  // the last write: creation, a checkpoint, the final state
};

struct NewMessage {
  std::string conversation_id;
  std::string parent_id;  // empty: a new root; otherwise a message of the same conversation
  MessageRole role = MessageRole::kUser;
  std::string content;
  std::string model;
  std::string metadata;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool make_current = true;  // the new message becomes the conversation's current leaf
  MessageStatus status = MessageStatus::kComplete;
};

// A new state of a reply that is not final yet (kStreaming, or kInterrupted by a sweep that
// found a live stream's checkpoint old: it comes back to life with its next checkpoint): its
// text so far (status kStreaming, a checkpoint) or its final state. Content, metadata and token
// counts replace the row's; the limits of NewMessage apply.
struct ReplyUpdate {
  std::string conversation_id;
  std::string message_id;
  std::string content;
  std::string metadata;
  MessageStatus status = MessageStatus::kStreaming;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

struct MessageTree {
  Conversation conversation;
  std::vector<Message> messages;  // by seq: every parent comes before its children
};

// The messages from a root down to `leaf_id` (inclusive), root first; kNotFound when the tree
// has no such message. With an empty leaf_id: the path to the current leaf (empty if none).
Result<std::vector<Message>> message_path(const MessageTree& tree, std::string_view leaf_id = {});

// ---- usage ---------------------------------------------------------------------------------

struct UsageRecord {
  std::string user_id;
  std::string api_key_id;  // empty: not through a key (a browser session)
  std::string model;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cost_micros = 0;  // cost in millionths of the billing currency unit
  Time at{};                     // zero: the store's clock
  std::string conversation_id;   // a reply of the conversation API; empty: anything else (/v1)
};

struct UsageTotals {
  std::int64_t requests = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cost_micros = 0;
};

struct ModelUsage {
  std::string model;
  UsageTotals totals;
};

struct UserUsage {
  std::string user_id;
  std::string email;
  UsageTotals totals;
};

struct DayUsage {
  Time day{};  // 00:00:00 UTC of the day
  std::string model;
  UsageTotals totals;
};

// ---- share links ---------------------------------------------------------------------------

// A read-only public link to a snapshot of a conversation: the path from a root to
// `leaf_message_id` as it was when shared (messages are immutable, so the leaf is the snapshot).
// Whoever has the token may read it, until it is revoked or the conversation deleted.
struct Share {
  std::string id;     // "shr_..."
  std::string token;  // the link's secret (the gateway makes it); kept, so that its owner may copy it again
  std::string owner_id;
  std::string conversation_id;
  std::string leaf_message_id;
  std::string title;               // the conversation's title when it was shared
  std::int64_t message_count = 0;  // messages the shared view shows (counted by the caller)
  Time created_at{};
  std::optional<Time> revoked_at;
};

struct NewShare {
  std::string conversation_id;
  std::string token;  // 1..kMaxShareTokenBytes, unique
  std::string leaf_message_id;
  std::string title;
  std::int64_t message_count = 0;
};

// What a share link shows: the share and the messages from the root to its leaf, root first.
struct SharedConversation {
  Share share;
  std::vector<Message> path;
};

// ---- moderation: the audit log and suspensions (src/policy decides, the store keeps) -----------

inline constexpr std::size_t kMaxAuditShortBytes = 256;  // user id, address, request id, rule, subject...
inline constexpr std::size_t kMaxAuditExcerptBytes = 4096;

// One moderation event: a rule that matched (flag, redact, block) or another violation counted
// against a subject (rate_limited, failed_login...). `excerpt` is already redacted by the caller
// (empty by default: no prompt text is kept). user_id is not a foreign key: the audit log is a
// record, like usage rows.
struct ModerationEvent {
  std::string id;  // "mev_..."
  Time at{};
  std::string user_id;  // empty: anonymous
  std::string address;  // the client's address
  std::string request_id;
  std::string rule;    // the rule's name; empty for violations without one
  std::string action;  // "flag", "redact", "block", or a violation kind; [a-z_]+
  std::string stage;   // "input", "output" or empty
  std::string excerpt;
};

struct ModerationEventQuery {
  PageRequest page;
  std::string user_id, address, rule, action, stage;  // each: empty matches any
  std::optional<Time> from, to;                       // from <= at < to
};

// A suspension of a subject ("user:<id>" or "addr:<address>", policy/violation_tracker.h).
struct StoredSuspension {
  std::string id;  // "sus_..."
  std::string subject;
  std::string reason;  // the violation kind that led to it, or "admin"
  double score = 0;
  Time created_at{};
  Time until{};
  std::string created_by;  // empty: automatic; else the admin's user id
  std::optional<Time> lifted_at;
  std::string lifted_by;

  bool active_at(Time t) const { return !lifted_at && until > t; }
};

struct NewSuspension {
  std::string subject;
  std::string reason;
  double score = 0;
  Time until{};
  std::string created_by;
};

struct SuspensionQuery {
  PageRequest page;
  std::string subject;            // empty: any
  std::optional<Time> active_at;  // only those active at this instant (not lifted, not over)
};

// Read replicas (PostgreSQL only; docs/store.md). All zero when none are configured.
struct ReplicaStats {
  int configured = 0;
  int usable = 0;                   // reachable standbys within the lag bound, at the last check
  std::uint64_t reads_replica = 0;  // owner-scoped reads served by a replica
  std::uint64_t reads_primary = 0;  // ... by the primary (read-your-writes, lag, none usable, fallbacks)
  std::uint64_t fallbacks = 0;      // replica reads that failed and ran again on the primary
  double lag_seconds_max = 0;       // the largest replica lag at the last checks
};

// ---- the interface ---------------------------------------------------------------------------

class Store {
 public:
  virtual ~Store() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" or "postgres"
  virtual int schema_version() const = 0;        // the migrations applied at open
  virtual ReplicaStats replica_stats() const { return {}; }

  // Users.
  // kAlreadyExists: the normalized email, or its look-alike skeleton, is taken (one message for both).
  virtual Result<User> create_user(const NewUser& user) = 0;
  virtual Result<User> get_user(std::string_view user_id) = 0;
  // By the normalized address (any case, width or form); never by a look-alike.
  virtual Result<User> find_user_by_email(std::string_view email) = 0;
  virtual Result<Page<User>> list_users(const UserQuery& query) = 0;  // oldest first
  virtual Result<User> update_user(std::string_view user_id, const UserUpdate& update) = 0;
  virtual Result<std::int64_t> count_users() = 0;

  // Sessions. find_session does not return expired sessions (by the store's clock).
  virtual Status create_session(const Session& session) = 0;  // kNotFound: no such user
  virtual Result<Session> find_session(std::string_view token_hash) = 0;
  virtual Status extend_session(std::string_view token_hash, Time expires_at) = 0;
  virtual Status delete_session(std::string_view token_hash) = 0;
  virtual Result<std::int64_t> delete_user_sessions(std::string_view user_id) = 0;
  virtual Result<std::int64_t> delete_expired_sessions() = 0;

  // API keys. find_api_key_by_hash returns revoked and expired keys too (with their fields), so
  // that the caller can say why a key is refused; ApiKey::usable_at decides.
  virtual Result<ApiKey> create_api_key(const NewApiKey& key) = 0;
  virtual Result<ApiKey> find_api_key_by_hash(std::string_view hash) = 0;
  virtual Result<std::vector<ApiKey>> list_api_keys(std::string_view user_id) = 0;  // newest first
  virtual Result<ApiKey> revoke_api_key(std::string_view user_id, std::string_view key_id) = 0;
  virtual Status touch_api_key(std::string_view user_id, std::string_view key_id, Time used_at) = 0;

  // Conversations. Soft-deleted ones are invisible to every method (kNotFound) until purged.
  virtual Result<Conversation> create_conversation(std::string_view owner_id, std::string_view title,
                                                   const ConversationSettings& settings) = 0;
  Result<Conversation> create_conversation(std::string_view owner_id, std::string_view title) {
    return create_conversation(owner_id, title, ConversationSettings{});
  }
  virtual Result<Conversation> get_conversation(std::string_view owner_id, std::string_view id) = 0;
  // Most recently updated first.
  virtual Result<Page<Conversation>> list_conversations(std::string_view owner_id, const ConversationQuery& query) = 0;
  virtual Result<Conversation> rename_conversation(std::string_view owner_id, std::string_view id,
                                                   std::string_view title) = 0;
  virtual Result<Conversation> set_conversation_archived(std::string_view owner_id, std::string_view id,
                                                         bool archived) = 0;
  // Changes the settings (fields absent from `update` stay); does not change updated_at.
  virtual Result<Conversation> update_conversation_settings(std::string_view owner_id, std::string_view id,
                                                            const ConversationSettingsUpdate& update) = 0;
  virtual Status soft_delete_conversation(std::string_view owner_id, std::string_view id) = 0;
  // Removes (with their messages) conversations soft-deleted before `deleted_before`.
  virtual Result<std::int64_t> purge_deleted_conversations(Time deleted_before) = 0;

  // Messages. append_message: kNotFound for the conversation, kInvalidArgument for a parent that
  // is not a message of that conversation. set_current_leaf accepts any message of the
  // conversation (kInvalidArgument otherwise) and does not change updated_at.
  virtual Result<Message> append_message(std::string_view owner_id, const NewMessage& message) = 0;
  virtual Result<Message> get_message(std::string_view owner_id, std::string_view conversation_id,
                                      std::string_view message_id) = 0;
  virtual Result<MessageTree> get_message_tree(std::string_view owner_id, std::string_view conversation_id) = 0;
  virtual Result<Conversation> set_current_leaf(std::string_view owner_id, std::string_view conversation_id,
                                                std::string_view message_id) = 0;
  // Streamed replies (docs/reliability.md). update_reply rewrites an assistant message that is
  // not final (kStreaming or kInterrupted) and sets updated_at: kNotFound as get_message,
  // kFailedPrecondition for a message that is final. It does not change the conversation.
  virtual Result<Message> update_reply(std::string_view owner_id, const ReplyUpdate& update) = 0;
  // Maintenance, for every owner (one UPDATE): replies still kStreaming whose last write
  // (updated_at) is before `written_before` become kInterrupted, their text as last saved.
  // Returns how many.
  virtual Result<std::int64_t> interrupt_stale_replies(Time written_before) = 0;

  // Usage. Windows are half-open: from <= at < to. api_key_id and conversation_id, when set, must
  // be a key and a conversation (also a deleted one, not yet purged) of the user (kInvalidArgument
  // otherwise).
  virtual Status record_usage(const UsageRecord& record) = 0;
  // A trivial query on the primary: ok while the store answers (health checks, /metrics). With
  // SQLite, after a write failed because the disk is full or read-only, a write: ok once writes
  // succeed again.
  virtual Status ping() = 0;
  virtual Result<std::vector<ModelUsage>> usage_summary(std::string_view user_id, Time from, Time to) = 0;
  virtual Result<std::vector<UserUsage>> usage_by_user(Time from, Time to) = 0;  // admin; by cost
  // Totals since `since` (for quotas); restricted to one key when api_key_id is not empty.
  virtual Result<UsageTotals> usage_totals(std::string_view user_id, Time since, std::string_view api_key_id = {}) = 0;
  // By UTC day and model, oldest day first, then by model (byte order).
  virtual Result<std::vector<DayUsage>> usage_by_day(std::string_view user_id, Time from, Time to) = 0;
  // Everything recorded for replies in the conversation; kNotFound as get_conversation.
  virtual Result<UsageTotals> conversation_usage(std::string_view owner_id, std::string_view conversation_id) = 0;

  // Share links. create_share: kNotFound for the conversation, kInvalidArgument (param
  // leaf_message_id) for a leaf that is not one of its messages. list_shares: newest first, the
  // revoked ones too. revoke_share sets revoked_at (once: revoking again returns it unchanged).
  // All three see only the owner's shares of conversations that are not deleted.
  virtual Result<Share> create_share(std::string_view owner_id, const NewShare& share) = 0;
  virtual Result<std::vector<Share>> list_shares(std::string_view owner_id, std::string_view conversation_id) = 0;
  virtual Result<Share> revoke_share(std::string_view owner_id, std::string_view share_id) = 0;
  // The lookup without an owner, by the link's secret (the token is the credential): kNotFound
  // for an unknown or revoked token, a deleted conversation or a disabled owner.
  virtual Result<SharedConversation> find_shared_conversation(std::string_view token) = 0;

  // Moderation audit log: newest first. `at` of a new event: the store's clock when not set.
  // purge_moderation_events deletes events before `before` (retention).
  virtual Result<ModerationEvent> record_moderation_event(const ModerationEvent& event) = 0;
  virtual Result<Page<ModerationEvent>> list_moderation_events(const ModerationEventQuery& query) = 0;
  virtual Result<std::int64_t> purge_moderation_events(Time before) = 0;

  // Suspensions: newest first. lift_suspension sets lifted_at once (kNotFound for an unknown id;
  // lifting again returns it unchanged); lift_subject_suspensions lifts every active one of a
  // subject and returns how many. purge_suspensions deletes those over or lifted before `before`.
  virtual Result<StoredSuspension> create_suspension(const NewSuspension& suspension) = 0;
  virtual Result<Page<StoredSuspension>> list_suspensions(const SuspensionQuery& query) = 0;
  virtual Result<StoredSuspension> lift_suspension(std::string_view id, std::string_view lifted_by) = 0;
  virtual Result<std::int64_t> lift_subject_suspensions(std::string_view subject, std::string_view lifted_by) = 0;
  virtual Result<std::int64_t> purge_suspensions(Time before) = 0;
};

}  // namespace parley::store
