#include "gateway/request_guard.h"

#include <arpa/inet.h>

#include <algorithm>

#include "gateway/authenticator.h"

namespace parley {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool host_listed(const std::vector<std::string>& allowed, const std::string& host) {
  for (const std::string& a : allowed) {
    if (a == "*") return true;
    const std::string entry = lower(a);
    if (entry.front() == '.') {
      if (host == entry.substr(1) || ends_with(host, entry)) return true;
    } else if (host == entry) {
      return true;
    }
  }
  return false;
}

bool host_allowed(const HostPolicy& policy, const std::string& host) {
  if (is_ip_literal(host)) return true;
  if (policy.local_mode && (host == "localhost" || ends_with(host, ".localhost"))) return true;
  return host_listed(policy.allowed_hosts, host);
}

// "http://Example.com:80" -> "example.com:80"; the default port of the scheme is dropped so that
// it compares with a Host header that omits it. Empty when malformed.
std::string origin_authority(std::string_view origin) {
  const std::size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const std::string scheme = lower(origin.substr(0, scheme_end));
  std::string authority = lower(origin.substr(scheme_end + 3));
  if (authority.empty() || authority.find_first_of("/?#@") != std::string::npos) return {};
  if (scheme == "http" && ends_with(authority, ":80")) authority.resize(authority.size() - 3);
  if (scheme == "https" && ends_with(authority, ":443")) authority.resize(authority.size() - 4);
  return authority;
}

// The Host header as an authority comparable with origin_authority(): lower-cased, without a
// default port (":80" or ":443": the scheme is not known here, and either is the default of one).
std::string host_authority(std::string_view host_header) {
  std::string h = lower(host_header);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.pop_back();
  if (ends_with(h, ":80")) h.resize(h.size() - 3);
  if (ends_with(h, ":443")) h.resize(h.size() - 4);
  return h;
}

Status forbidden(std::string message, std::string_view code) {
  return Status(ErrorCode::kPermissionDenied, std::move(message)).with_detail("code", std::string(code));
}

}  // namespace

std::string host_without_port(std::string_view host_header) {
  std::string_view h = host_header;
  while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
  if (h.empty()) return {};
  if (h.front() == '[') {
    const std::size_t close = h.find(']');
    if (close == std::string_view::npos) return {};
    const std::string_view rest = h.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
    return lower(h.substr(1, close - 1));
  }
  const std::size_t colon = h.find(':');
  if (colon != std::string_view::npos && h.find(':', colon + 1) != std::string_view::npos) return {};
  return lower(h.substr(0, colon));
}

Status check_host(const HostPolicy& policy, std::string_view host_header) {
  if (host_header.empty()) return ok_status();
  if (!policy.local_mode && policy.allowed_hosts.empty()) return ok_status();
  const std::string host = host_without_port(host_header);
  if (!host.empty() && host_allowed(policy, host)) return ok_status();
  return forbidden(policy.local_mode
                       ? "This server answers only to localhost and IP addresses (authentication is off). To reach it "
                         "by another name, add it to [server] allowed_hosts."
                       : "This host name is not served here (see [server] allowed_hosts).",
                   "host_not_allowed");
}

Status check_origin(const HostPolicy& policy, const HttpRequest& head) {
  if (is_safe_method(head.method)) return ok_status();
  const std::string_view origin = head.header("Origin");
  if (origin.empty()) {
    // Browsers send Origin with every cross-site state-changing request; Sec-Fetch-Site is a
    // second opinion for old ones that do not.
    if (iequals(head.header("Sec-Fetch-Site"), "cross-site")) {
      return forbidden("Cross-site requests are not allowed.", "cross_origin");
    }
    return ok_status();
  }
  for (const std::string& allowed : policy.allowed_origins) {
    if (iequals(allowed, origin)) return ok_status();
  }
  const std::string authority = origin_authority(origin);
  if (!authority.empty() && authority == host_authority(head.header("Host"))) return ok_status();
  return forbidden("Requests from other origins are not allowed (see [server] allowed_origins).", "cross_origin");
}

Status validate_allowed_host(std::string_view entry) {
  if (entry == "*") return ok_status();
  const std::string_view name = !entry.empty() && entry.front() == '.' ? entry.substr(1) : entry;
  const bool ok = !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  if (!ok) return invalid_argument_error("'{}' is not a host name (e.g. chat.example.com, .example.com or *)", entry);
  return ok_status();
}

Status validate_allowed_origin(std::string_view entry) {
  if (origin_authority(entry).empty() || !(entry.starts_with("http://") || entry.starts_with("https://"))) {
    return invalid_argument_error("'{}' is not an origin (e.g. https://app.example.com)", entry);
  }
  return ok_status();
}

}  // namespace parley
