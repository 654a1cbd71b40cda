// SqlStore: conversations and their message trees. Every statement matches the owner (and
// deleted_at IS NULL) in SQL; message statements reach the owner through their conversation.
#include "store/sql_store.h"
#include "store/validation.h"

namespace parley::store {

using sql::Param;
using I = std::int64_t;

namespace {

Status conversation_not_found() {
  return not_found_error("conversation not found");
}

Status check_new_message(const NewMessage& m) {
  if (!m.parent_id.empty() && !plausible_id(m.parent_id)) {
    return invalid_argument_error("parent_id is not a message of this conversation").with_detail("param", "parent_id");
  }
  RETURN_IF_ERROR(check_text("content", m.content, kMaxContentBytes));
  RETURN_IF_ERROR(check_text("model", m.model, kMaxModelBytes));
  RETURN_IF_ERROR(check_text("metadata", m.metadata, kMaxMetadataBytes));
  RETURN_IF_ERROR(check_tokens("prompt_tokens", m.prompt_tokens));
  return check_tokens("completion_tokens", m.completion_tokens);
}

Status check_settings(const ConversationSettings& s) {
  if (s.system_prompt) RETURN_IF_ERROR(check_text("system_prompt", *s.system_prompt, kMaxContentBytes));
  if (s.model) RETURN_IF_ERROR(check_text("model", *s.model, kMaxModelBytes));
  if (s.temperature && !(*s.temperature >= 0.0 && *s.temperature <= kMaxTemperature)) {  // NaN too
    return invalid_argument_error("temperature must be between 0 and {}", kMaxTemperature)
        .with_detail("param", "temperature");
  }
  if (s.max_tokens && (*s.max_tokens < 1 || *s.max_tokens > kMaxSettingsMaxTokens)) {
    return invalid_argument_error("max_tokens must be between 1 and {}", kMaxSettingsMaxTokens)
        .with_detail("param", "max_tokens");
  }
  return ok_status();
}

Param param_or_null(const std::optional<std::string>& v) {
  return v ? Param(std::string_view(*v)) : Param(nullptr);
}
Param param_or_null(const std::optional<double>& v) {
  return v ? Param(*v) : Param(nullptr);
}
Param param_or_null(const std::optional<std::int64_t>& v) {
  return v ? Param(*v) : Param(nullptr);
}

// "given" (1/0) and the value of one field of a settings update, for `CASE WHEN ? = 1 THEN ?`.
template <typename T>
std::pair<Param, Param> change(const std::optional<std::optional<T>>& field) {
  if (!field) return {I{0}, nullptr};
  return {I{1}, param_or_null(*field)};
}

}  // namespace

Result<Conversation> SqlStore::create_conversation(std::string_view owner_id, std::string_view title,
                                                   const ConversationSettings& settings) {
  const WriteMark mark{*this, owner_id};
  RETURN_IF_ERROR(check_text("title", title, kMaxTitleBytes));
  RETURN_IF_ERROR(check_settings(settings));
  if (!plausible_id(owner_id)) return not_found_error("user not found");
  Conversation c;
  c.id = new_id("cnv");
  c.owner_id = owner_id;
  c.title = title;
  c.created_at = c.updated_at = now();
  c.settings = settings;
  const ConversationSettings& st = c.settings;
  auto rows = write(
      "INSERT INTO conversations (id, owner_id, title, created_at, updated_at, settings_system_prompt, "
      "settings_temperature, settings_max_tokens, settings_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {c.id, c.owner_id, c.title, I{micros(c.created_at)}, I{micros(c.updated_at)}, param_or_null(st.system_prompt),
       param_or_null(st.temperature), param_or_null(st.max_tokens), param_or_null(st.model)});
  if (!rows.ok()) {
    if (rows.status().code() == ErrorCode::kNotFound) return not_found_error("user not found");
    return rows.status();
  }
  return c;
}

Result<Conversation> SqlStore::get_conversation(std::string_view owner_id, std::string_view id) {
  if (!plausible_id(owner_id) || !plausible_id(id)) return conversation_not_found();
  Conversation c;
  RETURN_IF_ERROR(read_owned(owner_id, [&](sql::Db& db) -> Status {
    ASSIGN_OR_RETURN(auto rows, db.query("SELECT " PARLEY_CONV_COLS " FROM conversations "
                                         "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
                                         {id, owner_id}));
    if (rows.empty()) return conversation_not_found();
    c = decode_conversation(rows, 0);
    return ok_status();
  }));
  return c;
}

