// HttpRequest: one parsed HTTP/1.x request, as HttpServer hands it to a handler, plus the header
// helpers shared by the server and the client (net/http_client.h).
//
// A plain value with no ties to the connection it came from: a handler may move it to another
// thread and keep it as long as it likes.
#pragma once

#include <any>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley {

// Header fields in wire order. Names keep the case they were given with; lookups ignore ASCII
// case. A field that appears twice stays two entries (Set-Cookie cannot be folded).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality, the way HTTP compares field names and tokens.
bool iequals(std::string_view a, std::string_view b);

// The value of the first field named `name` (case-insensitive), or "" when there is none.
std::string_view find_header(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ... exactly as sent (methods are case-sensitive)
  std::string target;  // the request target as sent: path + optional "?query"
  std::string path;    // the path, percent-decoded, without the query ("/v1/models")
  std::string query;   // the raw query string without "?" (decode with parse_query, net/url.h)
  int version = 11;    // 10 for HTTP/1.0, 11 for HTTP/1.1
  HttpHeaders headers;
  std::string body;            // de-chunked; at most HttpServerOptions::max_body_bytes
  std::string remote_address;  // the peer's IP address ("127.0.0.1", "::1"); no port
  // What a HeadHandler attached when it admitted the request (net/http_admission.h), e.g. the
  // authenticated caller; empty for servers without one.
  std::any context;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

}  // namespace parley
