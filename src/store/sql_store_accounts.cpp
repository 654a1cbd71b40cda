// SqlStore: users, sessions and API keys.
#include "store/email.h"
#include "store/sql_store.h"
#include "store/validation.h"

namespace parley::store {

using sql::Param;
using I = std::int64_t;

namespace {

Status validate_user_fields(std::string_view display_name, std::string_view password_hash) {
  RETURN_IF_ERROR(check_text("display_name", display_name, kMaxDisplayNameBytes));
  return check_text("password_hash", password_hash, kMaxPasswordHashBytes);
}

Status email_taken(const Status& s) {
  if (s.code() != ErrorCode::kAlreadyExists) return s;
  return already_exists_error("a user with this email already exists").with_detail("param", "email");
}

}  // namespace

// ---- users ------------------------------------------------------------------------------------

Result<User> SqlStore::create_user(const NewUser& in) {
  ASSIGN_OR_RETURN(EmailForms email, normalize_new_email(in.email));
  RETURN_IF_ERROR(validate_user_fields(in.display_name, in.password_hash));
  User u;
  u.id = new_id("usr");
  u.email = std::move(email.normalized);
  u.display_name = in.display_name;
  u.role = in.role;
  u.password_hash = in.password_hash;
  u.created_at = u.updated_at = now();
  // email_key (log-in) and email_skeleton (look-alikes) are both UNIQUE: either violation is the
  // same "already exists", so a look-alike address learns no more than a duplicate does.
  auto rows = write(
      "INSERT INTO users (id, email, email_key, email_skeleton, display_name, role, disabled, password_hash, "
      "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
      {u.id, u.email, u.email, email.skeleton, u.display_name, user_role_name(u.role), u.password_hash,
       I{micros(u.created_at)}, I{micros(u.updated_at)}});
  if (!rows.ok()) return email_taken(rows.status());
  return u;
}

Result<User> SqlStore::get_user(std::string_view user_id) {
  if (!plausible_id(user_id)) return not_found_error("user not found");
  ASSIGN_OR_RETURN(auto rows, read("SELECT " PARLEY_USER_COLS " FROM users WHERE id = ?", {user_id}));
  if (rows.empty()) return not_found_error("user not found");
  return decode_user(rows, 0);
}

Result<User> SqlStore::find_user_by_email(std::string_view email) {
  if (!check_text("email", email, kMaxEmailBytes, false).ok()) return not_found_error("user not found");
  const std::string key = normalize_email(email);
  // An account that migration 2 found sharing its normalized address with an older one kept its
  // version-1 key (the address with ASCII letters lowered): typing that address exactly still
  // reaches it. For every other account both keys name the same row or nothing.
  const std::string legacy_key = ascii_lower(email);
  ASSIGN_OR_RETURN(auto rows, read("SELECT " PARLEY_USER_COLS ", email_key FROM users WHERE email_key IN (?, ?)",
                                   {key, legacy_key}));
  if (rows.empty()) return not_found_error("user not found");
  constexpr std::size_t kKeyCol = 8;
  std::size_t pick = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows.text(r, kKeyCol) == legacy_key) pick = r;
  }
  return decode_user(rows, pick);
}