Result<Page<Conversation>> SqlStore::list_conversations(std::string_view owner_id, const ConversationQuery& q) {
  RETURN_IF_ERROR(check_page(q.page));
  RETURN_IF_ERROR(check_text("title_contains", q.title_contains, kMaxSearchBytes));
  Page<Conversation> page;
  if (!plausible_id(owner_id)) return page;
  const I limit = q.page.limit + 1;
  const I offset = q.page.offset;
  const std::string pattern = like_contains_pattern(q.title_contains);
#define PARLEY_LIST_HEAD "SELECT " PARLEY_CONV_COLS " FROM conversations WHERE owner_id = ? AND deleted_at IS NULL "
#define PARLEY_LIST_TAIL "ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?"
#define PARLEY_LIST_LIKE "AND lower(title) LIKE ? ESCAPE '\\' "
  Result<sql::Rows> rows = sql::Rows();
  const bool search = !q.title_contains.empty();
  const Status st = read_owned(owner_id, [&](sql::Db& db) -> Status {
    const auto read = [&db](std::string_view sql, std::initializer_list<sql::Param> params) {
      return db.query(sql, params);
    };
    if (q.include_archived && !search) {
      rows = read(PARLEY_LIST_HEAD PARLEY_LIST_TAIL, {owner_id, limit, offset});
    } else if (q.include_archived) {
      rows = read(PARLEY_LIST_HEAD PARLEY_LIST_LIKE PARLEY_LIST_TAIL, {owner_id, pattern, limit, offset});
    } else if (!search) {
      rows = read(PARLEY_LIST_HEAD "AND archived = 0 " PARLEY_LIST_TAIL, {owner_id, limit, offset});
    } else {
      rows = read(PARLEY_LIST_HEAD "AND archived = 0 " PARLEY_LIST_LIKE PARLEY_LIST_TAIL,
                  {owner_id, pattern, limit, offset});
    }
    return rows.status();
  });
  if (!st.ok()) return st;
#undef PARLEY_LIST_HEAD
#undef PARLEY_LIST_TAIL
#undef PARLEY_LIST_LIKE
  if (!rows.ok()) return rows.status();
  for (std::size_t r = 0; r < rows->size(); ++r) {
    if (static_cast<int>(r) == q.page.limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(decode_conversation(*rows, r));
  }
  return page;
}

Result<Conversation> SqlStore::rename_conversation(std::string_view owner_id, std::string_view id,
                                                   std::string_view title) {
  const WriteMark mark{*this, owner_id};
  RETURN_IF_ERROR(check_text("title", title, kMaxTitleBytes));
  if (!plausible_id(owner_id) || !plausible_id(id)) return conversation_not_found();
  ASSIGN_OR_RETURN(auto rows, write("UPDATE conversations SET title = ?, updated_at = ? "
                                    "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL RETURNING " PARLEY_CONV_COLS,
                                    {title, I{micros(now())}, id, owner_id}));
  if (rows.empty()) return conversation_not_found();
  return decode_conversation(rows, 0);
}

Result<Conversation> SqlStore::set_conversation_archived(std::string_view owner_id, std::string_view id,
                                                         bool archived) {
  const WriteMark mark{*this, owner_id};
  if (!plausible_id(owner_id) || !plausible_id(id)) return conversation_not_found();
  ASSIGN_OR_RETURN(auto rows, write("UPDATE conversations SET archived = ?, updated_at = ? "
                                    "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL RETURNING " PARLEY_CONV_COLS,
                                    {I{archived ? 1 : 0}, I{micros(now())}, id, owner_id}));
  if (rows.empty()) return conversation_not_found();
  return decode_conversation(rows, 0);
}

Result<Conversation> SqlStore::update_conversation_settings(std::string_view owner_id, std::string_view id,
                                                            const ConversationSettingsUpdate& u) {
  const WriteMark mark{*this, owner_id};
  ConversationSettings values;  // the new values, checked like a whole set
  if (u.system_prompt) values.system_prompt = *u.system_prompt;
  if (u.temperature) values.temperature = *u.temperature;
  if (u.max_tokens) values.max_tokens = *u.max_tokens;
  if (u.model) values.model = *u.model;
  RETURN_IF_ERROR(check_settings(values));
  if (!plausible_id(owner_id) || !plausible_id(id)) return conversation_not_found();
  // One statement: fields not given keep their value, whatever another update did meanwhile.
  const auto [sp_given, sp] = change(u.system_prompt);
  const auto [t_given, t] = change(u.temperature);
  const auto [mt_given, mt] = change(u.max_tokens);
  const auto [m_given, m] = change(u.model);
  ASSIGN_OR_RETURN(auto rows, write("UPDATE conversations SET "
                                    "settings_system_prompt = CASE WHEN ? = 1 THEN ? ELSE settings_system_prompt END, "
                                    "settings_temperature = CASE WHEN ? = 1 THEN ? ELSE settings_temperature END, "
                                    "settings_max_tokens = CASE WHEN ? = 1 THEN ? ELSE settings_max_tokens END, "
                                    "settings_model = CASE WHEN ? = 1 THEN ? ELSE settings_model END "
                                    "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL RETURNING " PARLEY_CONV_COLS,
                                    {sp_given, sp, t_given, t, mt_given, mt, m_given, m, id, owner_id}));
  if (rows.empty()) return conversation_not_found();
  return decode_conversation(rows, 0);
}

Status SqlStore::soft_delete_conversation(std::string_view owner_id, std::string_view id) {
  const WriteMark mark{*this, owner_id};
  if (!plausible_id(owner_id) || !plausible_id(id)) return conversation_not_found();
  ASSIGN_OR_RETURN(auto rows, write("UPDATE conversations SET deleted_at = ? "
                                    "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
                                    {I{micros(now())}, id, owner_id}));
  if (rows.affected() == 0) return conversation_not_found();
  return ok_status();
}

Result<std::int64_t> SqlStore::purge_deleted_conversations(Time deleted_before) {
  // Messages go with their conversation (ON DELETE CASCADE).
  ASSIGN_OR_RETURN(auto rows, write("DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at < ?",
                                    {I{micros(deleted_before)}}));
  return rows.affected();
}

Result<Message> SqlStore::append_message(std::string_view owner_id, const NewMessage& in) {
  const WriteMark mark{*this, owner_id};
  RETURN_IF_ERROR(check_new_message(in));
  if (!plausible_id(owner_id) || !plausible_id(in.conversation_id)) return conversation_not_found();
  Message m;
  m.id = new_id("msg");
  m.conversation_id = in.conversation_id;
  m.parent_id = in.parent_id;
  m.role = in.role;
  m.content = in.content;
  m.model = in.model;
  m.metadata = in.metadata;
  m.prompt_tokens = in.prompt_tokens;
  m.completion_tokens = in.completion_tokens;
  m.created_at = m.updated_at = now();
  m.status = in.status;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    // Claims the next seq and, on PostgreSQL, locks the conversation row: appends to one
    // conversation serialize here, appends to different ones do not.
    const I t = micros(m.created_at);
    Result<sql::Rows> claimed =
        in.make_current ? conn.run(
                              "UPDATE conversations SET message_count = message_count + 1, updated_at = ?, "
                              "current_leaf_id = ? WHERE id = ? AND owner_id = ? AND deleted_at IS NULL "
                              "RETURNING message_count",
                              {t, m.id, m.conversation_id, owner_id})
                        : conn.run(
                              "UPDATE conversations SET message_count = message_count + 1, updated_at = ? "
                              "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL RETURNING message_count",
                              {t, m.conversation_id, owner_id});
    if (!claimed.ok()) return claimed.status();
    if (claimed->empty()) return conversation_not_found();
    m.seq = claimed->int64(0, 0);
    if (!m.parent_id.empty()) {
      ASSIGN_OR_RETURN(auto parent, conn.run("SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?",
                                             {m.parent_id, m.conversation_id}));
      if (parent.empty()) {
        return invalid_argument_error("parent_id is not a message of this conversation")
            .with_detail("param", "parent_id");
      }
    }
    return conn
        .run(
            "INSERT INTO messages (id, conversation_id, parent_id, seq, role, content, model, metadata, "
            "prompt_tokens, completion_tokens, created_at, status, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {m.id, m.conversation_id, sql::null_or(m.parent_id), I{m.seq}, message_role_name(m.role), m.content,
             m.model, m.metadata, I{m.prompt_tokens}, I{m.completion_tokens}, t, message_status_name(m.status), t})
        .status();
  }));
  return m;
}

