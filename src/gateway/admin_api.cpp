// AccountApi: the admin endpoints (their routes require the admin role: account_api.cpp).
//
//   GET   /api/admin/users?search=&limit=&offset=    list (oldest first)
//   POST  /api/admin/users  {email, password, display_name?, role?}
//   GET   /api/admin/users/{id}
//   PATCH /api/admin/users/{id}  {display_name?, role?, disabled?}   disable/enable, change role
//   POST  /api/admin/users/{id}/password  {password}    reset; ends the user's sessions
//   GET   /api/admin/users/{id}/usage?from=&to=       one user's usage by model
//   GET   /api/admin/usage?from=&to=                  everyone's usage by user (by cost)
#include <fmt/format.h>

#include <charconv>

#include "base/log.h"
#include "gateway/account_api.h"
#include "gateway/api_json.h"
#include "net/url.h"

namespace parley {
namespace {

using api_json::reply;
using api_json::reply_error;
using api_json::store_error;

Status user_not_found() {
  return not_found_error("No such user.").with_detail("param", "id");
}

Result<store::UserRole> role_from(const std::optional<std::string>& name) {
  if (!name) return store::UserRole::kUser;
  Result<auth::Role> role = auth::parse_role(*name);
  if (!role.ok()) return role.status().with_detail("param", "role");
  return store_role(*role);
}

Result<store::UserQuery> user_query(const HttpRequest& req) {
  store::UserQuery q;
  Result<QueryParams> params = parse_query(req.query);
  if (!params.ok()) return invalid_argument_error("The query string is malformed.");
  for (const auto& [name, value] : *params) {
    if (name == "search") {
      if (value.size() > store::kMaxSearchBytes)
        return invalid_argument_error("'search' is too long.").with_detail("param", "search");
      q.search = value;
    } else if (name == "limit" || name == "offset") {
      int v = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      const int hi = name == "limit" ? store::kMaxPageLimit : 1'000'000;
      if (ec != std::errc() || ptr != value.data() + value.size() || v < (name == "limit" ? 1 : 0) || v > hi) {
        return invalid_argument_error("'{}' must be an integer in [{}, {}].", name, name == "limit" ? 1 : 0, hi)
            .with_detail("param", name);
      }
      (name == "limit" ? q.page.limit : q.page.offset) = v;
    }
  }
  return q;
}

}  // namespace

void AccountApi::admin_list_users(const HttpRequest& req, const std::string& rid, const Responder& r) {
  Result<store::UserQuery> q = user_query(req);
  if (!q.ok()) return reply_error(*r, rid, q.status());
  Result<store::Page<store::User>> page = store_.list_users(*q);
  if (!page.ok()) return reply_error(*r, rid, store_error(page.status()));
  boost::json::array data;
  for (const store::User& u : page->items) data.push_back(user_json(u));
  boost::json::object o;
  o["object"] = "list";
  o["data"] = std::move(data);
  o["has_more"] = page->has_more;
  reply(*r, 200, rid, o);
}

void AccountApi::admin_usage(const HttpRequest& req, const std::string& rid, const Responder& r) {
  Result<api_json::UsageWindow> w = api_json::usage_window(req, usage_.now());
  if (!w.ok()) return reply_error(*r, rid, w.status());
  Result<std::vector<store::UserUsage>> by_user = store_.usage_by_user(w->from, w->to);
  if (!by_user.ok()) return reply_error(*r, rid, store_error(by_user.status()));
  boost::json::array data;
  for (const store::UserUsage& u : *by_user) {
    boost::json::object o = api_json::totals_json(u.totals);
    o["user_id"] = u.user_id;
    o["email"] = u.email;
    data.push_back(std::move(o));
  }
  boost::json::object o;
  o["from"] = api_json::unix_seconds(w->from);
  o["to"] = api_json::unix_seconds(w->to);
  o["by_user"] = std::move(data);
  reply(*r, 200, rid, o);
}

void AccountApi::admin_get_user(std::string_view user_id, const std::string& rid, const Responder& r) {
  Result<store::User> u = store_.get_user(user_id);
  if (!u.ok())
    return reply_error(*r, rid, u.status().code() == ErrorCode::kNotFound ? user_not_found() : store_error(u.status()));
  reply(*r, 200, rid, user_json(*u));
}

void AccountApi::admin_user_usage(const HttpRequest& req, std::string_view user_id, const std::string& rid,
                                  const Responder& r) {
  Result<store::User> u = store_.get_user(user_id);
  if (!u.ok())
    return reply_error(*r, rid, u.status().code() == ErrorCode::kNotFound ? user_not_found() : store_error(u.status()));
  Result<api_json::UsageWindow> w = api_json::usage_window(req, usage_.now());
  if (!w.ok()) return reply_error(*r, rid, w.status());
  Result<std::vector<store::ModelUsage>> by_model = store_.usage_summary(u->id, w->from, w->to);
  if (!by_model.ok()) return reply_error(*r, rid, store_error(by_model.status()));
  boost::json::array data;
  for (const store::ModelUsage& mu : *by_model) {
    boost::json::object o = api_json::totals_json(mu.totals);
    o["model"] = mu.model;
    data.push_back(std::move(o));
  }
  boost::json::object o;
  o["user"] = user_json(*u);
  o["from"] = api_json::unix_seconds(w->from);
  o["to"] = api_json::unix_seconds(w->to);
  o["by_model"] = std::move(data);
  reply(*r, 200, rid, o);
}

void AccountApi::admin_create_user(const HttpRequest& req, const std::string& rid, const Responder& r) {
  Result<boost::json::object> body = api_json::parse_body(req, {"email", "password", "display_name", "role"});
  if (!body.ok()) return reply_error(*r, rid, body.status());
  auto email = api_json::string_field(*body, "email", store::kMaxEmailBytes);
  auto password = api_json::string_field(*body, "password", auth::kPasswordBytesMax);
  auto name = api_json::string_field(*body, "display_name", store::kMaxDisplayNameBytes);
  auto role_name = api_json::string_field(*body, "role", 16);
  for (const Status& st : {email.status(), password.status(), name.status(), role_name.status()}) {
    if (!st.ok()) return reply_error(*r, rid, st);
  }
  if (!*email) return reply_error(*r, rid, api_json::missing("email"));
  if (!*password) return reply_error(*r, rid, api_json::missing("password"));
  Result<store::UserRole> role = role_from(*role_name);
  if (!role.ok()) return reply_error(*r, rid, role.status());
  store::NewUser nu;
  nu.email = std::move(**email);
  nu.display_name = name->value_or("");
  nu.role = *role;
  on_password_pool(rid, r, [this, nu = std::move(nu), pw = std::move(**password), rid, r]() mutable {
    Status valid = auth::validate_password(pw, {.email = nu.email, .display_name = nu.display_name});
    if (!valid.ok()) return reply_error(*r, rid, valid);
    Result<std::string> hash = auth::hash_password(pw, options_.password);
    if (!hash.ok()) return reply_error(*r, rid, hash.status());
    nu.password_hash = std::move(*hash);
    Result<store::User> user = store_.create_user(nu);
    if (!user.ok()) return reply_error(*r, rid, store_error(user.status()));
    log_event(LogLevel::kInfo, "user created by an admin",
              {{"request_id", rid}, {"user_id", user->id}, {"role", store::user_role_name(user->role)}});
    reply(*r, 201, rid, user_json(*user));
  });
}

void AccountApi::admin_update_user(const HttpRequest& req, const Principal& p, std::string_view user_id,
                                   const std::string& rid, const Responder& r) {
  Result<boost::json::object> body = api_json::parse_body(req, {"display_name", "role", "disabled"});
  if (!body.ok()) return reply_error(*r, rid, body.status());
  auto name = api_json::string_field(*body, "display_name", store::kMaxDisplayNameBytes);
  auto role_name = api_json::string_field(*body, "role", 16);
  auto disabled = api_json::bool_field(*body, "disabled");
  for (const Status& st : {name.status(), role_name.status(), disabled.status()}) {
    if (!st.ok()) return reply_error(*r, rid, st);
  }
  store::UserUpdate up;
  up.display_name = *name;
  up.disabled = *disabled;
  if (*role_name) {
    Result<store::UserRole> role = role_from(*role_name);
    if (!role.ok()) return reply_error(*r, rid, role.status());
    up.role = *role;
  }
  // An admin who disables or demotes themselves may leave nobody able to undo it.
  if (user_id == p.user_id && ((up.disabled && *up.disabled) || (up.role && *up.role != store::UserRole::kAdmin))) {
    return reply_error(
        *r, rid,
        invalid_argument_error("You cannot disable or demote your own account.").with_detail("code", "self_lockout"));
  }
  Result<store::User> u = store_.update_user(user_id, up);
  if (!u.ok())
    return reply_error(*r, rid, u.status().code() == ErrorCode::kNotFound ? user_not_found() : store_error(u.status()));
  if (u->disabled) {
    // Its keys and sessions are refused from now on anyway (checked per request); deleting the
    // sessions also makes re-enabling require a fresh log-in.
    store_.delete_user_sessions(u->id).status().ignore();
  }
  log_event(
      LogLevel::kInfo, "user updated by an admin",
      {{"request_id", rid}, {"user_id", u->id}, {"role", store::user_role_name(u->role)}, {"disabled", u->disabled}});
  reply(*r, 200, rid, user_json(*u));
}

void AccountApi::admin_reset_password(const HttpRequest& req, std::string_view user_id, const std::string& rid,
                                      const Responder& r) {
  Result<boost::json::object> body = api_json::parse_body(req, {"password"});
  if (!body.ok()) return reply_error(*r, rid, body.status());
  auto password = api_json::string_field(*body, "password", auth::kPasswordBytesMax);
  if (!password.ok()) return reply_error(*r, rid, password.status());
  if (!*password) return reply_error(*r, rid, api_json::missing("password"));
  Result<store::User> u = store_.get_user(user_id);
  if (!u.ok())
    return reply_error(*r, rid, u.status().code() == ErrorCode::kNotFound ? user_not_found() : store_error(u.status()));
  on_password_pool(rid, r, [this, u = std::move(*u), pw = std::move(**password), rid, r] {
    Status valid = auth::validate_password(pw, {.email = u.email, .display_name = u.display_name});
    if (!valid.ok()) return reply_error(*r, rid, valid);
    const std::string& id = u.id;
    Result<std::string> hash = auth::hash_password(pw, options_.password);
    if (!hash.ok()) return reply_error(*r, rid, hash.status());
    Result<store::User> updated = store_.update_user(id, {.password_hash = std::move(*hash)});
    if (!updated.ok()) return reply_error(*r, rid, store_error(updated.status()));
    store_.delete_user_sessions(id).status().ignore();  // whoever knew the old password is signed out
    log_event(LogLevel::kInfo, "password reset by an admin", {{"request_id", rid}, {"user_id", id}});
    reply(*r, 200, rid, user_json(*updated));
  });
}

}  // namespace parley
