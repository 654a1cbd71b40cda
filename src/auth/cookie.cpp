#include "auth/cookie.h"

namespace parley::auth {

namespace {

// RFC 9110 tchar: visible ASCII except separators.
bool is_tchar(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 6265 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, i.e. visible ASCII but
// DQUOTE, comma, semicolon and backslash.
bool is_cookie_octet(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

// Path attribute: any CHAR but CTLs and ';' (RFC 6265 path-value); we also insist on a leading
// '/' because a relative path is ignored by browsers.
bool is_cookie_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == ';') return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_cookie_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

bool is_cookie_value(std::string_view value) {
  for (const char c : value) {
    if (!is_cookie_octet(c)) return false;
  }
  return true;
}

Result<std::string> set_cookie_header(const SetCookie& cookie) {
  if (!is_cookie_name(cookie.name)) return invalid_argument_error("cookie name is not a token");
  if (!is_cookie_value(cookie.value)) {
    return invalid_argument_error("cookie '{}': value has characters outside cookie-octet", cookie.name);
  }
  if (!is_cookie_path(cookie.path)) {
    return invalid_argument_error("cookie '{}': path must start with '/' and hold no ';' or controls", cookie.name);
  }
  if (cookie.max_age && cookie.max_age->count() < 0) {
    return invalid_argument_error("cookie '{}': negative Max-Age", cookie.name);
  }
  // Browsers silently drop prefixed cookies without these attributes; fail loudly here instead.
  if ((cookie.name.starts_with("__Host-") || cookie.name.starts_with("__Secure-")) && !cookie.secure) {
    return invalid_argument_error("cookie '{}': the name's prefix requires Secure", cookie.name);
  }
  if (cookie.name.starts_with("__Host-") && cookie.path != "/") {
    return invalid_argument_error("cookie '{}': the __Host- prefix requires Path=/", cookie.name);
  }
  std::string out = cookie.name;
  out += '=';
  out += cookie.value;
  if (cookie.max_age) out += fmt::format("; Max-Age={}", cookie.max_age->count());
  out += "; Path=";
  out += cookie.path;
  if (cookie.secure) out += "; Secure";
  if (cookie.http_only) out += "; HttpOnly";
  out += cookie.same_site == SameSite::kStrict ? "; SameSite=Strict" : "; SameSite=Lax";
  return out;
}

Result<std::string> delete_cookie_header(std::string_view name, bool secure) {
  SetCookie c;
  c.name = std::string(name);
  c.max_age = std::chrono::seconds(0);
  c.secure = secure;
  return set_cookie_header(c);
}

std::optional<std::string_view> ParsedCookies::find(std::string_view name) const {
  for (const Cookie& c : cookies) {
    if (c.name == name) return c.value;
  }
  return std::nullopt;
}

std::size_t ParsedCookies::count(std::string_view name) const {
  std::size_t n = 0;
  for (const Cookie& c : cookies) n += c.name == name ? 1 : 0;
  return n;
}

Result<ParsedCookies> parse_cookie_header(std::string_view header, const CookieLimits& limits) {
  if (header.size() > limits.header_bytes_max) {
    return invalid_argument_error("Cookie header too large: {} bytes, at most {}", header.size(),
                                  limits.header_bytes_max);
  }
  ParsedCookies out;
  std::size_t n_pairs = 0;
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    const std::string_view pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    if (pair.empty()) continue;
    if (++n_pairs > limits.cookies_max) {
      return invalid_argument_error("Cookie header has more than {} cookies", limits.cookies_max);
    }
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      ++out.n_malformed;
      continue;
    }
    const std::string_view name = trim_ows(pair.substr(0, eq));
    std::string_view value = trim_ows(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!is_cookie_name(name) || !is_cookie_value(value)) {
      ++out.n_malformed;
      continue;
    }
    out.cookies.push_back(Cookie{name, value});
  }
  return out;
}

}  // namespace parley::auth
