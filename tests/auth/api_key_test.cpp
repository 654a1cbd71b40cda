// API keys: format, entropy budget, stable hashes, strict validation of presented keys, bearer
// header parsing.
#include "auth/api_key.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace parley::auth {
namespace {

// A syntactically valid key (every alphabet character once, then some again).
constexpr std::string_view kValidKey = "pk-0123456789abcdefghjkmnpqrstvwxyz0123456789abcdef";

TEST(ApiKey, GeneratedShape) {
  const GeneratedApiKey k = generate_api_key();
  EXPECT_EQ(k.secret.size(), kApiKeyChars);
  EXPECT_EQ(kApiKeyChars, 51u);
  EXPECT_TRUE(k.secret.starts_with("pk-"));
  EXPECT_TRUE(validate_api_key_format(k.secret).ok()) << k.secret;
  EXPECT_EQ(k.display_prefix, k.secret.substr(0, 12));
  EXPECT_EQ(k.hash, api_key_hash(k.secret));
  EXPECT_EQ(k.hash.size(), 64u);
  EXPECT_EQ(k.hash.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ApiKey, EntropyBudget) {
  // 5 bits per body character; what is never displayed must keep >= 192 bits.
  EXPECT_EQ(kApiKeyAlphabet.size(), 32u);
  EXPECT_GE((kApiKeyBodyChars - (kApiKeyDisplayChars - kApiKeyPrefix.size())) * 5, 192u);
  // No look-alikes.
  for (const char c : std::string_view("ilou")) EXPECT_EQ(kApiKeyAlphabet.find(c), std::string_view::npos) << c;
  EXPECT_EQ(std::set<char>(kApiKeyAlphabet.begin(), kApiKeyAlphabet.end()).size(), 32u);
}

TEST(ApiKey, KeysAreDistinctAndUseTheWholeAlphabet) {
  std::set<std::string> keys;
  std::set<char> chars;
  for (int i = 0; i < 200; ++i) {
    const GeneratedApiKey k = generate_api_key();
    EXPECT_TRUE(keys.insert(k.secret).second);
    chars.insert(k.secret.begin() + 3, k.secret.end());
  }
  // 200 * 48 characters: every one of the 32 appears unless the encoder is broken.
  EXPECT_EQ(chars.size(), 32u);
}

TEST(ApiKey, HashIsPlainSha256OfTheWholeKey) {
  // Stored hashes must stay valid across releases: this value may never change.
  EXPECT_EQ(api_key_hash(kValidKey), "afc81998e970f4f474dd0b71d38ad757fab0bfe8529bdde602944f238021b000");
  EXPECT_EQ(api_key_lookup_hash(kValidKey).value(), api_key_hash(kValidKey));
}

TEST(ApiKey, ValidationRejectsNearMisses) {
  ASSERT_TRUE(validate_api_key_format(kValidKey).ok());
  const std::string valid(kValidKey);
  std::vector<std::string> bad = {
      "",
      "pk-",
      valid.substr(0, valid.size() - 1),         // one short
      valid + "a",                               // one long
      "sk-" + valid.substr(3),                   // another vendor's prefix
      "PK-" + valid.substr(3),                   // prefix case
      "pk_" + valid.substr(3),                   // prefix punctuation
      " " + valid.substr(0, valid.size() - 1),   // leading space, right length
      valid.substr(0, valid.size() - 1) + "\n",  // trailing newline, right length
  };
  const std::string outside = std::string("ilouILOUA+/=-_ .") + '\0' + '\xff';
  for (const char c : outside) {
    std::string k = valid;
    k[20] = c;  // one character of the body outside the alphabet
    bad.push_back(k);
  }
  for (const std::string& k : bad) {
    const Status st = validate_api_key_format(k);
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << '"' << k << '"';
    EXPECT_EQ(api_key_lookup_hash(k).status().code(), ErrorCode::kUnauthenticated);
  }
}

TEST(ApiKey, ErrorsNeverEchoTheKey) {
  const std::string almost = std::string(kValidKey) + "x";
  const Status st = validate_api_key_format(almost);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find(almost.substr(3, 10)), std::string_view::npos) << st.message();
  EXPECT_EQ(st.detail("code"), "invalid_api_key");
}

TEST(ApiKey, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer abc").value(), "abc");
  EXPECT_EQ(bearer_token("bearer abc").value(), "abc");
  EXPECT_EQ(bearer_token("BEARER\tabc").value(), "abc");
  EXPECT_EQ(bearer_token("  Bearer   abc  ").value(), "abc");
  EXPECT_EQ(bearer_token(std::string("Bearer ") + std::string(kValidKey)).value(), kValidKey);
  for (const std::string_view bad : {"", "   ", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Bearerabc", "Bear abc",
                                     "Bearer a b", "Bearer a\x01", "Bearer \xc3\xa9", "Token abc"}) {
    EXPECT_EQ(bearer_token(bad).status().code(), ErrorCode::kUnauthenticated) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace parley::auth
