#include "policy/detectors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy_test_util.h"

namespace parley::policy {
namespace {

using testing::compile_or_die;
using testing::detector_rule;
using testing::matched_texts;

// What one detector finds in `text`, as the original substrings.
std::vector<std::string> found(Detector d, std::string_view text) {
  auto p = compile_or_die({detector_rule("d", {d})});
  return matched_texts(p->evaluate(Stage::kInput, Role::kUser, "m", text), text);
}

struct Case {
  Detector detector;
  std::vector<std::string> hits;    // each found on its own, in a sentence
  std::vector<std::string> misses;  // none of these is found
};

const std::string kJwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

const std::vector<Case> kCases = {
    {Detector::kEmail,
     {"alice@example.com", "alice.smith+tag@mail.example.co.uk", "BOB_99@Example.ORG"},
     {"user@localhost", "a@b", "foo@bar.c1", "@example.com", "name at example dot com"}},
    {Detector::kPhone,
     {"+44 20 7946 0958", "+1-202-555-0143", "+4915123456789", "(555) 123-4567", "555-123-4567", "030 1234 5678"},
     {"2024-01-05", "version 1.2.3", "12345", "+12 34", "call 555-1234", "3.14159265358979"}},
    {Detector::kPaymentCard,
     {"4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444", "378282246310005", "6011111111111117",
      "3530111333300000"},
     {"4111 1111 1111 1112", "5555555555554445", "1234567812345678", "4111 1111-1111 1111", "0000000000000000",
      "41111111111111111111111"}},
    {Detector::kIban,
     {"GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR14 2004 1010 0505 0001 3M02 606",
      "gb82west12345698765432"},
     {"GB82 WEST 1234 5698 7654 33", "DE89370400440532013001", "XX82WEST12345698765432", "GB82 WEST 1234"}},
    {Detector::kOpenAiKey,
     {"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7CD0EF", "sk-Zq4Lr8Tn2Vx6Bp0Cm3Dk7Fs9Gh1Jw5Ky8Pl2Qa3Ws4Ed"},
     {"sk-this-is-not-a-real-key-at-all", "task-1234567890abcdefghij", "sk-short1"}},
    {Detector::kAwsAccessKey,
     {"AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A"},
     {"AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE", "akiaiosfodnn7example"}},
    {Detector::kGithubToken,
     {"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",
      "github_pat_11ABCDEFG0abcdefghijkl_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvW"},
     {"ghp_short", "ghx_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"}},
    {Detector::kSlackToken,
     {"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxp-2222222222-3333333333-abcdefabcdef"},
     {"xoxb-not-a-token-here", "xoxz-123456789012-123"}},
    {Detector::kGoogleApiKey,
     {"AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"},
     {"AIzaShort", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQeX"}},
    {Detector::kJwt,
     {kJwt},
     {"eyJhbGciOiJIUzI1NiJ9", "eyJub3RhIjoiand0In0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf3"}},
    {Detector::kSecretAssignment,
     {"Zx8f2Kq9Lm3Np7Rt5Vw1", "tR7#kL2!vB9@qM4$"},
     {"changeme123456789", "aaaaaaaaaaaaaaaaaaaa", "short1A", "${SECRET_FROM_ENV_VARIABLE}"}},
};

TEST(Detectors, TruePositivesAndFalsePositives) {
  for (const Case& c : kCases) {
    const std::string_view name = detector_name(c.detector);
    for (const std::string& hit : c.hits) {
      // Secret assignments are found by their key; every other value stands alone.
      const std::string text = c.detector == Detector::kSecretAssignment ? "config: API_KEY=\"" + hit + "\" done"
                                                                         : "see " + hit + ", please";
      EXPECT_THAT(found(c.detector, text), ::testing::ElementsAre(hit)) << name << ": " << text;
    }
    for (const std::string& miss : c.misses) {
      const std::string text =
          c.detector == Detector::kSecretAssignment ? "config: password = \"" + miss + "\"" : "see " + miss + " please";
      EXPECT_THAT(found(c.detector, text), ::testing::IsEmpty()) << name << ": " << text;
    }
  }
}

TEST(Detectors, ChecksumsAlone) {
  EXPECT_TRUE(luhn_valid("79927398713"));
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_TRUE(iban_valid("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(iban_valid("NO9386011117947"));
  EXPECT_FALSE(iban_valid("NO9386011117948"));
  EXPECT_FALSE(iban_valid("GB82WEST1234569876543"));  // one short for GB
  EXPECT_GT(shannon_bits_per_char("Zx8f2Kq9Lm3Np7Rt"), 3.9);
  EXPECT_EQ(shannon_bits_per_char("aaaa"), 0.0);
}

TEST(Detectors, PrivateKeyBlocksAreMaskedToTheirEndLine) {
  const std::string key =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gun\n"
      "-----END RSA PRIVATE KEY-----";
  const std::string text = "here it is:\n" + key + "\nthanks";
  auto p = compile_or_die({detector_rule("keys", {Detector::kPrivateKey})});
  Verdict v = p->evaluate(Stage::kOutput, Role::kAssistant, "m", text);
  EXPECT_THAT(matched_texts(v, text), ::testing::ElementsAre(key));
  EXPECT_EQ(redact(text, v), "here it is:\n[redacted:private_key]\nthanks");
  // Without its END line the block runs to the end of the text.
  const std::string cut = "here:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU";
  v = p->evaluate(Stage::kOutput, Role::kAssistant, "m", cut);
  ASSERT_EQ(v.matches.size(), 1u);
  EXPECT_TRUE(v.matches[0].open_ended);
  EXPECT_EQ(redact(cut, v), "here:\n[redacted:private_key]");
}

TEST(Detectors, GroupsExpand) {
  EXPECT_EQ(detectors_named("pii").size(), 4u);
  EXPECT_EQ(detectors_named("secrets").size(), kDetectorCount - 4);
  EXPECT_EQ(detectors_named("iban"), std::vector<Detector>{Detector::kIban});
  EXPECT_TRUE(detectors_named("nope").empty());
}

TEST(Detectors, RedactionKeepsTheRest) {
  auto p = compile_or_die({detector_rule("pii", detectors_named("pii"))});
  const std::string text = "Mail bob@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111. Thanks, Bøb";
  const Verdict v = p->evaluate(Stage::kInput, Role::kUser, "m", text);
  EXPECT_EQ(v.action, Action::kRedact);
  EXPECT_EQ(redact(text, v),
            "Mail [redacted:email] or call [redacted:phone]; card [redacted:payment_card]. Thanks, Bøb");
}

}  // namespace
}  // namespace parley::policy
