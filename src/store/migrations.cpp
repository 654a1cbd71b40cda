#include "store/migrations.h"

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/log.h"
#include "store/email.h"
#include "store/store.h"

namespace parley::store {
namespace {

// Conventions of the schema (docs/store.md): ids are TEXT (random, opaque); instants are BIGINT
// microseconds since the Unix epoch, UTC; flags are INTEGER 0/1; money is BIGINT micro-units.
// The version 1 text is valid in both dialects (SQLite maps BIGINT to INTEGER affinity); later
// versions may differ per backend (ALTER TABLE support does).
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL,
  email_key     TEXT NOT NULL UNIQUE,   -- ASCII-lowercased email: case-insensitive uniqueness
  display_name  TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  password_hash TEXT NOT NULL DEFAULT '',
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL
);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL DEFAULT '',  -- space-separated
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  last_used_at BIGINT,
  revoked_at   BIGINT
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

CREATE TABLE conversations (
  id              TEXT PRIMARY KEY,
  owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title           TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  archived        INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  deleted_at      BIGINT,               -- soft delete: invisible, purged later
  current_leaf_id TEXT,
  message_count   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_owner ON conversations (owner_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX conversations_deleted ON conversations (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE messages (
  id                TEXT PRIMARY KEY,
  conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  parent_id         TEXT,
  seq               BIGINT NOT NULL,
  role              TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content           TEXT NOT NULL,
  model             TEXT NOT NULL DEFAULT '',
  metadata          TEXT NOT NULL DEFAULT '',
  prompt_tokens     BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  created_at        BIGINT NOT NULL,
  UNIQUE (conversation_id, id),
  UNIQUE (conversation_id, seq),
  -- a parent is always a message of the same conversation
  FOREIGN KEY (conversation_id, parent_id) REFERENCES messages (conversation_id, id)
);

CREATE TABLE usage_records (
  id                TEXT PRIMARY KEY,
  user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  api_key_id        TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
  model             TEXT NOT NULL,
  prompt_tokens     BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  cost_micros       BIGINT NOT NULL,
  at                BIGINT NOT NULL
);
CREATE INDEX usage_user_time ON usage_records (user_id, at);
CREATE INDEX usage_time ON usage_records (at);
)sql";

// Version 2: e-mail addresses normalized (NFKC_Casefold) as the log-in key, and their UTS #39
// skeleton, unique, so that a new account cannot take an address that looks like an existing one
// (store/email.h). Both dialects accept the text; backfill_email_forms() fills the rows.
constexpr std::string_view kSchemaV2 = R"sql(
ALTER TABLE users ADD COLUMN email_skeleton TEXT;  -- NULL only for accounts older than version 2 (see below)
CREATE UNIQUE INDEX users_email_skeleton ON users (email_skeleton);
)sql";

// Recomputes email_key (ASCII-lowered until now) as the normalized address and sets the skeleton
// of every existing account. Accounts made before this version may share a normalized address or
// a skeleton (that is what version 2 stops); none is changed or removed for it. Of each group
// sharing a normalized address, the account whose old key already is that address keeps it
// (otherwise the oldest); the others keep their old key, which find_user_by_email still matches
// for that exact address. Of each group sharing a skeleton the oldest holds it and the others
// get NULL: a new look-alike of any of them is refused all the same. Old keys are unique and a
// normalized address is its own old key or no one's, so no UPDATE collides with a row not yet
// updated.
Status backfill_email_forms(sql::Conn& conn) {
  ASSIGN_OR_RETURN(const sql::Rows rows, conn.run("SELECT id, email, email_key FROM users ORDER BY created_at, id"));
  const std::size_t n = rows.size();
  std::vector<std::string> key(n), skeleton(n);
  std::unordered_map<std::string, std::size_t> key_holder;
  for (std::size_t r = 0; r < n; ++r) {
    key[r] = normalize_email(rows.text(r, 1));
    if (key[r].empty()) key[r] = rows.text(r, 2);  // cannot happen for an address the store accepted
    skeleton[r] = email_skeleton(key[r]);
    if (rows.text(r, 2) == key[r]) key_holder[key[r]] = r;
  }
  for (std::size_t r = 0; r < n; ++r) key_holder.try_emplace(key[r], r);
  std::unordered_set<std::string> skeletons;
  std::size_t shared = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const bool holds_key = key_holder.at(key[r]) == r;
    const bool holds_skeleton = skeletons.insert(skeleton[r]).second;
    if (!holds_key || !holds_skeleton) {
      ++shared;
      log_warn(
          "store: migration 2: user {} has the normalized address or a look-alike of an older account's; "
          "it is kept as it is (an admin may want to look at it)",
          rows.text(r, 0));
    }
    RETURN_IF_ERROR(conn.run("UPDATE users SET email_key = ?, email_skeleton = ? WHERE id = ?",
                             {holds_key ? std::string_view(key[r]) : std::string_view(rows.text(r, 2)),
                              holds_skeleton ? sql::Param(std::string_view(skeleton[r])) : sql::Param(nullptr),
                              std::string_view(rows.text(r, 0))})
                        .status());
  }
  if (n > 0) log_info("store: migration 2: normalized the addresses of {} account(s), {} shared", n, shared);
  return ok_status();
}

// Version 3 (the web UI): per-conversation settings, the conversation a usage row was recorded
// for, and share links. Nothing to backfill: existing conversations have no settings, existing
// usage rows no conversation. usage_records.conversation_id is deliberately not a foreign key:
// usage rows are the billing record and outlive the conversations that are purged (record_usage
// checks the owner when it writes). Both dialects accept the text.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE conversations ADD COLUMN settings_system_prompt TEXT;
ALTER TABLE conversations ADD COLUMN settings_temperature DOUBLE PRECISION;
ALTER TABLE conversations ADD COLUMN settings_max_tokens BIGINT;
ALTER TABLE conversations ADD COLUMN settings_model TEXT;

ALTER TABLE usage_records ADD COLUMN conversation_id TEXT;
CREATE INDEX usage_conversation ON usage_records (conversation_id) WHERE conversation_id IS NOT NULL;

CREATE TABLE shares (
  id              TEXT PRIMARY KEY,
  token           TEXT NOT NULL UNIQUE,  -- the link's secret: looked up, never listed to others
  owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  leaf_message_id TEXT NOT NULL,
  title           TEXT NOT NULL,
  message_count   BIGINT NOT NULL,
  created_at      BIGINT NOT NULL,
  revoked_at      BIGINT,
  -- the leaf is a message of the shared conversation
  FOREIGN KEY (conversation_id, leaf_message_id) REFERENCES messages (conversation_id, id) ON DELETE CASCADE
);
CREATE INDEX shares_conversation ON shares (conversation_id, created_at);
)sql";

