// AccountApi: routing, sign-up, log-in, sessions, API keys and own usage. The admin endpoints are
// in admin_api.cpp.
#include "gateway/account_api.h"

#include <fmt/format.h>

#include <chrono>

#include "auth/api_key.h"
#include "auth/cookie.h"
#include "auth/device_token.h"
#include "auth/session_token.h"
#include "base/log.h"
#include "gateway/api_json.h"
#include "net/url.h"
#include "store/email.h"

namespace parley {
namespace {

using api_json::reply;
using api_json::reply_error;
using api_json::store_error;

constexpr std::size_t kMaxPasswordField = auth::kPasswordBytesMax;

Status bad_credentials() {
  return Status(ErrorCode::kUnauthenticated, "Incorrect email or password.").with_detail("code", "invalid_credentials");
}

boost::json::object key_json(const store::ApiKey& k) {
  boost::json::object o;
  o["id"] = k.id;
  o["name"] = k.name;
  o["prefix"] = k.prefix;
  boost::json::array scopes;
  for (const std::string& s : k.scopes) scopes.emplace_back(s);
  o["scopes"] = std::move(scopes);
  o["created_at"] = api_json::unix_seconds(k.created_at);
  o["expires_at"] = api_json::unix_seconds_or_null(k.expires_at);
  o["last_used_at"] = api_json::unix_seconds_or_null(k.last_used_at);
  o["revoked_at"] = api_json::unix_seconds_or_null(k.revoked_at);
  return o;
}

boost::json::value limit_json(const auth::LimitValue& v) {
  if (!v) return nullptr;
  return *v;
}

// Scopes from the request: a list of names or one string ("chat,models"); absent: the default.
Result<auth::ScopeSet> scopes_from(const boost::json::object& body) {
  const boost::json::value* v = body.if_contains("scopes");
  if (v == nullptr || v->is_null()) return auth::kDefaultKeyScopes;
  std::string text;
  if (v->is_string()) {
    text = std::string(v->get_string().data(), std::min<std::size_t>(v->get_string().size(), 256));
  } else if (v->is_array() && v->get_array().size() <= 8) {
    for (const boost::json::value& s : v->get_array()) {
      if (!s.is_string() || s.get_string().size() > 32) {
        return invalid_argument_error("'scopes' must be a list of scope names.").with_detail("param", "scopes");
      }
      text += std::string(s.get_string().data(), s.get_string().size()) + " ";
    }
  } else {
    return invalid_argument_error("'scopes' must be a list of scope names.").with_detail("param", "scopes");
  }
  return auth::parse_scope_list(text);
}

// "2026-12-06": the UTC day that starts at `day`.
std::string utc_date(store::Time day) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(day)};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

// group_by=day adds "by_day" to /api/usage; anything else is a mistake worth saying.
Result<bool> by_day_requested(const HttpRequest& req) {
  Result<QueryParams> q = parse_query(req.query);
  if (!q.ok()) return invalid_argument_error("The query string is malformed.");
  bool by_day = false;
  for (const auto& [name, value] : *q) {
    if (name != "group_by") continue;
    if (value != "day") return invalid_argument_error("'group_by' must be 'day'.").with_detail("param", "group_by");
    by_day = true;
  }
  return by_day;
}

}  // namespace

boost::json::object user_json(const store::User& u) {
  boost::json::object o;
  o["id"] = u.id;
  o["email"] = u.email;
  o["display_name"] = u.display_name;
  o["role"] = std::string(store::user_role_name(u.role));
  o["disabled"] = u.disabled;
  o["created_at"] = api_json::unix_seconds(u.created_at);
  return o;
}

AccountApi::AccountApi(store::Store& store, const Authenticator& authenticator, AccountingUsageRecorder& usage,
                       auth::RateLimiter& limiter, WorkPool& password_pool, AccountApiOptions options)
    : store_(store),
      authenticator_(authenticator),
      usage_(usage),
      limiter_(limiter),
      password_pool_(password_pool),
      options_(std::move(options)) {}

