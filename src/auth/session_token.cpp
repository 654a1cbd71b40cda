#include "auth/session_token.h"

#include "auth/crypto.h"

namespace parley::auth {

std::string_view session_cookie_name(bool secure) {
  return secure ? "__Host-parley_session" : "parley_session";
}

GeneratedSessionToken generate_session_token() {
  GeneratedSessionToken t;
  t.token = base64url_encode(random_bytes(kSessionTokenBytes));
  t.hash = session_token_hash(t.token);
  return t;
}

Status validate_session_token_format(std::string_view presented) {
  if (presented.size() != kSessionTokenChars || !is_base64url(presented)) {
    return Status(ErrorCode::kUnauthenticated, "invalid session token");
  }
  return ok_status();
}

std::string session_token_hash(std::string_view token) {
  return sha256_hex(token);
}

Result<std::string> session_token_lookup_hash(std::string_view presented) {
  RETURN_IF_ERROR(validate_session_token_format(presented));
  return session_token_hash(presented);
}

}  // namespace parley::auth
