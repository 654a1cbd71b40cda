// Which Host and Origin values the gateway serves: the defence against DNS rebinding and against
// web pages that make a browser send requests to Parley (docs/security.md).
//
// Host. A page on attacker.example can rebind its name to 127.0.0.1 and then talk to a local
// Parley as "same origin"; its requests still carry "Host: attacker.example". So in local mode
// (authentication off, everyone acts as the local admin) only these Host values are served:
// IP address literals (a page whose origin is an address cannot rebind it), "localhost" and names
// under ".localhost", and the configured `allowed_hosts`. With authentication on, any Host is
// served unless `allowed_hosts` is set, which then applies as in local mode. A request without
// Host (HTTP/1.0) is served: browsers always send it.
//
// Origin. A state-changing request (any method but GET, HEAD, OPTIONS) from a browser carries
// Origin; it is served only when that origin is the server itself (its host and port equal the
// Host header's) or one of `allowed_origins`. "Origin: null" (sandboxed frames, file: pages) and
// "Sec-Fetch-Site: cross-site" without an allowed Origin are refused. Requests without Origin
// (programs, curl, the OpenAI SDKs) are not affected. CORS stays off: Parley never answers a
// preflight, so a page of another origin cannot read any answer.
//
// Errors: kPermissionDenied (403) with code "host_not_allowed" or "cross_origin".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "net/http_request.h"

namespace parley {

struct HostPolicy {
  bool local_mode = true;
  // Host names to serve besides the above: "chat.example.com"; ".example.com" is that domain and
  // every name under it; "*" any. Compared without the port, ignoring case.
  std::vector<std::string> allowed_hosts;
  // Origins allowed to make state-changing requests besides the server's own:
  // "https://app.example.com" (scheme, host and port as browsers send them).
  std::vector<std::string> allowed_origins;
};

// The host of a Host header without the port and brackets: "[::1]:8080" -> "::1", lower-cased.
// Empty for a malformed value.
std::string host_without_port(std::string_view host_header);

Status check_host(const HostPolicy& policy, std::string_view host_header);

// For state-changing requests; others always pass.
Status check_origin(const HostPolicy& policy, const HttpRequest& head);

// Checks an allowed_hosts / allowed_origins entry from the configuration (kInvalidArgument).
Status validate_allowed_host(std::string_view entry);
Status validate_allowed_origin(std::string_view entry);

}  // namespace parley