Result<Page<User>> SqlStore::list_users(const UserQuery& q) {
  RETURN_IF_ERROR(check_page(q.page));
  RETURN_IF_ERROR(check_text("search", q.search, kMaxSearchBytes));
  const I limit = q.page.limit + 1;  // one more tells whether another page follows
  Result<sql::Rows> rows = sql::Rows();
  if (q.search.empty()) {
    rows = read("SELECT " PARLEY_USER_COLS " FROM users ORDER BY created_at, id LIMIT ? OFFSET ?",
                {limit, I{q.page.offset}});
  } else {
    const std::string pattern = like_contains_pattern(q.search);
    rows = read("SELECT " PARLEY_USER_COLS
                " FROM users "
                "WHERE email_key LIKE ? ESCAPE '\\' OR lower(display_name) LIKE ? ESCAPE '\\' "
                "ORDER BY created_at, id LIMIT ? OFFSET ?",
                {pattern, pattern, limit, I{q.page.offset}});
  }
  if (!rows.ok()) return rows.status();
  Page<User> page;
  for (std::size_t r = 0; r < rows->size(); ++r) {
    if (static_cast<int>(r) == q.page.limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(decode_user(*rows, r));
  }
  return page;
}

Result<User> SqlStore::update_user(std::string_view user_id, const UserUpdate& up) {
  if (up.display_name) RETURN_IF_ERROR(check_text("display_name", *up.display_name, kMaxDisplayNameBytes));
  if (up.password_hash) RETURN_IF_ERROR(check_text("password_hash", *up.password_hash, kMaxPasswordHashBytes));
  if (!plausible_id(user_id)) return not_found_error("user not found");
  const Param name = up.display_name ? Param(std::string_view(*up.display_name)) : Param(nullptr);
  const Param role = up.role ? Param(user_role_name(*up.role)) : Param(nullptr);
  const Param disabled = up.disabled ? Param(I{*up.disabled ? 1 : 0}) : Param(nullptr);
  const Param hash = up.password_hash ? Param(std::string_view(*up.password_hash)) : Param(nullptr);
  ASSIGN_OR_RETURN(auto rows, write("UPDATE users SET display_name = COALESCE(?, display_name), "
                                    "role = COALESCE(?, role), disabled = COALESCE(?, disabled), "
                                    "password_hash = COALESCE(?, password_hash), updated_at = ? "
                                    "WHERE id = ? RETURNING " PARLEY_USER_COLS,
                                    {name, role, disabled, hash, I{micros(now())}, user_id}));
  if (rows.empty()) return not_found_error("user not found");
  return decode_user(rows, 0);
}

Result<std::int64_t> SqlStore::count_users() {
  ASSIGN_OR_RETURN(auto rows, read("SELECT COUNT(*) FROM users", {}));
  return rows.int64(0, 0);
}

// ---- sessions ---------------------------------------------------------------------------------

Status SqlStore::create_session(const Session& s) {
  if (!plausible_secret_hash(s.token_hash)) {
    return invalid_argument_error("token_hash must be 1..{} bytes of UTF-8", kMaxSecretHashBytes);
  }
  if (!plausible_id(s.user_id)) return not_found_error("user not found");
  const Time created = s.created_at == Time{} ? now() : s.created_at;
  auto rows = write("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                    {s.token_hash, s.user_id, I{micros(created)}, I{micros(s.expires_at)}});
  if (!rows.ok() && rows.status().code() == ErrorCode::kNotFound) return not_found_error("user not found");
  return rows.status();
}

Result<Session> SqlStore::find_session(std::string_view token_hash) {
  if (!plausible_secret_hash(token_hash)) return not_found_error("session not found");
  ASSIGN_OR_RETURN(auto rows,
                   read("SELECT " PARLEY_SESSION_COLS " FROM sessions WHERE token_hash = ? AND expires_at > ?",
                        {token_hash, I{micros(now())}}));
  if (rows.empty()) return not_found_error("session not found");
  return decode_session(rows, 0);
}

Status SqlStore::extend_session(std::string_view token_hash, Time expires_at) {
  if (!plausible_secret_hash(token_hash)) return not_found_error("session not found");
  ASSIGN_OR_RETURN(auto rows, write("UPDATE sessions SET expires_at = ? WHERE token_hash = ? AND expires_at > ?",
                                    {I{micros(expires_at)}, token_hash, I{micros(now())}}));
  if (rows.affected() == 0) return not_found_error("session not found");
  return ok_status();
}

Status SqlStore::delete_session(std::string_view token_hash) {
  if (!plausible_secret_hash(token_hash)) return not_found_error("session not found");
  ASSIGN_OR_RETURN(auto rows, write("DELETE FROM sessions WHERE token_hash = ?", {token_hash}));
  if (rows.affected() == 0) return not_found_error("session not found");
  return ok_status();
}

Result<std::int64_t> SqlStore::delete_user_sessions(std::string_view user_id) {
  if (!plausible_id(user_id)) return I{0};
  ASSIGN_OR_RETURN(auto rows, write("DELETE FROM sessions WHERE user_id = ?", {user_id}));
  return rows.affected();
}

Result<std::int64_t> SqlStore::delete_expired_sessions() {
  ASSIGN_OR_RETURN(auto rows, write("DELETE FROM sessions WHERE expires_at <= ?", {I{micros(now())}}));
  return rows.affected();
}

// ---- API keys ---------------------------------------------------------------------------------

Result<ApiKey> SqlStore::create_api_key(const NewApiKey& in) {
  RETURN_IF_ERROR(check_text("name", in.name, kMaxKeyNameBytes));
  RETURN_IF_ERROR(check_text("prefix", in.prefix, kMaxKeyPrefixBytes, false));
  if (!plausible_secret_hash(in.hash)) {
    return invalid_argument_error("hash must be 1..{} bytes of UTF-8", kMaxSecretHashBytes)
        .with_detail("param", "hash");
  }
  RETURN_IF_ERROR(check_scopes(in.scopes));
  if (!plausible_id(in.user_id)) return not_found_error("user not found");
  ApiKey k;
  k.id = new_id("key");
  k.user_id = in.user_id;
  k.name = in.name;
  k.prefix = in.prefix;
  k.hash = in.hash;
  k.scopes = in.scopes;
  k.created_at = now();
  k.expires_at = in.expires_at;
  const std::string scopes = join_scopes(in.scopes);
  const Param expires = in.expires_at ? Param(I{micros(*in.expires_at)}) : Param(nullptr);
  auto rows = write(
      "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {k.id, k.user_id, k.name, k.prefix, k.hash, scopes, I{micros(k.created_at)}, expires});
  if (!rows.ok()) {
    if (rows.status().code() == ErrorCode::kNotFound) return not_found_error("user not found");
    if (rows.status().code() == ErrorCode::kAlreadyExists)
      return already_exists_error("an API key with this hash exists");
    return rows.status();
  }
  return k;
}

Result<ApiKey> SqlStore::find_api_key_by_hash(std::string_view hash) {
  if (!plausible_secret_hash(hash)) return not_found_error("API key not found");
  ASSIGN_OR_RETURN(auto rows, read("SELECT " PARLEY_KEY_COLS " FROM api_keys WHERE key_hash = ?", {hash}));
  if (rows.empty()) return not_found_error("API key not found");
  return decode_key(rows, 0);
}

Result<std::vector<ApiKey>> SqlStore::list_api_keys(std::string_view user_id) {
  std::vector<ApiKey> keys;
  if (!plausible_id(user_id)) return keys;
  ASSIGN_OR_RETURN(auto rows, read("SELECT " PARLEY_KEY_COLS " FROM api_keys WHERE user_id = ? "
                                   "ORDER BY created_at DESC, id DESC",
                                   {user_id}));
  for (std::size_t r = 0; r < rows.size(); ++r) keys.push_back(decode_key(rows, r));
  return keys;
}

Result<ApiKey> SqlStore::revoke_api_key(std::string_view user_id, std::string_view key_id) {
  if (!plausible_id(user_id) || !plausible_id(key_id)) return not_found_error("API key not found");
  // Revoking twice keeps the first instant.
  ASSIGN_OR_RETURN(auto rows, write("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) "
                                    "WHERE id = ? AND user_id = ? RETURNING " PARLEY_KEY_COLS,
                                    {I{micros(now())}, key_id, user_id}));
  if (rows.empty()) return not_found_error("API key not found");
  return decode_key(rows, 0);
}

Status SqlStore::touch_api_key(std::string_view user_id, std::string_view key_id, Time used_at) {
  if (!plausible_id(user_id) || !plausible_id(key_id)) return not_found_error("API key not found");
  // Never moves backwards when concurrent requests finish out of order.
  const I t = micros(used_at);
  ASSIGN_OR_RETURN(auto rows, write("UPDATE api_keys SET last_used_at = CASE WHEN last_used_at IS NULL OR "
                                    "last_used_at < ? THEN ? ELSE last_used_at END "
                                    "WHERE id = ? AND user_id = ?",
                                    {t, t, key_id, user_id}));
  if (rows.affected() == 0) return not_found_error("API key not found");
  return ok_status();
}

}  // namespace parley::store
