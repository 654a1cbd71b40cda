#include "auth/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include "base/check.h"

namespace parley::auth {

void ensure_crypto_initialized() {
  // sodium_init() is itself thread-safe and idempotent; the static only saves the call.
  static const bool ok = sodium_init() >= 0;
  CHECK(ok, "libsodium failed to initialize (no usable random source?)");
}

std::string random_bytes(std::size_t n) {
  ensure_crypto_initialized();
  std::string out(n, '\0');
  if (n > 0) randombytes_buf(out.data(), n);
  return out;
}

namespace {

// Fetched once: with OpenSSL 3 the implicit fetch behind EVP_sha256() costs a provider lookup
// per call, and SHA-256 runs on every API request. Fetched objects are safe to share between
// threads.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CHECK(md != nullptr, "OpenSSL has no SHA256");
  return md;
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int rc = EVP_Digest(data.data(), data.size(), digest, &len, sha256_md(), nullptr);
  CHECK(rc == 1 && len == 32, "EVP_Digest(SHA256) failed");
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string sha256_hex(std::string_view data) {
  return to_hex(sha256(data));
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  ensure_crypto_initialized();
  crypto_auth_hmacsha256_state st;
  // The _init form takes a key of any length (hashed when longer than a block, per RFC 2104).
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&st, sizeof st);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  ensure_crypto_initialized();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// libsodium's encoders run in constant time (no table lookups indexed by secret bytes), which
// matters because what they encode here are secrets.
std::string to_hex(std::string_view bytes) {
  ensure_crypto_initialized();
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  out.pop_back();  // the terminating NUL
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  ensure_crypto_initialized();
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

bool is_base64url(std::string_view s) {
  for (const char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace parley::auth
