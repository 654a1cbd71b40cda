// AccountApi: the account endpoints of the gateway (docs/api.md has the wire format).
//
//   GET  /api/auth/options                       auth mode, whether sign-up is open (no credentials)
//   POST /api/auth/signup   {email, password, display_name?}   201 + session cookie; the first
//                                                user becomes admin; 403 when sign-up is off
//   POST /api/auth/login    {email, password}    200 + a fresh session cookie and its CSRF token
//   POST /api/auth/logout                        204, the session is deleted, the cookie cleared
//   GET  /api/auth/me                            the caller, and the CSRF token of its session
//   GET  /api/keys                               the caller's API keys (never their secrets)
//   POST /api/keys          {name?, scopes?, expires_in_days?}   201 with the secret, shown once
//   DELETE /api/keys/{id}                        revokes; another user's key is 404
//   GET  /api/usage?from=&to=&group_by=day       own usage by model (and by UTC day), limits, quota use
//   /api/admin/...                               users and usage of everyone (admin_api.cpp)
//
// Who may call what is declared with each route (add_routes, gateway/route_table.h): /api/keys
// and log-out need a browser session (or the local mode): an API key cannot mint or revoke keys
// nor sign its owner out, so a leaked chat key cannot be turned into a stronger one (403
// session_required). /api/auth/me and /api/usage take either. /api/admin/* needs the admin role,
// and through an API key also the key's "admin" scope. Resources of other users answer 404
// exactly like missing ones. Bodies are JSON objects; unknown fields are refused (400).
//
// Passwords: hashing and verification run on the password pool (bounded, see work_pool.h);
// log-in and sign-up are rate limited per client address, log-in also per account and address and
// per account from browsers it has not seen (check_login_rate); an unknown email costs the same
// time as a wrong password (verify_password_dummy with the configured cost). No password, key
// secret, session token or CSRF token is ever logged.
//
// Thread safety: the handlers run on the gateway's request pool, concurrently.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "gateway/authenticator.h"
#include "gateway/route_table.h"
#include "gateway/usage_accounting.h"
#include "gateway/work_pool.h"
#include "net/http_request.h"
#include "net/http_responder.h"
#include "store/store.h"

namespace parley {

// The built-in user of the no-auth local mode (it has no password, so it cannot log in).
inline constexpr std::string_view kLocalUserEmail = "local@localhost";

struct AccountApiOptions {
  bool signup = true;
  std::chrono::seconds session_ttl = std::chrono::hours(24 * 30);
  auth::PasswordHashParams password;
  std::int64_t login_per_minute_ip = 20;
  std::int64_t login_per_minute_account = 10;  // per account and address, or per known browser
  std::int64_t login_per_hour_account = 100;   // per account from browsers it has not seen
  std::size_t max_keys_per_user = 100;
};

class AccountApi {
 public:
  AccountApi(store::Store& store, const Authenticator& authenticator, AccountingUsageRecorder& usage,
             auth::RateLimiter& limiter, WorkPool& password_pool, AccountApiOptions options);

  // Adds the endpoints above to the gateway's table. The API must outlive the table's use.
  void add_routes(RouteTable& table);

 private:
  using Responder = std::shared_ptr<HttpResponder>;

  void auth_options(const std::string& rid, const Responder& r);
  void signup(const HttpRequest& req, const std::string& rid, const Responder& r);
  void login(const HttpRequest& req, const std::string& rid, const Responder& r);
  void logout(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r);
  void me(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r);
  void list_keys(const Principal& p, const std::string& rid, const Responder& r);
  void create_key(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r);
  void revoke_key(const Principal& p, std::string_view key_id, const std::string& rid, const Responder& r);
  void own_usage(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r);
  void admin_list_users(const HttpRequest& req, const std::string& rid, const Responder& r);
  void admin_get_user(std::string_view user_id, const std::string& rid, const Responder& r);
  void admin_user_usage(const HttpRequest& req, std::string_view user_id, const std::string& rid, const Responder& r);
  void admin_usage(const HttpRequest& req, const std::string& rid, const Responder& r);
  void admin_create_user(const HttpRequest& req, const std::string& rid, const Responder& r);
  void admin_update_user(const HttpRequest& req, const Principal& p, std::string_view user_id, const std::string& rid,
                         const Responder& r);
  void admin_reset_password(const HttpRequest& req, std::string_view user_id, const std::string& rid,
                            const Responder& r);

  // Starts a session for `user` and answers `status` with the user, the CSRF token and the cookie.
  void start_session(const store::User& user, int status, const std::string& rid, const Responder& r);
  // Attempt limits of log-in and sign-up: per address; with `email`, also per account and address
  // and per account from anywhere (hourly), or, for a browser that signed in to that account
  // before (its device cookie), only per browser: guessing is slowed, the owner never locked out.
  Status check_login_rate(const HttpRequest& req, std::string_view email);
  // The id of the request's device cookie when it was issued for `account` (auth/device_token.h).
  std::optional<std::string> known_device(const HttpRequest& req, const std::string& account) const;
  // Runs `task` on the password pool; 503 with Retry-After when that is full.
  void on_password_pool(const std::string& rid, const Responder& r, std::function<void()> task);
  // True when no account but the built-in local one exists: the next sign-up becomes admin.
  Result<bool> no_real_users();

  store::Store& store_;
  const Authenticator& authenticator_;
  AccountingUsageRecorder& usage_;
  auth::RateLimiter& limiter_;
  WorkPool& password_pool_;
  AccountApiOptions options_;
  std::mutex first_user_mu_;  // the "first user becomes admin" check and the insert, together
};

// The JSON of a user as the API shows it (no password hash).
boost::json::object user_json(const store::User& user);

}  // namespace parley
