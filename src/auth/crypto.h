// Small cryptographic building blocks shared by the auth primitives: secure random bytes,
// SHA-256, constant-time comparison and the text encodings secrets travel in. The
// implementations sit on libsodium (randomness, comparison, HMAC) and OpenSSL (SHA-256); their
// headers stay in crypto.cpp so users of auth do not compile against either.
//
// Thread safety: every function here may be called from any thread at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace parley::auth {

// Initializes libsodium once per process (idempotent, thread-safe). Every function of auth calls
// it itself; it is public so that `main` can fail early and loudly if the platform has no
// usable random source (a CHECK: nothing in auth is safe without one).
void ensure_crypto_initialized();

// `n` bytes from the operating system's CSPRNG (libsodium randombytes_buf, getrandom(2) on
// Linux). Never fails: an unusable random source aborts in ensure_crypto_initialized().
std::string random_bytes(std::size_t n);

// SHA-256 of `data`, 32 raw bytes / 64 lowercase hex characters.
std::string sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

// HMAC-SHA-256 of `message` under `key`, 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

// True when `a` and `b` are equal, in time that depends only on their lengths (never on where
// they first differ), so a caller comparing a presented secret with a stored one leaks nothing
// an attacker could climb byte by byte. Lengths are public in every use here (fixed formats).
bool constant_time_equal(std::string_view a, std::string_view b);

// Lowercase hexadecimal.
std::string to_hex(std::string_view bytes);

// RFC 4648 section 5 base64url without padding: the alphabet [A-Za-z0-9_-], safe in URLs,
// cookie values and headers without quoting.
std::string base64url_encode(std::string_view bytes);

// True when every byte of `s` is in the base64url alphabet.
bool is_base64url(std::string_view s);

}  // namespace parley::auth