void AccountApi::add_routes(RouteTable& t) {
  constexpr std::size_t kBody = api_json::kMaxApiBodyBytes;
  const auto route = [&](std::string_view method, std::string_view pattern, Caller caller, bool json,
                         RouteHandler handler, bool admin = false) {
    t.add({.method = method,
           .pattern = pattern,
           .name = admin ? "admin" : "account",
           .caller = caller,
           .admin = admin,
           .json_body = json,
           .max_body_bytes = json ? kBody : kIgnoredBodyBytes,
           .handler = std::move(handler)});
  };
  // Without credentials (anyone may try; sign-up and log-in are rate limited per address).
  route("GET", "/api/auth/options", Caller::kAnyone, false,
        [this](RouteCall& c) { auth_options(c.request_id, c.responder); });
  route("POST", "/api/auth/signup", Caller::kAnyone, true,
        [this](RouteCall& c) { signup(c.request, c.request_id, c.responder); });
  route("POST", "/api/auth/login", Caller::kAnyone, true,
        [this](RouteCall& c) { login(c.request, c.request_id, c.responder); });
  // The caller's own session and account.
  route("POST", "/api/auth/logout", Caller::kSession, false,
        [this](RouteCall& c) { logout(c.request, c.principal, c.request_id, c.responder); });
  route("GET", "/api/auth/me", Caller::kUser, false,
        [this](RouteCall& c) { me(c.request, c.principal, c.request_id, c.responder); });
  route("GET", "/api/keys", Caller::kSession, false,
        [this](RouteCall& c) { list_keys(c.principal, c.request_id, c.responder); });
  route("POST", "/api/keys", Caller::kSession, true,
        [this](RouteCall& c) { create_key(c.request, c.principal, c.request_id, c.responder); });
  route("DELETE", "/api/keys/{id}", Caller::kSession, false,
        [this](RouteCall& c) { revoke_key(c.principal, c.param("id"), c.request_id, c.responder); });
  route("GET", "/api/usage", Caller::kUser, false,
        [this](RouteCall& c) { own_usage(c.request, c.principal, c.request_id, c.responder); });
  // Administrators (admin_api.cpp).
  constexpr bool kAdmin = true;
  route(
      "GET", "/api/admin/users", Caller::kUser, false,
      [this](RouteCall& c) { admin_list_users(c.request, c.request_id, c.responder); }, kAdmin);
  route(
      "POST", "/api/admin/users", Caller::kUser, true,
      [this](RouteCall& c) { admin_create_user(c.request, c.request_id, c.responder); }, kAdmin);
  route(
      "GET", "/api/admin/users/{id}", Caller::kUser, false,
      [this](RouteCall& c) { admin_get_user(c.param("id"), c.request_id, c.responder); }, kAdmin);
  route(
      "PATCH", "/api/admin/users/{id}", Caller::kUser, true,
      [this](RouteCall& c) { admin_update_user(c.request, c.principal, c.param("id"), c.request_id, c.responder); },
      kAdmin);
  route(
      "POST", "/api/admin/users/{id}/password", Caller::kUser, true,
      [this](RouteCall& c) { admin_reset_password(c.request, c.param("id"), c.request_id, c.responder); }, kAdmin);
  route(
      "GET", "/api/admin/users/{id}/usage", Caller::kUser, false,
      [this](RouteCall& c) { admin_user_usage(c.request, c.param("id"), c.request_id, c.responder); }, kAdmin);
  route(
      "GET", "/api/admin/usage", Caller::kUser, false,
      [this](RouteCall& c) { admin_usage(c.request, c.request_id, c.responder); }, kAdmin);
}

// ---- authentication -----------------------------------------------------------------------------

void AccountApi::auth_options(const std::string& rid, const Responder& r) {
  boost::json::object o;
  o["auth_mode"] = std::string(auth_mode_name(authenticator_.mode()));
  o["signup"] = options_.signup && authenticator_.mode() == AuthMode::kRequired;
  reply(*r, 200, rid, o);
}

