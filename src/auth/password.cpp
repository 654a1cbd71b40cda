#include "auth/password.h"

#include <sodium.h>

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "auth/crypto.h"
#include "auth/password_quality.h"
#include "base/utf8.h"

namespace parley::auth {

namespace {

Status policy_error(std::string message) {
  return invalid_argument_error("{}", message).with_detail("param", "password");
}

// libsodium wants the encoded hash as a NUL-terminated string of fewer than
// crypto_pwhash_STRBYTES bytes. Anything that cannot be one is not a hash we made.
std::optional<std::array<char, crypto_pwhash_STRBYTES>> to_c_string(std::string_view encoded) {
  if (encoded.size() >= crypto_pwhash_STRBYTES) return std::nullopt;
  if (encoded.find('\0') != std::string_view::npos) return std::nullopt;
  std::array<char, crypto_pwhash_STRBYTES> buf{};
  encoded.copy(buf.data(), encoded.size());
  return buf;
}

bool has_argon2_prefix(std::string_view encoded) {
  return encoded.starts_with("$argon2id$") || encoded.starts_with("$argon2i$");
}

// The rules every stored password meets, new or old.
Status check_form(std::string_view plaintext) {
  if (plaintext.size() > kPasswordBytesMax) {
    return policy_error(fmt::format("password is too long: at most {} bytes", kPasswordBytesMax));
  }
  if (plaintext.find('\0') != std::string_view::npos) {
    return policy_error("password must not contain a NUL character");
  }
  if (!utf8_is_valid(plaintext)) return policy_error("password is not valid UTF-8");
  std::size_t chars = 0;
  for (const char c : plaintext) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;  // not a continuation byte
  }
  if (chars < kPasswordCharsMin) {
    return policy_error(fmt::format("password is too short: at least {} characters", kPasswordCharsMin))
        .with_detail("code", std::string(kWeakPasswordCode));
  }
  return ok_status();
}

}  // namespace

Status validate_password(std::string_view plaintext, const PasswordOwner& owner) {
  RETURN_IF_ERROR(check_form(plaintext));
  return check_password_quality(plaintext, owner);
}

Status check_password_dictionary() {
  return check_cracklib_dictionary();
}

Result<std::string> hash_password(std::string_view plaintext, const PasswordHashParams& params) {
  RETURN_IF_ERROR(check_form(plaintext));
  if (params.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      params.mem_limit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      params.mem_limit_bytes > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return invalid_argument_error("password hash parameters out of range (ops {}, memory {} bytes)", params.ops_limit,
                                  params.mem_limit_bytes);
  }
  ensure_crypto_initialized();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  // Parameters are in range, so the only failure left is allocating the Argon2 memory.
  if (crypto_pwhash_str_alg(out.data(), plaintext.data(), plaintext.size(), params.ops_limit, params.mem_limit_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return resource_exhausted_error("password hashing could not allocate {} bytes", params.mem_limit_bytes);
  }
  return std::string(out.data());
}

Result<bool> verify_password(std::string_view plaintext, std::string_view encoded) {
  const auto c_encoded = to_c_string(encoded);
  // crypto_pwhash_str_verify() says -1 both for "wrong password" and "unparseable hash"; a cheap
  // parse through needs_rehash tells the two apart, so a corrupt row is reported, not silently
  // treated as a wrong password forever.
  if (!c_encoded || !has_argon2_prefix(encoded)) {
    return data_loss_error("stored password hash is not an Argon2 PHC string");
  }
  ensure_crypto_initialized();
  if (crypto_pwhash_str_needs_rehash(c_encoded->data(), crypto_pwhash_argon2id_OPSLIMIT_MIN,
                                     crypto_pwhash_argon2id_MEMLIMIT_MIN) < 0) {
    return data_loss_error("stored password hash cannot be parsed");
  }
  // No password we accepted is longer; refusing here bounds the work a request can cause.
  if (plaintext.size() > kPasswordBytesMax) return false;
  return crypto_pwhash_str_verify(c_encoded->data(), plaintext.data(), plaintext.size()) == 0;
}

std::string dummy_password_hash(const PasswordHashParams& params) {
  // A hash of a random password per parameter set: verifying against it costs what verifying
  // against a real user's hash with those parameters costs. (A cost that differs from the real
  // users' would tell unknown emails from known ones by the response time.)
  static std::mutex mu;
  static std::map<std::pair<std::uint64_t, std::size_t>, std::string> dummies;
  std::lock_guard<std::mutex> lock(mu);
  std::string& d = dummies[{params.ops_limit, params.mem_limit_bytes}];
  if (d.empty()) {
    Result<std::string> h = hash_password(base64url_encode(random_bytes(16)), params);
    CHECK(h.ok(), "dummy password hash: {}", h.status().to_string());
    d = *h;
  }
  return d;
}

void verify_password_dummy(std::string_view plaintext, const PasswordHashParams& params) {
  verify_password(plaintext, dummy_password_hash(params)).status().ignore();
}

bool needs_rehash(std::string_view encoded, const PasswordHashParams& params) {
  const auto c_encoded = to_c_string(encoded);
  if (!c_encoded) return true;
  ensure_crypto_initialized();
  // The argon2id-specific check fails to decode (-1) an Argon2i string, so those migrate too;
  // 1 means "parameters differ", in either direction.
  return crypto_pwhash_argon2id_str_needs_rehash(c_encoded->data(), params.ops_limit, params.mem_limit_bytes) != 0;
}

}  // namespace parley::auth
