#include "gateway/route_table.h"

#include <fmt/format.h>

#include <charconv>

#include "base/check.h"
#include "gateway/http_errors.h"

namespace parley {
namespace {

// "/a/{id}/b" -> {"a", "{id}", "b"}; "/" -> {}.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.push_back(path);  // a trailing '/' is an empty last segment
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}
bool is_rest_param(std::string_view seg) {
  return is_param(seg) && seg[1] == '*';
}
std::string_view param_name(std::string_view seg) {
  return is_rest_param(seg) ? seg.substr(2, seg.size() - 3) : seg.substr(1, seg.size() - 2);
}

// Matches `path` against `pattern`; fills `params` on success.
bool matches(std::string_view pattern, std::string_view path,
             std::vector<std::pair<std::string, std::string>>* params) {
  const std::vector<std::string_view> want = segments(pattern);
  const std::vector<std::string_view> got = segments(path);
  params->clear();
  std::size_t i = 0;
  for (; i < want.size(); ++i) {
    if (is_rest_param(want[i])) {
      if (i >= got.size() || got[i].empty()) return false;
      // The rest of the path, as sent (it may contain '/').
      const std::string_view first = got[i];
      const std::size_t start = static_cast<std::size_t>(first.data() - path.data());
      const std::string_view rest = path.substr(start);
      if (rest.empty()) return false;
      params->emplace_back(std::string(param_name(want[i])), std::string(rest));
      return true;
    }
    if (i >= got.size()) return false;
    if (is_param(want[i])) {
      if (got[i].empty()) return false;
      params->emplace_back(std::string(param_name(want[i])), std::string(got[i]));
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  return i == got.size();
}

bool method_matches(std::string_view method, std::string_view route_method) {
  return method == route_method || (method == "HEAD" && route_method == "GET");
}

}  // namespace

std::string_view RouteCall::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

void RouteTable::add(RouteSpec spec) {
  CHECK(!spec.pattern.empty() && spec.pattern.front() == '/', "route pattern must start with '/': {}", spec.pattern);
  const std::vector<std::string_view> segs = segments(spec.pattern);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    CHECK(!segs[i].empty(), "empty segment in route pattern {}", spec.pattern);
    CHECK(!is_rest_param(segs[i]) || i + 1 == segs.size(), "{{*name}} must be last in {}", spec.pattern);
  }
  for (const RouteSpec& r : routes_) {
    CHECK(!(r.method == spec.method && r.pattern == spec.pattern), "route {} {} added twice", spec.method,
          spec.pattern);
  }
  CHECK(static_cast<bool>(spec.handler), "route {} {} has no handler", spec.method, spec.pattern);
  routes_.push_back(std::move(spec));
}

void RouteTable::set_fallback(RouteSpec spec, std::vector<std::string> reserved) {
  CHECK(!fallback_.has_value(), "a second fallback route {} {}", spec.method, spec.pattern);
  const std::vector<std::string_view> segs = segments(spec.pattern);
  CHECK(segs.size() == 1 && is_rest_param(segs[0]), "a fallback route's pattern is /{{*name}}, not {}", spec.pattern);
  for (const std::string& p : reserved) {
    CHECK(p.size() > 1 && p.front() == '/' && p.back() != '/', "reserved prefix {} must be /name", p);
  }
  add(std::move(spec));
  fallback_ = routes_.size() - 1;
  reserved_ = std::move(reserved);
}

bool RouteTable::fallback_covers(std::string_view path) const {
  if (!path.starts_with('/')) return false;
  for (const std::string& p : reserved_) {
    if (path.starts_with(p) && (path.size() == p.size() || path[p.size()] == '/')) return false;
  }
  return true;
}

RouteTable::Match RouteTable::match(std::string_view method, std::string_view path) const {
  Match out;
  std::vector<std::pair<std::string, std::string>> params;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const RouteSpec& r = routes_[i];
    if (i == fallback_ || !matches(r.pattern, path, &params)) continue;
    if (out.route == nullptr && method_matches(method, r.method)) {
      out.route = &r;
      out.params = params;
    }
    if (out.allowed.find(r.method) == std::string::npos) {
      if (!out.allowed.empty()) out.allowed += ", ";
      out.allowed += r.method;
      if (r.method == "GET") out.allowed += ", HEAD";
    }
  }
  if (out.allowed.empty() && fallback_ && fallback_covers(path)) {
    const RouteSpec& f = routes_[*fallback_];
    if (method_matches(method, f.method)) {
      out.route = &f;
      out.params = {{std::string(param_name(segments(f.pattern)[0])), std::string(path.substr(1))}};
    }
    out.allowed = f.method == "GET" ? "GET, HEAD" : std::string(f.method);
  }
  return out;
}