Status AccountApi::check_login_rate(const HttpRequest& req, std::string_view email) {
  using auth::TokenBucketSpec;
  // By the normalized address: every spelling that logs in to an account shares its buckets.
  const std::string account = store::normalize_email(email);
  if (!account.empty()) {
    if (const std::optional<std::string> device = known_device(req, account)) {
      // A browser that signed in to this account before: limited on its own, so that nobody
      // else's attempts (from anywhere, or from the same address) can lock its owner out.
      const auth::RateDecision d = limiter_.try_acquire("login:" + account + ":device:" + *device, 1,
                                                        TokenBucketSpec::per_minute(options_.login_per_minute_account));
      if (!d.allowed) return auth::rate_limited_error(d, "log-in attempts for this account from this browser");
      return ok_status();
    }
  }
  const auth::RateDecision ip = limiter_.try_acquire("ip:" + req.remote_address + ":login", 1,
                                                     TokenBucketSpec::per_minute(options_.login_per_minute_ip));
  if (!ip.allowed) return auth::rate_limited_error(ip, "log-in attempts from this address");
  if (!account.empty()) {
    // Guessing one account's password from one address, then from everywhere at once (slower).
    const auth::RateDecision here =
        limiter_.try_acquire("login:" + account + ":ip:" + req.remote_address, 1,
                             TokenBucketSpec::per_minute(options_.login_per_minute_account));
    if (!here.allowed) return auth::rate_limited_error(here, "log-in attempts for this account from this address");
    const auth::RateDecision anywhere =
        limiter_.try_acquire("login:" + account, 1,
                             {options_.login_per_hour_account, options_.login_per_hour_account, std::chrono::hours(1)});
    if (!anywhere.allowed) {
      return auth::rate_limited_error(anywhere,
                                      "log-in attempts for this account from new browsers (one that signed in before "
                                      "is not affected)");
    }
  }
  return ok_status();
}

std::optional<std::string> AccountApi::known_device(const HttpRequest& req, const std::string& account) const {
  const std::string_view header = req.header("Cookie");
  if (header.empty()) return std::nullopt;
  Result<auth::ParsedCookies> cookies = auth::parse_cookie_header(header);
  if (!cookies.ok()) return std::nullopt;
  const std::optional<std::string_view> token =
      cookies->find(auth::device_cookie_name(authenticator_.secure_cookies()));
  if (!token) return std::nullopt;
  return auth::verify_device_token(authenticator_.csrf(), account, *token);
}

void AccountApi::on_password_pool(const std::string& rid, const Responder& r, std::function<void()> task) {
  if (!password_pool_.try_submit(std::move(task))) {
    reply_error(
        *r, rid,
        unavailable_error("Too many sign-ins are being processed; retry in a moment.").with_detail("retry_after", "1"));
  }
}

Result<bool> AccountApi::no_real_users() {
  ASSIGN_OR_RETURN(const store::Page<store::User> page, store_.list_users({.page = {.limit = 2, .offset = 0}}));
  for (const store::User& u : page.items) {
    if (!(u.email == kLocalUserEmail && u.password_hash.empty())) return false;
  }
  return true;
}

void AccountApi::start_session(const store::User& user, int status, const std::string& rid, const Responder& r) {
  const auth::GeneratedSessionToken token = auth::generate_session_token();
  const store::Time now = authenticator_.now();
  store::Session s{token.hash, user.id, now,
                   now + std::chrono::duration_cast<std::chrono::microseconds>(options_.session_ttl)};
  if (Status st = store_.create_session(s); !st.ok()) return reply_error(*r, rid, store_error(st));
  auth::SetCookie cookie;
  cookie.name = std::string(authenticator_.cookie_name());
  cookie.value = token.token;
  cookie.max_age = options_.session_ttl;
  cookie.secure = authenticator_.secure_cookies();
  Result<std::string> header = auth::set_cookie_header(cookie);
  if (!header.ok()) return reply_error(*r, rid, internal_error("cannot build the session cookie"));
  HttpHeaders cookies{{"Set-Cookie", *header}};
  // This browser is now a known device of the account (see check_login_rate).
  auth::SetCookie device;
  device.name = std::string(auth::device_cookie_name(authenticator_.secure_cookies()));
  device.value = auth::issue_device_token(authenticator_.csrf(), store::normalize_email(user.email));
  device.max_age = std::chrono::hours(24 * 400);  // browsers cap cookie lifetimes at 400 days
  device.secure = authenticator_.secure_cookies();
  device.same_site = auth::SameSite::kStrict;
  if (Result<std::string> d = auth::set_cookie_header(device); d.ok()) cookies.emplace_back("Set-Cookie", *d);
  boost::json::object o;
  o["user"] = user_json(user);
  o["csrf_token"] = authenticator_.csrf().token_for(token.token);
  reply(*r, status, rid, o, std::move(cookies));
}

