#include "auth/roles.h"

#include <array>

namespace parley::auth {

namespace {
constexpr std::array kAllScopes = {Scope::kChat, Scope::kModels, Scope::kAdmin, Scope::kBatch};
}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kUser:
      return "user";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

Result<Role> parse_role(std::string_view name) {
  if (name == "user") return Role::kUser;
  if (name == "admin") return Role::kAdmin;
  return invalid_argument_error("unknown role '{}': expected 'user' or 'admin'", name).with_detail("param", "role");
}

std::string_view scope_name(Scope scope) {
  switch (scope) {
    case Scope::kChat:
      return "chat";
    case Scope::kModels:
      return "models";
    case Scope::kAdmin:
      return "admin";
    case Scope::kBatch:
      return "batch";
  }
  return "unknown";
}

Result<Scope> parse_scope(std::string_view name) {
  for (const Scope s : kAllScopes) {
    if (scope_name(s) == name) return s;
  }
  return invalid_argument_error("unknown scope '{}': expected one of chat, models, admin, batch", name)
      .with_detail("param", "scopes");
}

std::string ScopeSet::to_string() const {
  std::string out;
  for (const Scope s : kAllScopes) {
    if (!has(s)) continue;
    if (!out.empty()) out += ',';
    out += scope_name(s);
  }
  return out;
}

ScopeSet scopes_for_role(Role role) {
  return role == Role::kAdmin ? ScopeSet{Scope::kChat, Scope::kModels, Scope::kAdmin}
                              : ScopeSet{Scope::kChat, Scope::kModels};
}

ScopeSet key_scopes_for_role(Role role) {
  ScopeSet s = scopes_for_role(role);
  s.add(Scope::kBatch);
  return s;
}

Result<ScopeSet> parse_scope_list(std::string_view text) {
  ScopeSet out;
  auto is_sep = [](char c) { return c == ',' || c == ' '; };
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_sep(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !is_sep(text[j])) ++j;
    ASSIGN_OR_RETURN(const Scope s, parse_scope(text.substr(i, j - i)));
    if (out.has(s)) {
      return invalid_argument_error("scope '{}' is listed twice", scope_name(s)).with_detail("param", "scopes");
    }
    out.add(s);
    i = j;
  }
  if (out.empty()) return invalid_argument_error("no scopes given").with_detail("param", "scopes");
  return out;
}

Status check_scopes_for_role(ScopeSet scopes, Role role) {
  const ScopeSet allowed = key_scopes_for_role(role);
  for (const Scope s : kAllScopes) {
    if (scopes.has(s) && !allowed.has(s)) {
      return Status(ErrorCode::kPermissionDenied,
                    fmt::format("a key of a {} may not have the '{}' scope", role_name(role), scope_name(s)));
    }
  }
  return ok_status();
}

}  // namespace parley::auth