// Version 4 (moderation, src/policy): the audit log of rule matches and violations, and the
// suspensions of users and client addresses. user_id and subject are not foreign keys: the audit
// log is a record and outlives what it names (retention deletes it). Both dialects accept the text.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE moderation_events (
  id         TEXT PRIMARY KEY,
  at         BIGINT NOT NULL,
  user_id    TEXT NOT NULL DEFAULT '',
  address    TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '',
  rule       TEXT NOT NULL DEFAULT '',
  action     TEXT NOT NULL,
  stage      TEXT NOT NULL DEFAULT '',
  excerpt    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX moderation_events_at ON moderation_events (at, id);
CREATE INDEX moderation_events_user ON moderation_events (user_id, at);

CREATE TABLE suspensions (
  id         TEXT PRIMARY KEY,
  subject    TEXT NOT NULL,  -- "user:<id>" or "addr:<address>"
  reason     TEXT NOT NULL,
  score      DOUBLE PRECISION NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  until_at   BIGINT NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  lifted_at  BIGINT,
  lifted_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX suspensions_subject ON suspensions (subject, until_at);
CREATE INDEX suspensions_until ON suspensions (until_at);
)sql";

// Version 5 (issue 18): a streamed reply is saved as it streams. `status` says where a message is
// in its life (store.h MessageStatus); every existing message is final ('complete'). `updated_at`
// is the last write of the row, the heartbeat of a reply being streamed: a reply left
// 'streaming' by a process that died is found by it (the partial index keeps that cheap) and
// marked 'interrupted'. NULL for rows older than this version. Both dialects accept the text.
constexpr std::string_view kSchemaV5 = R"sql(
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'
  CHECK (status IN ('complete', 'streaming', 'stopped', 'filtered', 'error', 'interrupted'));