void AccountApi::signup(const HttpRequest& req, const std::string& rid, const Responder& r) {
  if (authenticator_.mode() != AuthMode::kRequired) {
    return reply_error(
        *r, rid, failed_precondition_error("Authentication is off (local mode): there is nothing to sign up for."));
  }
  if (!options_.signup) {
    return reply_error(
        *r, rid,
        Status(ErrorCode::kPermissionDenied, "Sign-up is disabled on this server; ask an administrator for an account.")
            .with_detail("code", "signup_disabled"));
  }
  Result<boost::json::object> body = api_json::parse_body(req, {"email", "password", "display_name"});
  if (!body.ok()) return reply_error(*r, rid, body.status());
  auto email = api_json::string_field(*body, "email", store::kMaxEmailBytes);
  auto password = api_json::string_field(*body, "password", kMaxPasswordField);
  auto name = api_json::string_field(*body, "display_name", store::kMaxDisplayNameBytes);
  for (const Status& st : {email.status(), password.status(), name.status()}) {
    if (!st.ok()) return reply_error(*r, rid, st);
  }
  if (!*email) return reply_error(*r, rid, api_json::missing("email"));
  if (!*password) return reply_error(*r, rid, api_json::missing("password"));
  if (Status st = check_login_rate(req, ""); !st.ok()) return reply_error(*r, rid, st);
  store::NewUser nu;
  nu.email = std::move(**email);
  nu.display_name = name->value_or("");
  on_password_pool(rid, r, [this, nu = std::move(nu), pw = std::move(**password), rid, r]() mutable {
    // On the bounded password pool, after the rate limit: the dictionary check is serialized.
    Status valid = auth::validate_password(pw, {.email = nu.email, .display_name = nu.display_name});
    if (!valid.ok()) return reply_error(*r, rid, valid);
    Result<std::string> hash = auth::hash_password(pw, options_.password);
    if (!hash.ok()) return reply_error(*r, rid, hash.status());
    nu.password_hash = std::move(*hash);
    Result<store::User> user = [&]() -> Result<store::User> {
      std::lock_guard<std::mutex> lock(first_user_mu_);
      ASSIGN_OR_RETURN(const bool first, no_real_users());
      nu.role = first ? store::UserRole::kAdmin : store::UserRole::kUser;
      return store_.create_user(nu);
    }();
    if (!user.ok()) return reply_error(*r, rid, store_error(user.status()));
    log_event(LogLevel::kInfo, "user signed up",
              {{"request_id", rid}, {"user_id", user->id}, {"role", store::user_role_name(user->role)}});
    start_session(*user, 201, rid, r);
  });
}

void AccountApi::login(const HttpRequest& req, const std::string& rid, const Responder& r) {
  if (authenticator_.mode() != AuthMode::kRequired) {
    return reply_error(*r, rid,
                       failed_precondition_error("Authentication is off (local mode): there is no need to log in."));
  }
  Result<boost::json::object> body = api_json::parse_body(req, {"email", "password"});
  if (!body.ok()) return reply_error(*r, rid, body.status());
  auto email = api_json::string_field(*body, "email", store::kMaxEmailBytes);
  auto password = api_json::string_field(*body, "password", kMaxPasswordField);
  for (const Status& st : {email.status(), password.status()}) {
    if (!st.ok()) return reply_error(*r, rid, st);
  }
  if (!*email) return reply_error(*r, rid, api_json::missing("email"));
  if (!*password) return reply_error(*r, rid, api_json::missing("password"));
  if (Status st = check_login_rate(req, **email); !st.ok()) return reply_error(*r, rid, st);
  Result<store::User> user = store_.find_user_by_email(**email);
  if (!user.ok() && user.status().code() != ErrorCode::kNotFound)
    return reply_error(*r, rid, store_error(user.status()));
  std::optional<store::User> found;
  if (user.ok()) found = std::move(*user);
  on_password_pool(rid, r, [this, found = std::move(found), pw = std::move(**password), rid, r]() mutable {
    if (!found || found->password_hash.empty()) {
      auth::verify_password_dummy(pw,
                                  options_.password);  // the time of a real check: no hint that the email is unknown
      return reply_error(*r, rid, bad_credentials());
    }
    Result<bool> match = auth::verify_password(pw, found->password_hash);
    if (!match.ok()) {
      log_error("the stored password hash of user {} is unreadable: {}", found->id, match.status().to_string());
      return reply_error(*r, rid, bad_credentials());
    }
    if (!*match) {
      log_event(LogLevel::kInfo, "log-in failed", {{"request_id", rid}, {"user_id", found->id}});
      return reply_error(*r, rid, bad_credentials());
    }
    if (found->disabled) {
      return reply_error(
          *r, rid,
          Status(ErrorCode::kPermissionDenied, "This account is disabled.").with_detail("code", "account_disabled"));
    }
    if (auth::needs_rehash(found->password_hash, options_.password)) {
      // The parameters changed since this hash was made: re-hash the password just verified.
      if (Result<std::string> fresh = auth::hash_password(pw, options_.password); fresh.ok()) {
        store_.update_user(found->id, {.password_hash = std::move(*fresh)}).status().ignore();
      }
    }
    log_event(LogLevel::kInfo, "logged in", {{"request_id", rid}, {"user_id", found->id}});
    start_session(*found, 200, rid, r);
  });
}