Status authorize(const RouteSpec& route, const Principal& p) {
  if (route.caller == Caller::kAnyone) return ok_status();
  if (route.caller == Caller::kApiKey && p.via_session) {
    // The OpenAI API is for programs: they authenticate with keys. A browser session here would
    // also make every POST need a CSRF token that OpenAI clients do not send.
    return Status(ErrorCode::kUnauthenticated, "The OpenAI API needs an API key: 'Authorization: Bearer pk-...'.")
        .with_detail("code", "invalid_api_key");
  }
  if (route.caller == Caller::kSession && !p.api_key_id.empty()) {
    // An API key cannot mint, list or revoke keys nor end a session: a leaked chat key must not
    // be turned into a stronger one or used to sign its owner out.
    return Status(ErrorCode::kPermissionDenied, "This endpoint needs a signed-in session, not an API key.")
        .with_detail("code", "session_required");
  }
  if (route.admin && (!p.is_admin() || (!p.api_key_id.empty() && !p.may(auth::Scope::kAdmin)))) {
    return Status(ErrorCode::kPermissionDenied, "This endpoint is for administrators.")
        .with_detail("code", "admin_required");
  }
  if (route.scope && !p.may(*route.scope)) {
    return Status(ErrorCode::kPermissionDenied,
                  fmt::format("This API key lacks the '{}' scope.", auth::scope_name(*route.scope)))
        .with_detail("code", "insufficient_scope");
  }
  return ok_status();
}

Status no_route_error(const HttpRequest& request, const RouteTable::Match& match, HttpHeaders* extra) {
  const std::string method = request.method.substr(0, 16);
  const std::string path = request.path.substr(0, 256);
  if (match.allowed.empty()) {
    return not_found_error("Unknown path {} {}.", method, path).with_detail("code", "not_found");
  }
  extra->emplace_back("Allow", match.allowed);
  return invalid_argument_error("Method {} is not allowed for {} (allowed: {}).", method, path, match.allowed)
      .with_detail("http_status", "405")
      .with_detail("code", "method_not_allowed");
}

bool is_json_media_type(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return iequals(type, "application/json");
}

Status check_body_head(const RouteSpec& route, const HttpRequest& head) {
  const std::string_view length = head.header("Content-Length");
  std::uint64_t declared = 0;
  if (!length.empty()) std::from_chars(length.data(), length.data() + length.size(), declared);
  if (route.json_body && !is_json_media_type(head.header("Content-Type"))) {
    // Besides telling a confused client what is wrong: a browser cannot send this type cross-site
    // without a CORS preflight, which Parley never grants.
    return invalid_argument_error("The request body must be JSON, sent with 'Content-Type: application/json'.")
        .with_detail("http_status", "415")
        .with_detail("code", "unsupported_media_type");
  }
  if (declared > route.max_body_bytes || head.body.size() > route.max_body_bytes) {
    return invalid_argument_error("The request body is larger than {} bytes.", route.max_body_bytes)
        .with_detail("http_status", "413")
        .with_detail("code", "request_too_large");
  }
  return ok_status();
}

void serve_authenticated(const RouteTable& table, HttpRequest request, const Principal& principal,
                         std::shared_ptr<HttpResponder> responder, std::string request_id) {
  RouteTable::Match m = table.match(request.method, request.path);
  HttpHeaders extra;
  Status st = m.route == nullptr ? no_route_error(request, m, &extra) : authorize(*m.route, principal);
  if (st.ok()) st = check_body_head(*m.route, request);
  if (!st.ok()) {
    const HttpError e = to_http_error(st);
    HttpHeaders h{{"Content-Type", "application/json"}, {"X-Request-Id", request_id}};
    if (e.retry_after_s > 0) h.emplace_back("Retry-After", std::to_string(e.retry_after_s));
    for (auto& kv : extra) h.push_back(std::move(kv));
    responder->respond(e.status, std::move(h), e.body());
    return;
  }
  RouteCall call;
  call.request = std::move(request);
  call.principal = principal;
  call.params = std::move(m.params);
  call.request_id = std::move(request_id);
  call.responder = std::move(responder);
  m.route->handler(call);
}

}  // namespace parley