ALTER TABLE messages ADD COLUMN updated_at BIGINT;
CREATE INDEX messages_streaming ON messages (updated_at) WHERE status = 'streaming';
)sql";

struct Migration {
  int version;
  std::string_view name;
  std::string_view sqlite;
  std::string_view postgres;
  Status (*backfill)(sql::Conn&) = nullptr;  // after the script, in the same transaction
};

constexpr Migration kMigrations[] = {
    {1, "initial schema", kSchemaV1, kSchemaV1},
    {2, "normalized e-mail keys and look-alike skeletons", kSchemaV2, kSchemaV2, backfill_email_forms},
    {3, "conversation settings, usage per conversation, share links", kSchemaV3, kSchemaV3},
    {4, "moderation audit log and suspensions", kSchemaV4, kSchemaV4},
    {5, "message status and checkpoints of streamed replies", kSchemaV5, kSchemaV5},
};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

// Serializes migrations of concurrent processes on one PostgreSQL database (any fixed number).
constexpr std::string_view kPgLock = "SELECT pg_advisory_xact_lock(7306812104)";

Status lock_and_prepare(sql::Db& db, sql::Conn& conn) {
  if (db.dialect() == sql::Dialect::kPostgres) RETURN_IF_ERROR(conn.run_script(kPgLock));
  return conn.run_script(kCreateMigrationsTable);
}

Result<int> current_version(sql::Conn& conn) {
  ASSIGN_OR_RETURN(sql::Rows rows, conn.run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return static_cast<int>(rows.int64(0, 0));
}

Status check_not_newer(int version) {
  if (version > known_schema_version()) {
    return failed_precondition_error(
        "the database schema is at version {}, newer than this binary knows ({}): upgrade parley", version,
        known_schema_version());
  }
  return ok_status();
}

}  // namespace

int known_schema_version() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Result<int> migrate(sql::Db& db, int up_to) {
  int version = 0;
  RETURN_IF_ERROR(db.transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    RETURN_IF_ERROR(lock_and_prepare(db, conn));
    ASSIGN_OR_RETURN(version, current_version(conn));
    return check_not_newer(version);
  }));
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    if (up_to > 0 && m.version > up_to) break;
    RETURN_IF_ERROR(db.transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
      RETURN_IF_ERROR(lock_and_prepare(db, conn));
      ASSIGN_OR_RETURN(int now_at, current_version(conn));  // another process may have been first
      RETURN_IF_ERROR(check_not_newer(now_at));
      if (now_at >= m.version) return ok_status();
      RETURN_IF_ERROR_CTX(conn.run_script(db.dialect() == sql::Dialect::kSqlite ? m.sqlite : m.postgres),
                          fmt::format("migration {} ({})", m.version, m.name));
      if (m.backfill) RETURN_IF_ERROR_CTX(m.backfill(conn), fmt::format("migration {} ({})", m.version, m.name));
      const auto applied = system_now().time_since_epoch().count();
      return conn
          .run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
               {std::int64_t{m.version}, m.name, std::int64_t{applied}})
          .status();
    }));
    log_info("store: applied schema migration {} ({})", m.version, m.name);
    version = m.version;
  }
  return version;
}

}  // namespace parley::store