Result<Message> SqlStore::get_message(std::string_view owner_id, std::string_view conversation_id,
                                      std::string_view message_id) {
  if (!plausible_id(owner_id) || !plausible_id(conversation_id) || !plausible_id(message_id)) {
    return not_found_error("message not found");
  }
  Message m;
  RETURN_IF_ERROR(read_owned(owner_id, [&](sql::Db& db) -> Status {
    ASSIGN_OR_RETURN(auto rows, db.query("SELECT " PARLEY_MSG_COLS_M " FROM messages m "
                                         "JOIN conversations c ON c.id = m.conversation_id "
                                         "WHERE m.id = ? AND m.conversation_id = ? AND c.owner_id = ? "
                                         "AND c.deleted_at IS NULL",
                                         {message_id, conversation_id, owner_id}));
    if (rows.empty()) return not_found_error("message not found");
    m = decode_message(rows, 0);
    return ok_status();
  }));
  return m;
}

Result<MessageTree> SqlStore::get_message_tree(std::string_view owner_id, std::string_view conversation_id) {
  if (!plausible_id(owner_id) || !plausible_id(conversation_id)) return conversation_not_found();
  MessageTree tree;
  // One read transaction: the conversation (its current leaf) and the messages are one snapshot.
  RETURN_IF_ERROR(read_owned(owner_id, [&](sql::Db& db) {
    return db.transact(sql::TxKind::kRead, [&](sql::Conn& conn) -> Status {
      tree.messages.clear();
      ASSIGN_OR_RETURN(auto conv, conn.run("SELECT " PARLEY_CONV_COLS " FROM conversations "
                                           "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
                                           {conversation_id, owner_id}));
      if (conv.empty()) return conversation_not_found();
      tree.conversation = decode_conversation(conv, 0);
      ASSIGN_OR_RETURN(auto rows, conn.run("SELECT " PARLEY_MSG_COLS_M " FROM messages m "
                                           "JOIN conversations c ON c.id = m.conversation_id "
                                           "WHERE m.conversation_id = ? AND c.owner_id = ? ORDER BY m.seq",
                                           {conversation_id, owner_id}));
      tree.messages.reserve(rows.size());
      for (std::size_t r = 0; r < rows.size(); ++r) tree.messages.push_back(decode_message(rows, r));
      return ok_status();
    });
  }));
  return tree;
}