void AccountApi::logout(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r) {
  // The route takes sessions only (an API key is 403); in local mode there is no session to end.
  if (!p.via_session) return api_json::reply_no_content(*r, rid);
  const std::string token = authenticator_.session_token(req);
  if (Result<std::string> hash = auth::session_token_lookup_hash(token); hash.ok()) {
    if (Status st = store_.delete_session(*hash); !st.ok() && st.code() != ErrorCode::kNotFound) {
      return reply_error(*r, rid, store_error(st));
    }
  }
  Result<std::string> clear = auth::delete_cookie_header(authenticator_.cookie_name(), authenticator_.secure_cookies());
  HttpHeaders extra;
  if (clear.ok()) extra.emplace_back("Set-Cookie", *clear);
  api_json::reply_no_content(*r, rid, std::move(extra));
}

void AccountApi::me(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r) {
  Result<store::User> user = store_.get_user(p.user_id);
  if (!user.ok()) return reply_error(*r, rid, store_error(user.status()));
  boost::json::object o;
  o["user"] = user_json(*user);
  o["auth_mode"] = std::string(auth_mode_name(authenticator_.mode()));
  o["via"] = p.local_mode ? "local" : p.via_session ? "session" : "api_key";
  if (p.via_session) o["csrf_token"] = authenticator_.csrf().token_for(authenticator_.session_token(req));
  boost::json::array scopes;
  for (const auth::Scope s : {auth::Scope::kChat, auth::Scope::kModels, auth::Scope::kAdmin, auth::Scope::kBatch}) {
    if (p.may(s)) scopes.emplace_back(std::string(auth::scope_name(s)));
  }
  o["scopes"] = std::move(scopes);
  reply(*r, 200, rid, o);
}

// ---- API keys -----------------------------------------------------------------------------------

void AccountApi::list_keys(const Principal& p, const std::string& rid, const Responder& r) {
  Result<std::vector<store::ApiKey>> keys = store_.list_api_keys(p.user_id);
  if (!keys.ok()) return reply_error(*r, rid, store_error(keys.status()));
  boost::json::array data;
  for (const store::ApiKey& k : *keys) data.push_back(key_json(k));
  boost::json::object o;
  o["object"] = "list";
  o["data"] = std::move(data);
  reply(*r, 200, rid, o);
}

void AccountApi::create_key(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r) {
  Result<boost::json::object> body = api_json::parse_body(req, {"name", "scopes", "expires_in_days"});
  if (!body.ok()) return reply_error(*r, rid, body.status());
  auto name = api_json::string_field(*body, "name", store::kMaxKeyNameBytes);
  auto days = api_json::int_field(*body, "expires_in_days", 1, 3650);
  Result<auth::ScopeSet> scopes = scopes_from(*body);
  for (const Status& st : {name.status(), days.status(), scopes.status()}) {
    if (!st.ok()) return reply_error(*r, rid, st);
  }
  if (Status st = auth::check_scopes_for_role(*scopes, p.role); !st.ok())
    return reply_error(*r, rid, st.with_detail("param", "scopes"));
  Result<std::vector<store::ApiKey>> existing = store_.list_api_keys(p.user_id);
  if (!existing.ok()) return reply_error(*r, rid, store_error(existing.status()));
  std::size_t live = 0;
  for (const store::ApiKey& k : *existing) live += k.revoked_at ? 0 : 1;
  if (live >= options_.max_keys_per_user) {
    return reply_error(*r, rid,
                       invalid_argument_error("You have {} API keys; revoke one before creating another.", live)
                           .with_detail("code", "too_many_keys"));
  }
  const auth::GeneratedApiKey generated = auth::generate_api_key();
  store::NewApiKey nk;
  nk.user_id = p.user_id;
  nk.name = name->value_or("");
  nk.prefix = generated.display_prefix;
  nk.hash = generated.hash;
  for (const auth::Scope s : {auth::Scope::kChat, auth::Scope::kModels, auth::Scope::kAdmin, auth::Scope::kBatch}) {
    if (scopes->has(s)) nk.scopes.emplace_back(auth::scope_name(s));
  }
  if (*days) nk.expires_at = authenticator_.now() + std::chrono::hours(24 * **days);
  Result<store::ApiKey> key = store_.create_api_key(nk);
  if (!key.ok()) return reply_error(*r, rid, store_error(key.status()));
  log_event(LogLevel::kInfo, "API key created", {{"request_id", rid}, {"user_id", p.user_id}, {"key_id", key->id}});
  boost::json::object o = key_json(*key);
  o["secret"] = generated.secret;  // the only time it is shown
  reply(*r, 201, rid, o);
}

