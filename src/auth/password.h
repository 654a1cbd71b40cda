// Password hashing for interactive logins: Argon2id through libsodium, encoded in the PHC string
// format ("$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>") so that the parameters and the random
// salt travel with each hash and can be raised later without a migration (needs_rehash).
//
// Cost. One hash with the default parameters (t=2 passes over m=64 MiB, one lane: libsodium's
// "interactive" level, above OWASP's minimum of m=19 MiB, t=2) takes ~0.1 s of one core and
// 64 MiB while it runs (measured: docs/auth.md). On a 2-core server the caller must therefore
// (a) run hash/verify off the network I/O threads and (b) bound how many run at once (about the
// number of cores): memory is what an attacker hammering the login form would exhaust first.
//
// Thread safety: every function may be called from any thread concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace parley::auth {

struct PasswordHashParams {
  std::uint64_t ops_limit = 2;              // Argon2 passes (t)
  std::size_t mem_limit_bytes = 64u << 20;  // Argon2 memory (m), bytes
};

// The parameters new hashes get; needs_rehash() compares against these by default.
inline constexpr PasswordHashParams kDefaultPasswordHashParams{};

// Policy (NIST SP 800-63B style: length and a check against guessable passwords, not composition
// rules). The minimum counts Unicode code points, so an 8-character password typed in any script
// passes; the maximum counts bytes and bounds what one login request can make the server hash.
// Passwords are not Unicode-normalized: the same text typed through input methods that produce
// different code point sequences will not match (a later version could NFC-normalize before
// hashing, with a rehash on login).
inline constexpr std::size_t kPasswordCharsMin = 8;
inline constexpr std::size_t kPasswordBytesMax = 1024;

// Whose password it is: a new password must not be made from these. Empty fields are not checked.
struct PasswordOwner {
  std::string_view email;         // the whole address, and its part before the '@'
  std::string_view display_name;  // each word of 4 or more characters
};

// The policy for a password being set (sign-up, admin create-user and reset, `parley admin`). OK,
// or kInvalidArgument (detail "param" = "password") saying which rule failed, in words a user
// can act on; the message never contains the password.
//   - form: longer than kPasswordBytesMax bytes, not valid UTF-8, or containing a NUL byte (which
//     C-string handling anywhere along the way would truncate at);
//   - detail "code" = "weak_password": shorter than kPasswordCharsMin characters; containing the
//     owner's e-mail address, its name part or a word of the display name (ASCII letters in any
//     case, also reversed); a palindrome; or refused by cracklib's dictionary check (a dictionary
//     or common password, also after common substitutions such as "p4ssw0rd", or too systematic
//     such as "12345678"), see docs/auth.md. libpwquality and cracklib are configured here, never
//     from /etc/security/pwquality.conf.
// kInternal when the cracklib dictionary cannot be read (cracklib-runtime missing): refusing is
// safer than accepting unchecked passwords, and the operator learns of it at the first sign-up.
// Costs about 2 ms (the dictionary lookups); the dictionary check runs one at a time in the
// process (cracklib keeps state in static buffers), so call it off the network I/O threads.
Status validate_password(std::string_view plaintext, const PasswordOwner& owner = {});

// OK, or the kInternal validate_password gives when the cracklib dictionary cannot be read (the
// log says once which files and which package).
Status check_password_dictionary();

// Checks the form of `plaintext` (length, UTF-8, NUL: not the rest of validate_password, which
// the caller applies to a new password first; a login's re-hash of an old password must not
// fail a policy that tightened since), then hashes it with a fresh random salt. Errors:
// kInvalidArgument from the form; kResourceExhausted when the hash memory cannot be allocated.
Result<std::string> hash_password(std::string_view plaintext,
                                  const PasswordHashParams& params = kDefaultPasswordHashParams);

// True when `plaintext` matches `encoded` (a string from hash_password, or any Argon2i/Argon2id
// PHC string); the comparison inside libsodium is constant-time. A wrong password is `false`,
// not an error. Errors: kDataLoss when `encoded` is not an Argon2 PHC string (a corrupt stored
// hash). The policy is not applied (old passwords stay usable when it tightens), only the byte
// limit, so a login request cannot make the server hash megabytes.
Result<bool> verify_password(std::string_view plaintext, std::string_view encoded);

// Spends the same time as verify_password() against a real hash made with `params` (the
// configured cost: what real users' hashes are rehashed to) and returns nothing: call it when the
// user does not exist, so that the response time does not tell an attacker which accounts exist.
void verify_password_dummy(std::string_view plaintext, const PasswordHashParams& params = kDefaultPasswordHashParams);
// The hash verify_password_dummy() checks against: made once per parameter set.
std::string dummy_password_hash(const PasswordHashParams& params);

// True when `encoded` should be replaced by a fresh hash_password() at the next successful login:
// it is not Argon2id, or was made with parameters other than `params` (weaker or stronger), or
// cannot be parsed.
bool needs_rehash(std::string_view encoded, const PasswordHashParams& params = kDefaultPasswordHashParams);

}  // namespace parley::auth
