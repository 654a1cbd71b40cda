// SqlStore: share links. The owner's methods match the owner and a conversation that is not
// deleted in SQL; the public lookup is by the link's secret token.
#include "store/sql_store.h"
#include "store/validation.h"

namespace parley::store {

using sql::Param;
using I = std::int64_t;

namespace {

Status share_not_found() {
  return not_found_error("share not found");
}

Status conversation_not_found() {
  return not_found_error("conversation not found");
}

// A token worth looking up: bounded, no NUL, valid UTF-8 (the gateway makes base64url ones).
bool plausible_token(std::string_view token) {
  return !token.empty() && check_text("token", token, kMaxShareTokenBytes).ok();
}

}  // namespace

Result<Share> SqlStore::create_share(std::string_view owner_id, const NewShare& in) {
  if (!plausible_token(in.token)) return invalid_argument_error("token is not valid").with_detail("param", "token");
  RETURN_IF_ERROR(check_text("title", in.title, kMaxTitleBytes));
  RETURN_IF_ERROR(check_tokens("message_count", in.message_count));
  if (!plausible_id(owner_id) || !plausible_id(in.conversation_id)) return conversation_not_found();
  if (!plausible_id(in.leaf_message_id)) {
    return invalid_argument_error("leaf_message_id is not a message of this conversation")
        .with_detail("param", "leaf_message_id");
  }
  Share s;
  s.id = new_id("shr");
  s.token = in.token;
  s.owner_id = owner_id;
  s.conversation_id = in.conversation_id;
  s.leaf_message_id = in.leaf_message_id;
  s.title = in.title;
  s.message_count = in.message_count;
  s.created_at = now();
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    ASSIGN_OR_RETURN(auto conv, conn.run("SELECT 1 FROM conversations WHERE id = ? AND owner_id = ? "
                                         "AND deleted_at IS NULL",
                                         {s.conversation_id, s.owner_id}));
    if (conv.empty()) return conversation_not_found();
    ASSIGN_OR_RETURN(auto leaf, conn.run("SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?",
                                         {s.leaf_message_id, s.conversation_id}));
    if (leaf.empty()) {
      return invalid_argument_error("leaf_message_id is not a message of this conversation")
          .with_detail("param", "leaf_message_id");
    }
    return conn
        .run(
            "INSERT INTO shares (id, token, owner_id, conversation_id, leaf_message_id, title, message_count, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {s.id, s.token, s.owner_id, s.conversation_id, s.leaf_message_id, s.title, I{s.message_count},
             I{micros(s.created_at)}})
        .status();
  }));
  return s;
}

Result<std::vector<Share>> SqlStore::list_shares(std::string_view owner_id, std::string_view conversation_id) {
  if (!plausible_id(owner_id) || !plausible_id(conversation_id)) return conversation_not_found();
  std::vector<Share> out;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kRead, [&](sql::Conn& conn) -> Status {
    ASSIGN_OR_RETURN(auto conv, conn.run("SELECT 1 FROM conversations WHERE id = ? AND owner_id = ? "
                                         "AND deleted_at IS NULL",
                                         {conversation_id, owner_id}));
    if (conv.empty()) return conversation_not_found();
    ASSIGN_OR_RETURN(auto rows, conn.run("SELECT " PARLEY_SHARE_COLS_S " FROM shares s "
                                         "WHERE s.conversation_id = ? AND s.owner_id = ? "
                                         "ORDER BY s.created_at DESC, s.id DESC",
                                         {conversation_id, owner_id}));
    out.reserve(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) out.push_back(decode_share(rows, r));
    return ok_status();
  }));
  return out;
}

Result<Share> SqlStore::revoke_share(std::string_view owner_id, std::string_view share_id) {
  if (!plausible_id(owner_id) || !plausible_id(share_id)) return share_not_found();
  Share out;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kWrite, [&](sql::Conn& conn) -> Status {
    // COALESCE: revoking twice keeps the first instant.
    ASSIGN_OR_RETURN(auto rows, conn.run("UPDATE shares SET revoked_at = COALESCE(revoked_at, ?) "
                                         "WHERE id = ? AND owner_id = ? AND EXISTS (SELECT 1 FROM conversations c "
                                         "WHERE c.id = shares.conversation_id AND c.deleted_at IS NULL) "
                                         "RETURNING id",
                                         {I{micros(now())}, share_id, owner_id}));
    if (rows.empty()) return share_not_found();
    ASSIGN_OR_RETURN(auto share, conn.run("SELECT " PARLEY_SHARE_COLS_S " FROM shares s WHERE s.id = ?", {share_id}));
    if (share.empty()) return share_not_found();
    out = decode_share(share, 0);
    return ok_status();
  }));
  return out;
}

Result<SharedConversation> SqlStore::find_shared_conversation(std::string_view token) {
  if (!plausible_token(token)) return share_not_found();
  SharedConversation out;
  RETURN_IF_ERROR(db_->transact(sql::TxKind::kRead, [&](sql::Conn& conn) -> Status {
    ASSIGN_OR_RETURN(auto rows, conn.run("SELECT " PARLEY_SHARE_COLS_S " FROM shares s "
                                         "JOIN conversations c ON c.id = s.conversation_id "
                                         "JOIN users u ON u.id = s.owner_id "
                                         "WHERE s.token = ? AND s.revoked_at IS NULL AND c.deleted_at IS NULL "
                                         "AND c.owner_id = s.owner_id AND u.disabled = 0",
                                         {token}));
    if (rows.empty()) return share_not_found();
    out.share = decode_share(rows, 0);
    ASSIGN_OR_RETURN(auto messages, conn.run("SELECT " PARLEY_MSG_COLS_M " FROM messages m "
                                             "WHERE m.conversation_id = ? ORDER BY m.seq",
                                             {out.share.conversation_id}));
    MessageTree tree;
    tree.conversation.id = out.share.conversation_id;
    tree.messages.reserve(messages.size());
    for (std::size_t r = 0; r < messages.size(); ++r) tree.messages.push_back(decode_message(messages, r));
    ASSIGN_OR_RETURN(out.path, message_path(tree, out.share.leaf_message_id));
    return ok_status();
  }));
  return out;
}

}  // namespace parley::store
