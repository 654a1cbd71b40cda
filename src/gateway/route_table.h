// RouteTable: every endpoint of the gateway declared in one place — method, path pattern, who may
// call it, what body it takes, the handler — so that each check is written and tested once instead
// of by every API on its own. The Gateway makes the checks from a request's head, before its body
// is read (net/http_admission.h), in this order:
//
//   Host allowed (DNS rebinding; see Gateway)         403 host_not_allowed
//   the route: path known, method allowed             404 not_found, 405 with Allow (HEAD = GET)
//     (paths outside the API go to the fallback route: the web UI, gateway/static_site.h)
//   Origin of state-changing requests (see Gateway)   403 cross_origin
//   body: JSON media type, declared size              415 unsupported_media_type, 413
//   caller: credentials (Authenticator), then         401, 403 csrf_failed
//           authorize(): session vs API key, the      401 invalid_api_key, 403 session_required,
//           key's scope, the admin role               403 insufficient_scope, 403 admin_required
//   the body is read (at most max_body_bytes), then the handler runs.
//
// Unknown JSON fields: refused by Parley's own /api/* endpoints (a typo must not be ignored),
// ignored by the OpenAI-compatible /v1/* ones (OpenAI's SDKs send new fields over time).
//
// Thread safety: routes are added before serving; match() and authorize() are then read-only.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/roles.h"
#include "base/status.h"
#include "gateway/principal.h"
#include "gateway/request_trace.h"
#include "net/http_request.h"
#include "net/http_responder.h"

namespace parley {

enum class Caller : std::uint8_t {
  kAnyone,   // no credentials needed (probes, sign-up, log-in, auth options)
  kUser,     // a browser session or an API key (the local user in local mode)
  kSession,  // a browser session only; an API key is 403 session_required (keys, log-out)
  kApiKey,   // an API key only; a session is 401 invalid_api_key (the OpenAI API)
};

// One request on its way to a handler.
struct RouteCall {
  HttpRequest request;
  Principal principal;                                      // empty for Caller::kAnyone routes
  std::vector<std::pair<std::string, std::string>> params;  // from the pattern's {names}
  std::string request_id;
  std::shared_ptr<HttpResponder> responder;
  RequestTrace trace;  // the route's spans (recording only for RouteSpec::traced routes)

  // The value of the pattern's {name} ("" when the pattern has none).
  std::string_view param(std::string_view name) const;
};

using RouteHandler = std::function<void(RouteCall& call)>;

// Bodies of routes that take none are accepted up to this size and ignored (clients send "{}" or
// a few bytes with a POST that needs nothing).
inline constexpr std::size_t kIgnoredBodyBytes = 4096;

struct RouteSpec {
  std::string_view method;   // "GET", "POST", ...; a GET route also answers HEAD
  std::string_view pattern;  // "/api/conversations/{id}/stop"; a last "{*name}" takes the rest
  std::string_view name;     // the endpoint in logs and metrics: "chat", "conversations", ...
  Caller caller = Caller::kUser;
  std::optional<auth::Scope> scope;  // what an API key needs (sessions have what their role allows)
  bool admin = false;                // the admin role (and, through a key, its admin scope)
  bool json_body = false;            // Content-Type: application/json (415 otherwise)
  std::size_t max_body_bytes = kIgnoredBodyBytes;
  // Runs on the gateway's request pool (it blocks on the database or does CPU work); false: on
  // the I/O thread (it answers at once, or hands the work to its own pool).
  bool on_pool = true;
  // Its requests are traced (gateway/request_trace.h): the routes that generate.
  bool traced = false;
  RouteHandler handler;
};

class RouteTable {
 public:
  // Patterns are checked when added (CHECK: a malformed pattern or a duplicate method and
  // pattern is a programming error).
  void add(RouteSpec spec);

  struct Match {
    const RouteSpec* route = nullptr;  // null: 404 when `allowed` is empty, else 405
    std::string allowed;               // the methods of a known path, for 405's Allow
    std::vector<std::pair<std::string, std::string>> params;
  };
  // The route of last resort (the web UI: its files and client-side routes). It takes every path
  // that no other route matches, except those under `reserved` prefixes, each of which covers
  // itself and what is below it ("/api": "/api" and "/api/..."): an unknown API path stays a 404,
  // and another method on a path it covers is a 405. Its pattern must be "/{*name}"; {name} binds
  // the path without its leading '/' ("" for "/"). At most one (CHECK).
  void set_fallback(RouteSpec spec, std::vector<std::string> reserved);

  // Path segments match literally or bind a {name} (one non-empty segment) or a last {*name}.
  // HEAD matches GET routes.
  Match match(std::string_view method, std::string_view path) const;

  // Every route, the fallback included.
  const std::vector<RouteSpec>& routes() const { return routes_; }
  const RouteSpec* fallback() const { return fallback_ ? &routes_[*fallback_] : nullptr; }
  const std::vector<std::string>& reserved() const { return reserved_; }
  // True when `path` is outside every reserved prefix: the fallback may answer it.
  bool fallback_covers(std::string_view path) const;

 private:
  std::vector<RouteSpec> routes_;
  std::optional<std::size_t> fallback_;  // its index in routes_
  std::vector<std::string> reserved_;
};

// The status of a route the caller may not use, or OK. `principal` is the authenticated caller.
Status authorize(const RouteSpec& route, const Principal& principal);

// 404/405 for a request that matched no route (with "Allow" in `extra` for 405).
Status no_route_error(const HttpRequest& request, const RouteTable::Match& match, HttpHeaders* extra);

// The checks of a route's body made from the head: media type (415) and declared size (413).
Status check_body_head(const RouteSpec& route, const HttpRequest& head);

// For callers that authenticate on their own (tests, embedders): matches `request` in `table`,
// authorizes `principal`, checks the body and runs the handler there and then, or answers the
// error (OpenAI's body, gateway/http_errors.h).
void serve_authenticated(const RouteTable& table, HttpRequest request, const Principal& principal,
                         std::shared_ptr<HttpResponder> responder, std::string request_id);

// True for "application/json" with any parameters (charset=utf-8).
bool is_json_media_type(std::string_view content_type);

}  // namespace parley