Result<Conversation> SqlStore::set_current_leaf(std::string_view owner_id, std::string_view conversation_id,
                                                std::string_view message_id) {
  const WriteMark mark{*this, owner_id};
  if (!plausible_id(owner_id) || !plausible_id(conversation_id)) return conversation_not_found();
  if (!plausible_id(message_id)) {
    return invalid_argument_error("message is not in this conversation").with_detail("param", "message_id");
  }
  Conversation out;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    ASSIGN_OR_RETURN(auto rows, conn.run("UPDATE conversations SET current_leaf_id = ? "
                                         "WHERE id = ? AND owner_id = ? AND deleted_at IS NULL AND EXISTS ("
                                         "SELECT 1 FROM messages m WHERE m.id = ? AND m.conversation_id = "
                                         "conversations.id) RETURNING " PARLEY_CONV_COLS,
                                         {message_id, conversation_id, owner_id, message_id}));
    if (!rows.empty()) {
      out = decode_conversation(rows, 0);
      return ok_status();
    }
    ASSIGN_OR_RETURN(auto conv, conn.run("SELECT 1 FROM conversations WHERE id = ? AND owner_id = ? "
                                         "AND deleted_at IS NULL",
                                         {conversation_id, owner_id}));
    if (conv.empty()) return conversation_not_found();
    return invalid_argument_error("message is not in this conversation").with_detail("param", "message_id");
  }));
  return out;
}

Result<Message> SqlStore::update_reply(std::string_view owner_id, const ReplyUpdate& u) {
  const WriteMark mark{*this, owner_id};
  RETURN_IF_ERROR(check_text("content", u.content, kMaxContentBytes));
  RETURN_IF_ERROR(check_text("metadata", u.metadata, kMaxMetadataBytes));
  RETURN_IF_ERROR(check_tokens("prompt_tokens", u.prompt_tokens));
  RETURN_IF_ERROR(check_tokens("completion_tokens", u.completion_tokens));
  if (!plausible_id(owner_id) || !plausible_id(u.conversation_id) || !plausible_id(u.message_id)) {
    return not_found_error("message not found");
  }
  // One statement, so that a checkpoint costs one round trip; the owner through the conversation.
  ASSIGN_OR_RETURN(auto rows,
                   write("UPDATE messages SET content = ?, metadata = ?, status = ?, prompt_tokens = ?, "
                         "completion_tokens = ?, updated_at = ? "
                         "WHERE id = ? AND conversation_id = ? AND role = 'assistant' "
                         "AND status IN ('streaming', 'interrupted') AND EXISTS (SELECT 1 FROM "
                         "conversations c WHERE c.id = messages.conversation_id AND c.owner_id = ? "
                         "AND c.deleted_at IS NULL) RETURNING " PARLEY_MSG_COLS,
                         {u.content, u.metadata, message_status_name(u.status), I{u.prompt_tokens},
                          I{u.completion_tokens}, I{micros(now())}, u.message_id, u.conversation_id, owner_id}));
  if (!rows.empty()) return decode_message(rows, 0);
  // Nothing matched: say whether the message is gone or final (a read, only on this rare path).
  ASSIGN_OR_RETURN(Message m, get_message(owner_id, u.conversation_id, u.message_id));
  return failed_precondition_error("message {} is {}: it can no longer change", m.id, message_status_name(m.status));
}

Result<std::int64_t> SqlStore::interrupt_stale_replies(Time written_before) {
  ASSIGN_OR_RETURN(auto rows, write("UPDATE messages SET status = 'interrupted' "
                                    "WHERE status = 'streaming' AND updated_at < ?",
                                    {I{micros(written_before)}}));
  return rows.affected();
}

}  // namespace parley::store