void AccountApi::revoke_key(const Principal& p, std::string_view key_id, const std::string& rid, const Responder& r) {
  Result<store::ApiKey> key = store_.revoke_api_key(p.user_id, key_id);
  if (!key.ok()) {
    if (key.status().code() == ErrorCode::kNotFound) {
      return reply_error(*r, rid, not_found_error("No such API key.").with_detail("param", "id"));
    }
    return reply_error(*r, rid, store_error(key.status()));
  }
  log_event(LogLevel::kInfo, "API key revoked", {{"request_id", rid}, {"user_id", p.user_id}, {"key_id", key->id}});
  reply(*r, 200, rid, key_json(*key));
}

// ---- usage --------------------------------------------------------------------------------------

void AccountApi::own_usage(const HttpRequest& req, const Principal& p, const std::string& rid, const Responder& r) {
  Result<api_json::UsageWindow> w = api_json::usage_window(req, usage_.now());
  if (!w.ok()) return reply_error(*r, rid, w.status());
  Result<bool> by_day = by_day_requested(req);
  if (!by_day.ok()) return reply_error(*r, rid, by_day.status());
  Result<std::vector<store::ModelUsage>> by_model = store_.usage_summary(p.user_id, w->from, w->to);
  if (!by_model.ok()) return reply_error(*r, rid, store_error(by_model.status()));
  Result<auth::QuotaUsage> quota = usage_.quota_usage(p.user_id);
  if (!quota.ok()) return reply_error(*r, rid, store_error(quota.status()));
  store::UsageTotals total;
  boost::json::array models;
  for (const store::ModelUsage& m : *by_model) {
    total.requests += m.totals.requests;
    total.prompt_tokens += m.totals.prompt_tokens;
    total.completion_tokens += m.totals.completion_tokens;
    total.cost_micros += m.totals.cost_micros;
    boost::json::object mo = api_json::totals_json(m.totals);
    mo["model"] = m.model;
    models.push_back(std::move(mo));
  }
  const auth::Limits l = usage_.limits_for(p);
  boost::json::object limits;
  limits["requests_per_minute"] = limit_json(l.requests_per_minute);
  limits["tokens_per_minute"] = limit_json(l.tokens_per_minute);
  limits["tokens_per_day"] = limit_json(l.tokens_per_day);
  limits["tokens_per_month"] = limit_json(l.tokens_per_month);
  limits["cost_micros_per_day"] = limit_json(l.cost_micros_per_day);
  limits["cost_micros_per_month"] = limit_json(l.cost_micros_per_month);
  boost::json::object used;
  used["tokens_day"] = quota->tokens_day;
  used["tokens_month"] = quota->tokens_month;
  used["cost_micros_day"] = quota->cost_micros_day;
  used["cost_micros_month"] = quota->cost_micros_month;
  boost::json::object o;
  o["from"] = api_json::unix_seconds(w->from);
  o["to"] = api_json::unix_seconds(w->to);
  o["totals"] = api_json::totals_json(total);
  o["by_model"] = std::move(models);
  o["limits"] = std::move(limits);
  o["quota_used"] = std::move(used);
  if (*by_day) {
    Result<std::vector<store::DayUsage>> days = store_.usage_by_day(p.user_id, w->from, w->to);
    if (!days.ok()) return reply_error(*r, rid, store_error(days.status()));
    boost::json::array rows;
    for (const store::DayUsage& d : *days) {
      boost::json::object row;
      row["day"] = utc_date(d.day);
      row["model"] = d.model;
      for (const auto& kv : api_json::totals_json(d.totals)) row[kv.key()] = kv.value();
      rows.push_back(std::move(row));
    }
    o["by_day"] = std::move(rows);
  }
  reply(*r, 200, rid, o);
}

}  // namespace parley
