#include "auth/api_key.h"

#include <cstdint>

namespace parley::auth {

namespace {

Status unauthenticated(std::string_view message) {
  return Status(ErrorCode::kUnauthenticated, std::string(message)).with_detail("code", "invalid_api_key");
}

// Index of `c` in kApiKeyAlphabet, or -1. Shape checks branch freely: they reveal only whether a
// presented key is well-formed, and the secret part is matched by hash lookup, never compared.
int alphabet_index(char c) {
  const std::size_t pos = kApiKeyAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Base32 of exactly 30 bytes: 240 bits, 48 characters, no padding, most significant bits first.
// (The alphabet lookup is indexed by secret bits; a cache-timing probe of that, on the server,
// once per key creation, is not a realistic channel next to a bearer token sent with every call.)
std::string base32_body(const std::string& bytes) {
  std::string out;
  out.reserve(kApiKeyBodyChars);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char b : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(b);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kApiKeyAlphabet[(acc >> bits) & 31u]);
    }
    acc &= (1u << bits) - 1;  // keep only the bits not yet emitted
  }
  return out;
}

}  // namespace

GeneratedApiKey generate_api_key() {
  static_assert(kApiKeyRandomBytes * 8 % 5 == 0, "the body must be whole base32 characters");
  static_assert((kApiKeyBodyChars - (kApiKeyDisplayChars - kApiKeyPrefix.size())) * 5 >= 192,
                "the part of a key never displayed must keep at least 192 bits");
  GeneratedApiKey key;
  key.secret = std::string(kApiKeyPrefix) + base32_body(random_bytes(kApiKeyRandomBytes));
  key.display_prefix = key.secret.substr(0, kApiKeyDisplayChars);
  key.hash = api_key_hash(key.secret);
  return key;
}

Status validate_api_key_format(std::string_view presented) {
  if (!presented.starts_with(kApiKeyPrefix)) {
    return unauthenticated("invalid API key: expected a key starting with 'pk-'");
  }
  if (presented.size() != kApiKeyChars) {
    return unauthenticated(fmt::format("invalid API key: expected {} characters", kApiKeyChars));
  }
  for (const char c : presented.substr(kApiKeyPrefix.size())) {
    if (alphabet_index(c) < 0) return unauthenticated("invalid API key: unexpected character");
  }
  return ok_status();
}

std::string api_key_hash(std::string_view secret) {
  return sha256_hex(secret);
}

Result<std::string> api_key_lookup_hash(std::string_view presented) {
  RETURN_IF_ERROR(validate_api_key_format(presented));
  return api_key_hash(presented);
}

Result<std::string_view> bearer_token(std::string_view authorization) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization.empty() && is_space(authorization.front())) authorization.remove_prefix(1);
  while (!authorization.empty() && is_space(authorization.back())) authorization.remove_suffix(1);
  if (authorization.empty()) {
    return Status(ErrorCode::kUnauthenticated, "missing credentials: send 'Authorization: Bearer <key>'");
  }
  constexpr std::string_view kScheme = "bearer";
  auto is_scheme = [&](std::string_view word) {
    if (word.size() != kScheme.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
      const char c = word[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return false;
    }
    return true;
  };
  const std::size_t space = authorization.find_first_of(" \t");
  if (!is_scheme(authorization.substr(0, space))) {
    return Status(ErrorCode::kUnauthenticated, "unsupported authorization scheme: use 'Bearer <key>'");
  }
  if (space == std::string_view::npos) return Status(ErrorCode::kUnauthenticated, "missing bearer token");
  std::string_view token = authorization.substr(space);
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  for (const char c : token) {
    // Visible ASCII only (RFC 6750's token68 is a subset): no spaces, controls or raw bytes.
    if (c <= ' ' || c >= 0x7f) return Status(ErrorCode::kUnauthenticated, "malformed bearer token");
  }
  return token;
}

}  // namespace parley::auth
