// Row decoders of SqlStore and its write helper.
#include "store/sql_store.h"

#include "store/validation.h"

namespace parley::store {
namespace {

std::optional<Time> optional_time(const sql::Rows& rows, std::size_t r, std::size_t c) {
  auto v = rows.optional_int64(r, c);
  if (!v) return std::nullopt;
  return from_micros(*v);
}

MessageRole parse_message_role(std::string_view s) {
  if (s == "system") return MessageRole::kSystem;
  if (s == "assistant") return MessageRole::kAssistant;
  if (s == "tool") return MessageRole::kTool;
  return MessageRole::kUser;  // the CHECK constraint admits nothing else
}

}  // namespace

User decode_user(const sql::Rows& rows, std::size_t r) {
  User u;
  u.id = rows.text(r, 0);
  u.email = rows.text(r, 1);
  u.display_name = rows.text(r, 2);
  u.role = rows.text(r, 3) == "admin" ? UserRole::kAdmin : UserRole::kUser;
  u.disabled = rows.int64(r, 4) != 0;
  u.password_hash = rows.text(r, 5);
  u.created_at = from_micros(rows.int64(r, 6));
  u.updated_at = from_micros(rows.int64(r, 7));
  return u;
}

Session decode_session(const sql::Rows& rows, std::size_t r) {
  Session s;
  s.token_hash = rows.text(r, 0);
  s.user_id = rows.text(r, 1);
  s.created_at = from_micros(rows.int64(r, 2));
  s.expires_at = from_micros(rows.int64(r, 3));
  return s;
}

ApiKey decode_key(const sql::Rows& rows, std::size_t r) {
  ApiKey k;
  k.id = rows.text(r, 0);
  k.user_id = rows.text(r, 1);
  k.name = rows.text(r, 2);
  k.prefix = rows.text(r, 3);
  k.hash = rows.text(r, 4);
  k.scopes = split_scopes(rows.text(r, 5));
  k.created_at = from_micros(rows.int64(r, 6));
  k.expires_at = optional_time(rows, r, 7);
  k.last_used_at = optional_time(rows, r, 8);
  k.revoked_at = optional_time(rows, r, 9);
  return k;
}

Conversation decode_conversation(const sql::Rows& rows, std::size_t r) {
  Conversation c;
  c.id = rows.text(r, 0);
  c.owner_id = rows.text(r, 1);
  c.title = rows.text(r, 2);
  c.created_at = from_micros(rows.int64(r, 3));
  c.updated_at = from_micros(rows.int64(r, 4));
  c.archived = rows.int64(r, 5) != 0;
  c.current_leaf_id = rows.text(r, 6);
  c.message_count = rows.int64(r, 7);
  if (!rows.is_null(r, 8)) c.settings.system_prompt = rows.text(r, 8);
  c.settings.temperature = rows.optional_double(r, 9);
  c.settings.max_tokens = rows.optional_int64(r, 10);
  if (!rows.is_null(r, 11)) c.settings.model = rows.text(r, 11);
  return c;
}

Message decode_message(const sql::Rows& rows, std::size_t r) {
  Message m;
  m.id = rows.text(r, 0);
  m.conversation_id = rows.text(r, 1);
  m.parent_id = rows.text(r, 2);
  m.role = parse_message_role(rows.text(r, 3));
  m.content = rows.text(r, 4);
  m.model = rows.text(r, 5);
  m.metadata = rows.text(r, 6);
  m.prompt_tokens = rows.int64(r, 7);
  m.completion_tokens = rows.int64(r, 8);
  m.created_at = from_micros(rows.int64(r, 9));
  m.seq = rows.int64(r, 10);
  m.status = parse_message_status(rows.text(r, 11));
  m.updated_at = rows.is_null(r, 12) ? m.created_at : from_micros(rows.int64(r, 12));  // NULL: before version 5
  return m;
}

Share decode_share(const sql::Rows& rows, std::size_t r) {
  Share s;
  s.id = rows.text(r, 0);
  s.token = rows.text(r, 1);
  s.owner_id = rows.text(r, 2);
  s.conversation_id = rows.text(r, 3);
  s.leaf_message_id = rows.text(r, 4);
  s.title = rows.text(r, 5);
  s.message_count = rows.int64(r, 6);
  s.created_at = from_micros(rows.int64(r, 7));
  s.revoked_at = optional_time(rows, r, 8);
  return s;
}

Result<sql::Rows> SqlStore::write(std::string_view sql, std::initializer_list<sql::Param> params) {
  sql::Rows out;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    ASSIGN_OR_RETURN(out, conn.run(sql, params));
    return ok_status();
  }));
  return out;
}

}  // namespace parley::store
