// Browser sessions: the token that the session cookie carries.
//
// A session token is 32 random bytes (256 bits) in base64url, 43 characters, safe in a cookie
// value without quoting. Like API keys, only SHA-256(token) is stored (hex): a leaked database
// row or backup cannot be replayed as a cookie, and 256 random bits need no slow hash (see
// api_key.h for the argument). The store looks sessions up by that hash.
//
// The cookie that carries it is built with cookie.h; the CSRF token bound to it comes from
// csrf.h. Thread safety: all functions may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace parley::auth {

inline constexpr std::size_t kSessionTokenBytes = 32;
inline constexpr std::size_t kSessionTokenChars = 43;  // base64url of 32 bytes, unpadded

// The session cookie's name. Over TLS it carries the "__Host-" prefix, which browsers accept only
// with Secure, Path=/ and no Domain: a sibling subdomain (or a man in the middle on plain HTTP)
// cannot then plant or overwrite it ("cookie tossing", session fixation). Without TLS browsers
// would drop a __Host- cookie, so plain-HTTP deployments (localhost) use the bare name.
std::string_view session_cookie_name(bool secure);

struct GeneratedSessionToken {
  std::string token;  // goes into the cookie, never stored
  std::string hash;   // session_token_hash(token): 64 lowercase hex characters, stored
};

GeneratedSessionToken generate_session_token();

// OK when `presented` has the shape of a session token (43 base64url characters), otherwise
// kUnauthenticated; the message never contains the presented text.
Status validate_session_token_format(std::string_view presented);

std::string session_token_hash(std::string_view token);

// validate_session_token_format() then session_token_hash().
Result<std::string> session_token_lookup_hash(std::string_view presented);

}  // namespace parley::auth
