#include "gateway/authenticator.h"

#include <chrono>

#include "auth/api_key.h"
#include "auth/cookie.h"
#include "auth/session_token.h"

namespace parley {
namespace {

// How stale last_used_at may get before a request writes it again: one write per key per minute
// at most, instead of one per request.
constexpr auto kTouchInterval = std::chrono::minutes(1);

Status bad_key(std::string_view message) {
  return Status(ErrorCode::kUnauthenticated, std::string(message)).with_detail("code", "invalid_api_key");
}

Status not_signed_in() {
  return Status(ErrorCode::kUnauthenticated,
                "Authentication required: send an API key as 'Authorization: Bearer pk-...', or sign in.")
      .with_detail("code", "not_authenticated");
}

// A store failure other than "not found" is the store's problem, not the caller's: keep its code
// (kUnavailable -> 503) but not its message, which may name database internals.
Status store_failure(const Status& st) {
  if (st.code() == ErrorCode::kUnavailable)
    return unavailable_error("the account database is unavailable; retry shortly");
  return internal_error("the account database failed");
}

}  // namespace

bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

auth::Role role_of(store::UserRole role) {
  return role == store::UserRole::kAdmin ? auth::Role::kAdmin : auth::Role::kUser;
}
store::UserRole store_role(auth::Role role) {
  return role == auth::Role::kAdmin ? store::UserRole::kAdmin : store::UserRole::kUser;
}

Authenticator::Authenticator(store::Store& store, auth::CsrfSigner csrf, AuthenticatorOptions options)
    : store_(store), csrf_(std::move(csrf)), options_(std::move(options)) {}

std::string_view Authenticator::cookie_name() const {
  return auth::session_cookie_name(options_.secure_cookies);
}

Principal Authenticator::session_principal(const store::User& user) {
  Principal p;
  p.user_id = user.id;
  p.email = user.email;
  p.role = role_of(user.role);
  p.scopes = auth::scopes_for_role(p.role);
  p.via_session = true;
  return p;
}

Result<Principal> Authenticator::authenticate(const HttpRequest& request) const {
  if (options_.mode == AuthMode::kNone) {
    Principal p;
    p.user_id = options_.local_user.id;
    p.email = options_.local_user.email;
    p.role = auth::Role::kAdmin;
    p.scopes = auth::scopes_for_role(auth::Role::kAdmin);
    p.local_mode = true;
    return p;
  }
  if (const std::string_view authorization = request.header("Authorization"); !authorization.empty()) {
    return from_api_key(authorization);
  }
  return from_session(request);
}

Result<Principal> Authenticator::from_api_key(std::string_view authorization) const {
  Result<std::string_view> token = auth::bearer_token(authorization);
  if (!token.ok()) return bad_key("The Authorization header must be 'Bearer <API key>'.");
  Result<std::string> hash = auth::api_key_lookup_hash(*token);
  if (!hash.ok()) return bad_key("Incorrect API key provided.");
  Result<store::ApiKey> key = store_.find_api_key_by_hash(*hash);
  if (!key.ok())
    return key.status().code() == ErrorCode::kNotFound ? bad_key("Incorrect API key provided.")
                                                       : store_failure(key.status());
  const store::Time now = options_.clock();
  if (!key->usable_at(now)) {
    return bad_key(key->revoked_at ? "This API key has been revoked." : "This API key has expired.");
  }
  Result<store::User> user = store_.get_user(key->user_id);
  if (!user.ok())
    return user.status().code() == ErrorCode::kNotFound ? bad_key("Incorrect API key provided.")
                                                        : store_failure(user.status());
  if (user->disabled) return bad_key("The account of this API key is disabled.");
  Principal p;
  p.user_id = user->id;
  p.email = user->email;
  p.role = role_of(user->role);
  p.api_key_id = key->id;
  const auth::ScopeSet allowed = auth::key_scopes_for_role(p.role);
  for (const std::string& s : key->scopes) {
    // Unknown names (written by a newer version) grant nothing.
    if (Result<auth::Scope> scope = auth::parse_scope(s); scope.ok() && allowed.has(*scope)) p.scopes.add(*scope);
  }
  if (!key->last_used_at || now - *key->last_used_at >= kTouchInterval) {
    // Best effort: a failed stamp must not fail the request.
    store_.touch_api_key(user->id, key->id, now).ignore();
  }
  return p;
}

std::string Authenticator::session_token(const HttpRequest& request) const {
  const std::string_view header = request.header("Cookie");
  if (header.empty()) return "";
  Result<auth::ParsedCookies> cookies = auth::parse_cookie_header(header);
  if (!cookies.ok()) return "";
  const std::optional<std::string_view> token = cookies->find(cookie_name());
  return token ? std::string(*token) : std::string();
}

Result<Principal> Authenticator::from_session(const HttpRequest& request) const {
  const std::string token = session_token(request);
  if (token.empty()) return not_signed_in();
  Result<std::string> hash = auth::session_token_lookup_hash(token);
  if (!hash.ok()) return not_signed_in();
  Result<store::Session> session = store_.find_session(*hash);
  if (!session.ok())
    return session.status().code() == ErrorCode::kNotFound ? not_signed_in() : store_failure(session.status());
  Result<store::User> user = store_.get_user(session->user_id);
  if (!user.ok()) return user.status().code() == ErrorCode::kNotFound ? not_signed_in() : store_failure(user.status());
  if (user->disabled) {
    return Status(ErrorCode::kUnauthenticated, "This account is disabled.").with_detail("code", "account_disabled");
  }
  if (!is_safe_method(request.method)) RETURN_IF_ERROR(csrf_.verify(token, request.header(auth::kCsrfHeader)));
  return session_principal(*user);
}

}  // namespace parley
