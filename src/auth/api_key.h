// API keys for the OpenAI-compatible API ("Authorization: Bearer pk-...").
//
// Format: "pk-" followed by 48 characters of a lowercase base32 alphabet without the look-alikes
// i, l, o, u (Crockford's set: 0-9 a-h j k m n p-t v-z), 30 random bytes = 240 bits from the
// OS CSPRNG. The first 12 characters ("pk-" + 9 body characters = 45 bits) are the display prefix,
// stored in the clear so people can tell their keys apart; the 39 characters never shown after
// creation still carry 195 bits, above the 192 asked of a key.
//
// Storage: only SHA-256(secret), hex, is stored, and a presented key is found by that hash.
// A slow password hash (Argon2) protects low-entropy secrets from offline guessing; a 195-bit
// random secret cannot be guessed at any hash speed (2^195 SHA-256 evaluations), so stretching
// would buy nothing, while every API request has to verify a key: Argon2's ~0.1 s and 64 MiB per
// request would be the bottleneck and a denial-of-service lever. The lookup is by an indexed hash
// column, so no secret is compared byte by byte with attacker-chosen input.
//
// Thread safety: all functions may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "auth/crypto.h"
#include "base/result.h"
#include "base/status.h"

namespace parley::auth {

inline constexpr std::string_view kApiKeyPrefix = "pk-";
inline constexpr std::string_view kApiKeyAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
inline constexpr std::size_t kApiKeyRandomBytes = 30;
inline constexpr std::size_t kApiKeyBodyChars = kApiKeyRandomBytes * 8 / 5;           // 48
inline constexpr std::size_t kApiKeyChars = kApiKeyPrefix.size() + kApiKeyBodyChars;  // 51
inline constexpr std::size_t kApiKeyDisplayChars = 12;

struct GeneratedApiKey {
  std::string secret;          // the whole key: shown to its owner once, never stored
  std::string display_prefix;  // first kApiKeyDisplayChars characters, stored and shown in lists
  std::string hash;            // api_key_hash(secret): 64 lowercase hex characters, stored
};

// A fresh key from the OS random source.
GeneratedApiKey generate_api_key();

// OK when `presented` has the exact shape of a key (prefix, length, alphabet), otherwise
// kUnauthenticated (maps to 401) with a message that never echoes the presented text, which may be
// someone's real secret pasted into the wrong place. Checking the shape first rejects garbage
// without hashing or touching the database.
Status validate_api_key_format(std::string_view presented);

// SHA-256 hex of the key, the value stored at creation and looked up per request.
std::string api_key_hash(std::string_view secret);

// validate_api_key_format() then api_key_hash(): what a request handler calls.
Result<std::string> api_key_lookup_hash(std::string_view presented);

// The credential of an "Authorization" header value: "Bearer <token>" with the scheme matched
// case-insensitively (RFC 9110 section 11.1) and surrounding spaces/tabs ignored.
// kUnauthenticated when the value is empty, another scheme, or the token is missing or contains
// anything but visible ASCII.
Result<std::string_view> bearer_token(std::string_view authorization);

}  // namespace parley::auth
