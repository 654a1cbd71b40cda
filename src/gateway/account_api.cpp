// AccountApi: routing, sign-up, log-in, sessions, API keys and own usage. The admin endpoints are
// in admin_api.cpp.
#include "gateway/account_api.h"

#include <fmt/format.h>

#include "auth/api_key.h"
#include "auth/cookie.h"
#include "auth/session_token.h"
#include "base/log.h"
#include "gateway/api_json.h"

namespace parley {
namespace {

using api_json::method_not_allowed;
using api_json::reply;
using api_json::reply_error;
using api_json::store_error;

constexpr std::size_t kMaxPasswordField = auth::kPasswordBytesMax;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status needs_session() {
  return Status(ErrorCode::kPermissionDenied, "This endpoint needs a signed-in session, not an API key.")
      .with_detail("code", "session_required");
}

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

bool AccountApi::handle(const HttpRequest& req, const std::string& rid, const Responder& r) {
  const std::string_view path = req.path;
  const std::string_view m = req.method;
  const auto is = [&](std::string_view p, std::string_view method) {
    if (path != p) return false;
    if (m != method) reply_error(*r, rid, method_not_allowed(m, method));
    return true;
  };
  // Endpoints without credentials.
  if (is("/api/auth/options", "GET")) {
    if (m == "GET") auth_options(rid, r);
    return true;
  }
  if (is("/api/auth/signup", "POST")) {
    if (m == "POST") signup(req, rid, r);
    return true;
  }
  if (is("/api/auth/login", "POST")) {
    if (m == "POST") login(req, rid, r);
    return true;
  }
  if (is("/api/auth/logout", "POST")) {
    if (m == "POST") logout(req, rid, r);
    return true;
  }
  if (is("/api/auth/me", "GET")) {
    if (m == "GET") me(req, rid, r);
    return true;
  }
  const bool keys = path == "/api/keys" || path.starts_with("/api/keys/");
  const bool usage = path == "/api/usage";
  const bool admin = path == "/api/admin" || path.starts_with("/api/admin/");
  if (!keys && !usage && !admin) return false;

  Result<Principal> who = authenticator_.authenticate(req);
  if (!who.ok()) {
    reply_error(*r, rid, who.status());
    return true;
  }
  const Principal& p = *who;
  if (usage) {
    if (m != "GET") {
      reply_error(*r, rid, method_not_allowed(m, "GET"));
    } else {
      own_usage(req, p, rid, r);
    }
  } else if (admin) {
    if (!p.is_admin() || (!p.api_key_id.empty() && !p.may(auth::Scope::kAdmin))) {
      reply_error(*r, rid,
                  Status(ErrorCode::kPermissionDenied, "This endpoint is for administrators.")
                      .with_detail("code", "admin_required"));
    } else {
      this->admin(req, p, path.substr(std::string_view("/api/admin").size()), rid, r);
    }
  } else if (!p.api_key_id.empty()) {
    reply_error(*r, rid, needs_session());
  } else if (path == "/api/keys") {
    if (m == "GET") {
      list_keys(p, rid, r);
    } else if (m == "POST") {
      create_key(req, p, rid, r);
    } else {
      reply_error(*r, rid, method_not_allowed(m, "GET, POST"));
    }
  } else {
    const std::string_view id = path.substr(std::string_view("/api/keys/").size());
    if (m != "DELETE") {
      reply_error(*r, rid, method_not_allowed(m, "DELETE"));
    } else {
      revoke_key(p, id, rid, r);
    }
  }
  return true;
}

// ---- authentication -----------------------------------------------------------------------------

void AccountApi::auth_options(const std::string& rid, const Responder& r) {
  boost::json::object o;
  o["auth_mode"] = std::string(auth_mode_name(authenticator_.mode()));
  o["signup"] = options_.signup && authenticator_.mode() == AuthMode::kRequired;
  reply(*r, 200, rid, o);
}

Status AccountApi::check_login_rate(const HttpRequest& req, std::string_view email) {
  const std::string ip_key = "ip:" + req.remote_address + ":login";
  const auth::RateDecision ip =
      limiter_.try_acquire(ip_key, 1, auth::TokenBucketSpec::per_minute(options_.login_per_minute_ip));
  if (!ip.allowed) return auth::rate_limited_error(ip, "log-in attempts from this address");
  if (!email.empty()) {
    const auth::RateDecision account = limiter_.try_acquire(
        "login:" + ascii_lower(email), 1, auth::TokenBucketSpec::per_minute(options_.login_per_minute_account));
    if (!account.allowed) return auth::rate_limited_error(account, "log-in attempts for this account");
  }
  return ok_status();
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
  boost::json::object o;
  o["user"] = user_json(user);
  o["csrf_token"] = authenticator_.csrf().token_for(token.token);
  reply(*r, status, rid, o, {{"Set-Cookie", *header}});
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
  if (Status st = auth::validate_password(**password); !st.ok()) return reply_error(*r, rid, st);
  if (Status st = check_login_rate(req, ""); !st.ok()) return reply_error(*r, rid, st);
  store::NewUser nu;
  nu.email = std::move(**email);
  nu.display_name = name->value_or("");
  on_password_pool(rid, r, [this, nu = std::move(nu), pw = std::move(**password), rid, r]() mutable {
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
      auth::verify_password_dummy(pw);  // the same time as a real check: no hint that the email is unknown
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

void AccountApi::logout(const HttpRequest& req, const std::string& rid, const Responder& r) {
  Result<Principal> who = authenticator_.authenticate(req);  // a session's log-out needs its CSRF token
  if (!who.ok()) return reply_error(*r, rid, who.status());
  if (!who->via_session) return api_json::reply_no_content(*r, rid);  // nothing to end: local mode or a key
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

void AccountApi::me(const HttpRequest& req, const std::string& rid, const Responder& r) {
  Result<Principal> who = authenticator_.authenticate(req);
  if (!who.ok()) return reply_error(*r, rid, who.status());
  Result<store::User> user = store_.get_user(who->user_id);
  if (!user.ok()) return reply_error(*r, rid, store_error(user.status()));
  boost::json::object o;
  o["user"] = user_json(*user);
  o["auth_mode"] = std::string(auth_mode_name(authenticator_.mode()));
  o["via"] = who->local_mode ? "local" : who->via_session ? "session" : "api_key";
  if (who->via_session) o["csrf_token"] = authenticator_.csrf().token_for(authenticator_.session_token(req));
  boost::json::array scopes;
  for (const auth::Scope s : {auth::Scope::kChat, auth::Scope::kModels, auth::Scope::kAdmin}) {
    if (who->may(s)) scopes.emplace_back(std::string(auth::scope_name(s)));
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
  for (const auth::Scope s : {auth::Scope::kChat, auth::Scope::kModels, auth::Scope::kAdmin}) {
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
  reply(*r, 200, rid, o);
}

}  // namespace parley
