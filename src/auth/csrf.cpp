#include "auth/csrf.h"

#include "auth/crypto.h"

namespace parley::auth {

namespace {
// Domain separation: the key may one day sign other things; a CSRF token must never be valid
// as any of them, nor they as a CSRF token.
constexpr std::string_view kCsrfContext = "parley-csrf-v1\n";
}  // namespace

Result<CsrfSigner> CsrfSigner::from_key(std::string key) {
  if (key.size() < kCsrfKeyBytesMin) {
    return invalid_argument_error("CSRF key must be at least {} bytes, got {}", kCsrfKeyBytesMin, key.size());
  }
  return CsrfSigner(std::move(key));
}

CsrfSigner CsrfSigner::generate() {
  return CsrfSigner(random_bytes(kCsrfKeyBytesMin));
}

std::string CsrfSigner::token_for(std::string_view session_token) const {
  std::string message(kCsrfContext);
  message += session_token;
  return base64url_encode(hmac_sha256(key_, message));
}

std::string CsrfSigner::sign(std::string_view context, std::string_view message) const {
  std::string m(context);
  m += message;
  return hmac_sha256(key_, m);
}

Status CsrfSigner::verify(std::string_view session_token, std::string_view presented) const {
  // An empty session token means the caller skipped authentication; never let that pass.
  if (session_token.empty() || !constant_time_equal(token_for(session_token), presented)) {
    return Status(ErrorCode::kPermissionDenied, "missing or invalid CSRF token").with_detail("code", "csrf_failed");
  }
  return ok_status();
}

}  // namespace parley::auth
