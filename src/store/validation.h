// Input checks and small helpers shared by the SQL store: limits, ids, LIKE patterns, scopes.
// Internal to src/store.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace parley::store {

// OK, or kInvalidArgument naming `field`: longer than max_bytes, empty when it must not be,
// invalid UTF-8 or containing a NUL byte.
Status check_text(std::string_view field, std::string_view value, std::size_t max_bytes, bool allow_empty = true);

Status check_email(std::string_view email);
Status check_page(const PageRequest& page);
Status check_scopes(const std::vector<std::string>& scopes);
Status check_tokens(std::string_view field, std::int64_t n);

// ASCII letters lowered, every other byte kept (UTF-8 safe).
std::string ascii_lower(std::string_view s);

// A LIKE pattern (with ESCAPE '\') matching any text that contains `needle` (ASCII-lowered)
// literally: '%', '_' and '\' in the needle are escaped.
std::string like_contains_pattern(std::string_view needle);

// "<prefix>_" + 26 base32 characters of 128 bits from getrandom(2).
std::string new_id(std::string_view prefix);

// True when `id` could be an id we issued (length and alphabet); lookups of anything else are
// answered "not found" without touching the database.
bool plausible_id(std::string_view id);

// A hash used as a lookup key (session token, API key): bounded, no NUL, valid UTF-8.
bool plausible_secret_hash(std::string_view hash);

std::string join_scopes(const std::vector<std::string>& scopes);
std::vector<std::string> split_scopes(std::string_view joined);

inline std::int64_t micros(Time t) {
  return t.time_since_epoch().count();
}
inline Time from_micros(std::int64_t us) {
  return Time(std::chrono::microseconds(us));
}

}  // namespace parley::store
