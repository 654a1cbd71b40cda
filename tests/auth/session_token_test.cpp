// Session tokens: entropy, URL safety, stored hashes, format validation.
#include "auth/session_token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "auth/crypto.h"

namespace parley::auth {
namespace {

TEST(SessionToken, Generated) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const GeneratedSessionToken t = generate_session_token();
    EXPECT_EQ(t.token.size(), kSessionTokenChars);
    EXPECT_TRUE(is_base64url(t.token)) << t.token;
    EXPECT_TRUE(validate_session_token_format(t.token).ok());
    EXPECT_EQ(t.hash, sha256_hex(t.token));
    EXPECT_EQ(session_token_lookup_hash(t.token).value(), t.hash);
    EXPECT_TRUE(seen.insert(t.token).second);
  }
}

TEST(SessionToken, FormatRejectsNearMisses) {
  const std::string valid = generate_session_token().token;
  std::vector<std::string> bad = {"",
                                  valid.substr(1),
                                  valid + "A",
                                  valid.substr(1) + "=",
                                  valid.substr(1) + "+",
                                  valid.substr(1) + "/",
                                  valid.substr(1) + " "};
  std::string with_nul = valid;
  with_nul[5] = '\0';
  bad.push_back(with_nul);
  for (const std::string& t : bad) {
    EXPECT_EQ(validate_session_token_format(t).code(), ErrorCode::kUnauthenticated) << t;
    EXPECT_EQ(session_token_lookup_hash(t).status().code(), ErrorCode::kUnauthenticated) << t;
  }
}

TEST(SessionToken, CookieName) {
  EXPECT_EQ(session_cookie_name(true), "__Host-parley_session");
  EXPECT_EQ(session_cookie_name(false), "parley_session");
}

}  // namespace
}  // namespace parley::auth
