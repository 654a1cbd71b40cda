// Authenticator: who is calling. The first step of every /v1/* and /api/* request (except
// sign-up and log-in), producing the Principal that every later step scopes its work by.
//
//   Result<Principal> who = authenticator.authenticate(request);
//   if (!who.ok()) return reply_error(who.status());   // 401, or 403 for a failed CSRF check
//
// Credentials, in this order:
//   1. "Authorization: Bearer pk-..." (an API key): format check, SHA-256, store lookup by hash;
//      a revoked or expired key, or one whose owner is disabled, is refused at once (the key and
//      the user are read on every request, never cached). The key's scopes are narrowed to what
//      its owner's role allows now, so demoting a user disarms an admin key immediately.
//   2. The session cookie (parley_session, or __Host-parley_session with secure cookies): store
//      lookup by hash (expired sessions are not found), owner not disabled. On unsafe methods
//      (anything but GET, HEAD, OPTIONS) the X-CSRF-Token header must carry the CSRF token bound
//      to the session (auth/csrf.h), else 403 csrf_failed.
//   3. Nothing: 401.
// With AuthMode::kNone, credentials are ignored and every request is the built-in local admin
// user (Principal::local_mode); clients such as the OpenAI SDK send some key anyway.
//
// Errors: kUnauthenticated (401) with detail code "invalid_api_key" (bad, unknown, revoked,
// expired key, or its owner disabled), "not_authenticated" (no credentials, no such session) or
// "account_disabled" (a session of a disabled user); kPermissionDenied (403) "csrf_failed";
// kUnavailable when the store cannot be reached. Messages never contain a presented secret.
//
// Thread safety: authenticate() may be called from any thread; it blocks on the store, so call
// it off the I/O threads (the gateway runs it on its request pool).
#pragma once

#include <string>
#include <string_view>

#include "auth/csrf.h"
#include "base/result.h"
#include "gateway/accounts_config.h"
#include "gateway/principal.h"
#include "net/http_request.h"
#include "store/store.h"

namespace parley {

struct AuthenticatorOptions {
  AuthMode mode = AuthMode::kRequired;
  bool secure_cookies = false;             // the cookie name is __Host-parley_session when true
  store::User local_user;                  // AuthMode::kNone: the user every request acts as
  store::Clock clock = store::system_now;  // key expiry and last-used stamps (tests move it)
};

class Authenticator {
 public:
  Authenticator(store::Store& store, auth::CsrfSigner csrf, AuthenticatorOptions options);

  Result<Principal> authenticate(const HttpRequest& request) const;

  // The session token carried by the request's cookie, if any (for log-out); "" when none.
  std::string session_token(const HttpRequest& request) const;

  AuthMode mode() const { return options_.mode; }
  bool secure_cookies() const { return options_.secure_cookies; }
  std::string_view cookie_name() const;
  const auth::CsrfSigner& csrf() const { return csrf_; }
  const store::User& local_user() const { return options_.local_user; }
  store::Time now() const { return options_.clock(); }

  // The principal of `user` signed in through a session: every scope the role allows.
  static Principal session_principal(const store::User& user);

 private:
  Result<Principal> from_api_key(std::string_view authorization) const;
  Result<Principal> from_session(const HttpRequest& request) const;

  store::Store& store_;
  auth::CsrfSigner csrf_;
  AuthenticatorOptions options_;
};

// GET, HEAD and OPTIONS change nothing; every other method needs the CSRF token with a session.
bool is_safe_method(std::string_view method);

auth::Role role_of(store::UserRole role);
store::UserRole store_role(auth::Role role);

}  // namespace parley
