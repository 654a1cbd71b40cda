// Built-in detectors of personal data and secrets, by format, with validation where the format
// has a checksum. Each is a PCRE2 pattern that finds candidates in the original text (not the
// normalized form: these are ASCII formats) and a check that accepts or rejects a candidate:
//
//   email           local@domain.tld (ASCII; a top-level domain of letters)
//   phone           +<country> and 8..15 digits; (NNN) NNN-NNNN / NNN-NNN-NNNN (North America);
//                   0NN[N] NNN[N] NNN[N] (national, spaces or hyphens)
//   payment_card    13..19 digits (optionally grouped by single spaces or hyphens) with a valid
//                   Luhn check digit and the prefix of a card network
//   iban            country code, check digits, BBAN: the country's length and mod-97 = 1
//   openai_key      sk-..., sk-proj-..., sk-svcacct-..., sk-admin-... (letters and digits mixed)
//   aws_access_key  AKIA/ASIA/ABIA/ACCA + 16 [A-Z0-9]
//   github_token    ghp_/gho_/ghu_/ghs_/ghr_ + 36, github_pat_ + 22 + _ + 59
//   slack_token     xoxb-/xoxp-/xoxa-/xoxo-/xoxs-/xoxr-/xapp-... with digits
//   google_api_key  AIza + 35
//   private_key     a PEM "-----BEGIN ... PRIVATE KEY-----" block, to its END line (or to the end
//                   of the text when there is none yet)
//   jwt             eyJ<header>.eyJ<payload>.<signature> whose header decodes to JSON with "alg"
//   secret_assignment  password/secret/token/api_key/... followed by = or : and a value of 16..200
//                   characters with at least two character classes and >= 3.5 bits of entropy
//                   per character; only the value is the match
//
// Names accepted in the config: each name above, "pii" (email, phone, payment_card, iban) and
// "secrets" (the others).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace parley::policy {

enum class Detector : unsigned char {
  kEmail,
  kPhone,
  kPaymentCard,
  kIban,
  kOpenAiKey,
  kAwsAccessKey,
  kGithubToken,
  kSlackToken,
  kGoogleApiKey,
  kPrivateKey,
  kJwt,
  kSecretAssignment,
};
inline constexpr std::size_t kDetectorCount = 12;

std::string_view detector_name(Detector d);
// A detector name or group ("pii", "secrets"): the detectors it stands for; empty if unknown.
std::vector<Detector> detectors_named(std::string_view name);

struct DetectorSpec {
  std::string_view pattern;      // PCRE2 (no UTF needed); group 1, when set, is the match
  std::size_t max_match_bytes;   // the longest match (streaming hold-back)
  std::size_t prefix_bytes = 0;  // the longest text before group 1 (streaming context)
};
const DetectorSpec& detector_spec(Detector d);

// Accepts a candidate (the whole pattern match) of a detector.
bool detector_accepts(Detector d, std::string_view candidate);

// Checks exposed for tests.
bool luhn_valid(std::string_view digits);     // digits only, >= 2 of them
bool iban_valid(std::string_view iban);       // spaces allowed, any case
bool payment_card_valid(std::string_view s);  // digits, single spaces or hyphens between groups
double shannon_bits_per_char(std::string_view s);

}  // namespace parley::policy

namespace parley::policy {
// The end of a PEM private key block whose BEGIN line ends at `header_end`: just after its END
// line ("-----END " and the next "-----" within kPemEndLineMax bytes), or text.size() when the
// END line is not there (yet). *closed says which.
inline constexpr std::size_t kPemEndLineMax = 80;
std::size_t private_key_block_end(std::string_view text, std::size_t header_end, bool* closed);
}  // namespace parley::policy
