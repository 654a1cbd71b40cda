// Argon2id password hashing: policy, salts, verification, rehash decisions, corrupt hashes.
#include "auth/password.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace parley::auth {
namespace {

// The smallest parameters libsodium accepts keep most tests fast; the defaults get their own.
constexpr PasswordHashParams kFast{1, 8192};

// Made with libsodium 1.0.18 (crypto_pwhash_str_alg, the password below): hashes stored by
// earlier releases must keep verifying.
constexpr std::string_view kStoredArgon2id =
    "$argon2id$v=19$m=8,t=1,p=1$wAhQIqZsIzMmqyMwd0HCvQ$nLl2GiNGDCSg/yO8OmH6BQfFQyjyDGLS8kEBN2jvxzI";
constexpr std::string_view kStoredArgon2i =
    "$argon2i$v=19$m=8,t=3,p=1$NC/Ezr/KIkrw2iDWAbwUYg$oZJn1AJCNSS9OGizntUefWIWz+qzPe5M2FnZ9lclSx8";
constexpr std::string_view kStoredPassword = "correct horse battery";

// `n` bytes of text no dictionary or pattern check objects to.
std::string strong_password_of_size(std::size_t n) {
  const std::string_view words = "velvet orbit 7 tangerine cascade; quiet harbour 31 ";
  std::string out;
  while (out.size() < n) out += words;
  out.resize(n);
  return out;
}

TEST(Password, PolicyLength) {
  const Status short_one = validate_password("zx8#kLq");
  EXPECT_EQ(short_one.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(short_one.detail("code"), "weak_password");
  EXPECT_TRUE(validate_password("zx8#kLq2").ok());
  EXPECT_EQ(validate_password("").code(), ErrorCode::kInvalidArgument);
  // Characters, not bytes: 7 two-byte characters are too short, 8 three-byte ones are enough.
  EXPECT_EQ(validate_password("éàüößçñ").code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(validate_password("日本語日本語日本").ok());
  EXPECT_TRUE(validate_password(strong_password_of_size(kPasswordBytesMax)).ok());
  const Status too_long = validate_password(strong_password_of_size(kPasswordBytesMax + 1));
  EXPECT_EQ(too_long.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("too long"), std::string_view::npos);
  EXPECT_EQ(too_long.detail("param"), "password");
}

TEST(Password, PolicyEncoding) {
  EXPECT_EQ(validate_password("abcdefgh\xff").code(), ErrorCode::kInvalidArgument);          // invalid byte
  EXPECT_EQ(validate_password("abcdefgh\xc3").code(), ErrorCode::kInvalidArgument);          // truncated
  EXPECT_EQ(validate_password("abcdefgh\xed\xa0\x80").code(), ErrorCode::kInvalidArgument);  // surrogate
  EXPECT_EQ(validate_password(std::string("abcd\0efgh", 9)).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(validate_password("pass word with spaces").ok());
}

TEST(Password, MessagesNeverContainThePassword) {
  const std::string secret = "hunter2\xff";
  const Status st = validate_password(secret);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("hunter2"), std::string_view::npos);
}

TEST(Password, HashVerifies) {
  const Result<std::string> h = hash_password("correct horse battery", kFast);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=8,t=1,p=1$")) << *h;
  EXPECT_EQ(verify_password("correct horse battery", *h).value(), true);
  EXPECT_EQ(verify_password("correct horse batterY", *h).value(), false);
  EXPECT_EQ(verify_password("correct horse batter", *h).value(), false);
  EXPECT_EQ(verify_password("correct horse battery ", *h).value(), false);
  EXPECT_EQ(verify_password("", *h).value(), false);
}

TEST(Password, SaltMakesEqualPasswordsHashDifferently) {
  const std::string a = hash_password("same password", kFast).value();
  const std::string b = hash_password("same password", kFast).value();
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password("same password", a).value());
  EXPECT_TRUE(verify_password("same password", b).value());
}

TEST(Password, HashRefusesPolicyViolations) {
  EXPECT_EQ(hash_password("short", kFast).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hash_password(std::string(kPasswordBytesMax + 1, 'x'), kFast).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hash_password("long enough", PasswordHashParams{0, 8192}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hash_password("long enough", PasswordHashParams{1, 1024}).status().code(), ErrorCode::kInvalidArgument);
}

TEST(Password, StoredHashesFromEarlierReleasesVerify) {
  EXPECT_TRUE(verify_password(kStoredPassword, kStoredArgon2id).value());
  EXPECT_FALSE(verify_password("correct horse batteries", kStoredArgon2id).value());
  EXPECT_TRUE(verify_password(kStoredPassword, kStoredArgon2i).value());
  EXPECT_FALSE(verify_password("wrong", kStoredArgon2i).value());
}

TEST(Password, CorruptHashesAreDataLossNotWrongPasswords) {
  for (const std::string_view bad : {
           std::string_view(""),
           std::string_view("plaintext-password"),
           std::string_view("$2b$12$abcdefghijklmnopqrstuuJ3Ux2zWb1MmaBhO0yZ8sNxkEQUC8zq."),  // bcrypt
           std::string_view("$argon2id$v=19$m=8,t=1,p=1$"),                                   // truncated
           std::string_view("$argon2id$garbage"),
       }) {
    const Result<bool> r = verify_password(kStoredPassword, bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kDataLoss) << bad;
  }
  std::string with_nul(kStoredArgon2id);
  with_nul[12] = '\0';
  EXPECT_EQ(verify_password(kStoredPassword, with_nul).status().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(verify_password(kStoredPassword, std::string(200, 'a')).status().code(), ErrorCode::kDataLoss);
}

TEST(Password, OverlongPresentedPasswordIsRefusedWithoutError) {
  EXPECT_EQ(verify_password(std::string(kPasswordBytesMax + 1, 'a'), kStoredArgon2id).value(), false);
}

TEST(Password, NeedsRehash) {
  const std::string fast = hash_password("correct horse battery", kFast).value();
  EXPECT_FALSE(needs_rehash(fast, kFast));
  EXPECT_TRUE(needs_rehash(fast));                                // weaker than the defaults
  EXPECT_TRUE(needs_rehash(fast, PasswordHashParams{2, 8192}));   // more passes wanted
  EXPECT_TRUE(needs_rehash(fast, PasswordHashParams{1, 16384}));  // more memory wanted
  EXPECT_FALSE(needs_rehash(kStoredArgon2id, kFast));
  EXPECT_TRUE(needs_rehash(kStoredArgon2i, PasswordHashParams{3, 8192}));  // Argon2i -> Argon2id
  EXPECT_TRUE(needs_rehash("not a hash", kFast));
  EXPECT_TRUE(needs_rehash("", kFast));
}

TEST(Password, TheDummyCheckCostsWhatARealCheckWithTheConfiguredParametersCosts) {
  // With a lowered cost (as small machines configure), unknown emails must not take the default
  // cost's time while known ones take the configured one: the dummy hash has the given parameters.
  const std::string dummy = dummy_password_hash(kFast);
  EXPECT_FALSE(needs_rehash(dummy, kFast)) << dummy;
  EXPECT_TRUE(needs_rehash(dummy, kDefaultPasswordHashParams)) << dummy;
  EXPECT_EQ(dummy_password_hash(kFast), dummy);  // made once
  const Result<std::string> real = hash_password("a reasonable passphrase", kFast);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(dummy.substr(0, dummy.find('$', 20)),
            real->substr(0, real->find('$', 20)));  // same "$argon2id$v=19$m=..,t=..,p=.."
  verify_password_dummy("anything", kFast);
}

TEST(Password, DefaultParametersAndTimePerHash) {
  // Prints the cost of one default-parameter hash and verification on this machine (no threshold:
  // tests do not time; docs/auth.md records the figures).
  const auto t0 = std::chrono::steady_clock::now();
  const Result<std::string> h = hash_password("a reasonable passphrase");
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *h;
  EXPECT_FALSE(needs_rehash(*h));
  EXPECT_TRUE(verify_password("a reasonable passphrase", *h).value());
  const auto t2 = std::chrono::steady_clock::now();
  verify_password_dummy("warm up");  // the first call also makes the dummy hash
  const auto t3 = std::chrono::steady_clock::now();
  verify_password_dummy("another passphrase");
  const auto t4 = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  std::printf("argon2id t=%llu m=%zu MiB: hash %.1f ms, verify %.1f ms, dummy verify %.1f ms\n",
              static_cast<unsigned long long>(kDefaultPasswordHashParams.ops_limit),
              kDefaultPasswordHashParams.mem_limit_bytes >> 20, ms(t1 - t0).count(), ms(t2 - t1).count(),
              ms(t4 - t3).count());
}

}  // namespace
}  // namespace parley::auth
