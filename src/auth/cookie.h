// HTTP cookies: the Set-Cookie value the server sends (RFC 6265 section 4.1) and a parser for the
// Cookie header browsers send back (section 4.2), with limits.
//
// Thread safety: plain functions and values; nothing shared.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace parley::auth {

// SameSite=None is deliberately absent: Parley's cookies are never needed on cross-site requests,
// and None would hand CSRF its easiest path back.
enum class SameSite { kLax, kStrict };

struct SetCookie {
  std::string name;   // an RFC 9110 token; "__Host-" names require secure and path "/"
  std::string value;  // cookie-octets only (no spaces, quotes, commas, semicolons, backslashes)
  // Lifetime; nullopt makes a session cookie (dropped when the browser closes), 0 deletes it.
  std::optional<std::chrono::seconds> max_age;
  bool secure = true;                   // sent only over TLS; set whenever the server is reached over HTTPS
  bool http_only = true;                // invisible to JavaScript, so an XSS cannot read the session token
  SameSite same_site = SameSite::kLax;  // Lax: top-level navigations from links keep the session
  std::string path = "/";
  // No Domain attribute on purpose: a host-only cookie is not sent to subdomains.
};

// The Set-Cookie header value, e.g.
// "__Host-parley_session=abc; Max-Age=2592000; Path=/; Secure; HttpOnly; SameSite=Lax".
// kInvalidArgument for an invalid name, value or path, a negative max_age, or a "__Host-" /
// "__Secure-" name without the attributes browsers demand of it (they would drop the cookie).
Result<std::string> set_cookie_header(const SetCookie& cookie);

// The Set-Cookie value that deletes cookie `name` (empty value, Max-Age=0, same Path and Secure
// as when it was set).
Result<std::string> delete_cookie_header(std::string_view name, bool secure);

struct CookieLimits {
  std::size_t header_bytes_max = 8192;  // what a browser sends for one host stays well below
  std::size_t cookies_max = 64;         // pairs, well-formed or not
};

struct Cookie {
  std::string_view name;
  std::string_view value;  // surrounding double quotes removed
};

// Views into the parsed header: valid while the header string lives.
struct ParsedCookies {
  std::vector<Cookie> cookies;  // in header order; a name may repeat
  std::size_t n_malformed = 0;  // pairs dropped: no '=', a name that is not a token, bad octets

  // The first value of `name`, if any. Several cookies of one name arrive when a browser holds
  // cookies with different Path or Domain attributes; browsers send the longest path first.
  std::optional<std::string_view> find(std::string_view name) const;
  std::size_t count(std::string_view name) const;
};

// Parses a Cookie header value: "name=value" pairs separated by ";", optional spaces and tabs
// around each. Malformed pairs are dropped and counted rather than failing the header: other
// applications on the same host may set cookies Parley would never write, and one of those must
// not lock a user out. Empty pairs (";;", a trailing ";") are ignored. Errors (kInvalidArgument,
// a 400): the header is longer than limits.header_bytes_max, or has more than limits.cookies_max
// pairs. For several Cookie header lines (HTTP/2), join them with "; " first.
Result<ParsedCookies> parse_cookie_header(std::string_view header, const CookieLimits& limits = {});

// Character classes of RFC 6265 / RFC 9110, exposed for tests and the fuzz target.
bool is_cookie_name(std::string_view name);    // a non-empty token
bool is_cookie_value(std::string_view value);  // *cookie-octet (unquoted)

}  // namespace parley::auth
