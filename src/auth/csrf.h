// CSRF protection for requests authenticated by the session cookie.
//
// Scheme: a synchronizer token derived, not stored: csrf = base64url(HMAC-SHA-256(server key,
// "parley-csrf-v1\n" || session token)). The server hands it to the page (in the JSON that
// starts a session, or a page it renders); the page's JavaScript sends it back in a header
// (X-CSRF-Token) on every state-changing request; the server recomputes it from the session
// cookie and compares in constant time. Chosen over the plain double-submit cookie because:
//  - it is bound to the session: a token stolen from, or planted into, another session is
//    useless, and an attacker who can write cookies for our host (a sibling subdomain) cannot
//    forge a matching pair without the key;
//  - it needs no storage and no extra cookie, and every gateway instance that shares the key
//    can verify it, so it stays correct when the gateway scales out.
// A cross-site attacker can make the browser send the cookie but cannot read the token (same-
// origin policy) nor compute it (no key). SameSite=Lax on the session cookie already blocks most
// cross-site POSTs; this is the second line, for browsers and same-site paths Lax does not cover.
// Requests authenticated with an API key (Authorization header) need no CSRF check: browsers
// never attach that header on their own.
//
// Rotating the key invalidates every outstanding CSRF token (pages must fetch a new one), never a
// session. Thread safety: a CsrfSigner is immutable; share it freely.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace parley::auth {

inline constexpr std::size_t kCsrfKeyBytesMin = 32;
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

class CsrfSigner {
 public:
  // A signer with `key` (raw bytes, at least kCsrfKeyBytesMin: a configured secret shared by
  // every gateway instance). kInvalidArgument when the key is shorter.
  static Result<CsrfSigner> from_key(std::string key);

  // A signer with a fresh random key: for a single process whose CSRF tokens may die with it.
  static CsrfSigner generate();

  // The CSRF token of the session whose cookie carries `session_token` (43 base64url chars).
  std::string token_for(std::string_view session_token) const;

  // OK when `presented` is token_for(session_token), compared in constant time. Otherwise
  // kPermissionDenied (403) with detail code "csrf_failed"; a missing token is the same error.
  Status verify(std::string_view session_token, std::string_view presented) const;

  // HMAC-SHA-256 of `message` with the same key in another domain: `context` (e.g.
  // "parley-device-v1\n") is prefixed, so no signature is valid as a CSRF token or in another
  // context. Raw bytes.
  std::string sign(std::string_view context, std::string_view message) const;

 private:
  explicit CsrfSigner(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace parley::auth
