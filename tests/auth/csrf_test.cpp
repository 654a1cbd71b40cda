// CSRF tokens: bound to the session and the key, verified in constant time.
#include "auth/csrf.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/crypto.h"
#include "auth/session_token.h"

namespace parley::auth {
namespace {

TEST(Csrf, KnownValue) {
  // HMAC-SHA-256(key, "parley-csrf-v1\n" || session), base64url: pinned so that tokens handed out
  // before an upgrade stay valid after it.
  const CsrfSigner signer = CsrfSigner::from_key(std::string(32, 'k')).value();
  EXPECT_EQ(signer.token_for(std::string(43, 'A')), "Jeu7yEDGxwRRZNVgQoCpmryPlDnaHK0GJfrem5VzSc4");
}

TEST(Csrf, VerifiesOwnSessionOnly) {
  const CsrfSigner signer = CsrfSigner::generate();
  const std::string s1 = generate_session_token().token;
  const std::string s2 = generate_session_token().token;
  const std::string t1 = signer.token_for(s1);
  EXPECT_EQ(t1.size(), 43u);
  EXPECT_TRUE(is_base64url(t1));
  EXPECT_EQ(signer.token_for(s1), t1);  // deterministic: no storage needed
  EXPECT_TRUE(signer.verify(s1, t1).ok());
  const Status other_session = signer.verify(s2, t1);
  EXPECT_EQ(other_session.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(other_session.detail("code"), "csrf_failed");
  EXPECT_EQ(signer.verify(s1, "").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(signer.verify(s1, t1.substr(1)).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(signer.verify(s1, t1 + "A").code(), ErrorCode::kPermissionDenied);
  std::string flipped = t1;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(signer.verify(s1, flipped).code(), ErrorCode::kPermissionDenied);
  // No session: even the token of the empty string must not pass.
  EXPECT_EQ(signer.verify("", signer.token_for("")).code(), ErrorCode::kPermissionDenied);
}

TEST(Csrf, OtherKeyDoesNotVerify) {
  const CsrfSigner a = CsrfSigner::generate();
  const CsrfSigner b = CsrfSigner::generate();
  const std::string s = generate_session_token().token;
  EXPECT_NE(a.token_for(s), b.token_for(s));
  EXPECT_EQ(b.verify(s, a.token_for(s)).code(), ErrorCode::kPermissionDenied);
}

TEST(Csrf, KeyLength) {
  EXPECT_EQ(CsrfSigner::from_key(std::string(31, 'k')).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(CsrfSigner::from_key(std::string(32, 'k')).ok());
  EXPECT_TRUE(CsrfSigner::from_key(std::string(100, 'k')).ok());
}

}  // namespace
}  // namespace parley::auth
