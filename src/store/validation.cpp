#include "store/validation.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>

#include "base/check.h"
#include "base/utf8.h"

namespace parley::store {

Status check_text(std::string_view field, std::string_view value, std::size_t max_bytes, bool allow_empty) {
  if (value.empty() && !allow_empty)
    return invalid_argument_error("{} must not be empty", field).with_detail("param", std::string(field));
  if (value.size() > max_bytes) {
    return invalid_argument_error("{} is {} bytes, more than the limit of {}", field, value.size(), max_bytes)
        .with_detail("param", std::string(field));
  }
  if (value.find('\0') != std::string_view::npos) {
    return invalid_argument_error("{} contains a NUL byte", field).with_detail("param", std::string(field));
  }
  if (!utf8_is_valid(value)) {
    return invalid_argument_error("{} is not valid UTF-8", field).with_detail("param", std::string(field));
  }
  return ok_status();
}

Status check_email(std::string_view email) {
  RETURN_IF_ERROR(check_text("email", email, kMaxEmailBytes, false));
  const auto at = email.find('@');
  bool ok = email.size() >= 3 && at != std::string_view::npos && at > 0 && at + 1 < email.size() &&
            email.find('@', at + 1) == std::string_view::npos;
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f) ok = false;
  }
  if (!ok) return invalid_argument_error("'{}' is not an email address", email).with_detail("param", "email");
  return ok_status();
}

Status check_page(const PageRequest& page) {
  if (page.limit < 1 || page.limit > kMaxPageLimit) {
    return invalid_argument_error("limit must be between 1 and {}, got {}", kMaxPageLimit, page.limit)
        .with_detail("param", "limit");
  }
  if (page.offset < 0) return invalid_argument_error("offset must not be negative").with_detail("param", "offset");
  return ok_status();
}

Status check_scopes(const std::vector<std::string>& scopes) {
  if (scopes.size() > kMaxScopes)
    return invalid_argument_error("at most {} scopes", kMaxScopes).with_detail("param", "scopes");
  for (const std::string& s : scopes) {
    bool ok = !s.empty() && s.size() <= kMaxScopeBytes;
    for (unsigned char c : s) {
      const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                           c == '.' || c == '_' || c == '-';
      if (!allowed) ok = false;
    }
    if (!ok) {
      return invalid_argument_error("scope '{}' must be 1..{} characters of [A-Za-z0-9:._-]", s, kMaxScopeBytes)
          .with_detail("param", "scopes");
    }
  }
  return ok_status();
}

Status check_tokens(std::string_view field, std::int64_t n) {
  // Far above any context length, far below anything a SUM over years could overflow.
  constexpr std::int64_t kMax = std::int64_t{1} << 40;
  if (n < 0 || n > kMax) {
    return invalid_argument_error("{} must be between 0 and {}, got {}", field, kMax, n)
        .with_detail("param", std::string(field));
  }
  return ok_status();
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string like_contains_pattern(std::string_view needle) {
  std::string out = "%";
  for (char c : ascii_lower(needle)) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

namespace {
constexpr char kBase32[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford's alphabet, lowercase
constexpr std::size_t kIdChars = 26;                            // ceil(128 / 5)

bool is_base32(char c) {
  for (const char* p = kBase32; *p; ++p) {
    if (*p == c) return true;
  }
  return false;
}
}  // namespace

std::string new_id(std::string_view prefix) {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    CHECK(n > 0, "getrandom failed: errno {}", errno);
    got += static_cast<std::size_t>(n);
  }
  unsigned __int128 v = 0;
  for (unsigned char b : bytes) v = (v << 8) | b;
  std::string id(prefix);
  id += '_';
  for (std::size_t i = 0; i < kIdChars; ++i) {
    id += kBase32[static_cast<unsigned>(v & 31u)];
    v >>= 5;
  }
  return id;
}

bool plausible_id(std::string_view id) {
  const auto sep = id.find('_');
  if (sep == std::string_view::npos || sep == 0 || id.size() > kMaxIdBytes || id.size() - sep - 1 != kIdChars) {
    return false;
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i < sep ? !(c >= 'a' && c <= 'z') : (i > sep && !is_base32(c))) return false;
  }
  return true;
}

bool plausible_secret_hash(std::string_view hash) {
  return !hash.empty() && check_text("hash", hash, kMaxSecretHashBytes, false).ok();
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const std::string& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

std::vector<std::string> split_scopes(std::string_view joined) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < joined.size()) {
    auto end = joined.find(' ', start);
    if (end == std::string_view::npos) end = joined.size();
    if (end > start) out.emplace_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace parley::store
