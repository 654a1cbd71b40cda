#include "policy/detectors.h"

#include <array>
#include <cmath>
#include <string>

namespace parley::policy {
namespace {

// Lookarounds keep a match from starting or ending inside a longer run of the same alphabet, so
// that no suffix of a longer token is reported.
constexpr std::array<DetectorSpec, kDetectorCount> kSpecs = {{
    {R"((?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,4})"
     R"([A-Za-z]{2,24}(?![A-Za-z0-9-]))",
     64 + 1 + 4 * 64 + 24 + 1},
    {R"((?<![\w+])(?:\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{1,4}){1,5})"
     R"(|\([0-9]{3}\)[ .-]?[0-9]{3}[ .-][0-9]{4}|[0-9]{3}-[0-9]{3}-[0-9]{4}|0[0-9]{2,4}[ -][0-9]{3,4}[ -]?[0-9]{3,4})(?![\w]))",
     40},
    {R"((?<![0-9-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9]))", 19 + 18 + 1},
    {R"((?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9]))", 42},
    {R"((?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,240}(?![A-Za-z0-9_-]))", 256},
    {R"((?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9]))", 21},
    {R"((?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_]))",
     94},
    {R"((?<![A-Za-z0-9-])(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-]))", 256},
    {R"((?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-]))", 40},
    {R"(-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?-----)", 72},
    {R"((?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,500}\.eyJ[A-Za-z0-9_-]{5,3000}\.[A-Za-z0-9_-]{16,600}(?![A-Za-z0-9_-]))",
     4110},
    {R"((?i)(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,20}[_-])?(?:password|passwd|pwd|secret|token|api[_-]?key|)"
     R"(access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?token)(?:[_-][A-Za-z0-9]{1,20})?["']?)"
     R"([ \t]{0,3}(?::=|=|:)[ \t]{0,3}["']?([A-Za-z0-9+/=_.~!@#$%^&*-]{16,200})(?![A-Za-z0-9+/=_.~!@#$%^&*-]))",
     300, 96},
}};

constexpr std::array<std::string_view, kDetectorCount> kNames = {
    "email",        "phone",       "payment_card",   "iban",        "openai_key", "aws_access_key",
    "github_token", "slack_token", "google_api_key", "private_key", "jwt",        "secret_assignment"};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

std::size_t count_digits(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += is_digit(c) ? 1 : 0;
  return n;
}

bool phone_accepts(std::string_view s) {
  const std::size_t digits = count_digits(s);
  if (s.front() == '+') return digits >= 8 && digits <= 15;
  if (s.front() == '(' || s.front() != '0') return digits == 10;  // North American forms
  return digits >= 9 && digits <= 12;
}

int iban_length(std::string_view cc) {
  struct Entry {
    const char* cc;
    int length;
  };
  static constexpr Entry kLengths[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
      {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28},
      {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23},
      {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
      {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
      {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18},
      {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
      {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
      {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
  };
  for (const Entry& e : kLengths) {
    if (cc == e.cc) return e.length;
  }
  return 0;
}

// The prefixes (IIN ranges) of the major card networks, with their lengths.
bool card_network_known(std::string_view d) {
  auto prefix = [&](std::size_t n) { return std::stoi(std::string(d.substr(0, n))); };
  const std::size_t len = d.size();
  if (d[0] == '4') return len == 13 || len == 16 || len == 19;  // Visa
  const int p2 = prefix(2), p4 = prefix(4), p3 = prefix(3), p6 = prefix(6);
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return len == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return len == 15;                                  // American Express
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) {
    return len >= 16 && len <= 19;  // Discover
  }
  if (p4 >= 3528 && p4 <= 3589) return len >= 16 && len <= 19;                                      // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return len >= 14 && len <= 19;  // Diners
  if (p2 == 62) return len >= 16 && len <= 19;                                                      // UnionPay
  if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 || p4 == 6761 || p4 == 6762 ||
      p4 == 6763) {
    return len >= 12 && len <= 19;  // Maestro
  }
  return false;
}

bool mixed_letters_and_digits(std::string_view s) {
  bool letter = false, digit = false;
  for (const char c : s) {
    letter |= is_upper(c) || is_lower(c);
    digit |= is_digit(c);
  }
  return letter && digit;
}

int base64url_value(char c) {
  if (is_upper(c)) return c - 'A';
  if (is_lower(c)) return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

std::string base64url_decode(std::string_view s, std::size_t max_out) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (const char c : s) {
    const int v = base64url_value(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
      if (out.size() >= max_out) break;
    }
  }
  return out;
}

bool jwt_accepts(std::string_view s) {
  const std::string header = base64url_decode(s.substr(0, s.find('.')), 512);
  return !header.empty() && header.front() == '{' && header.find("\"alg\"") != std::string::npos;
}

bool looks_like_placeholder(std::string_view v) {
  std::string lower(v);
  for (char& c : lower) c = is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
  for (const std::string_view w :
       {"xxxx", "****", "....", "your", "example", "changeme", "placeholder", "redacted", "dummy", "<", "${", "{{"}) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

bool secret_value_accepts(std::string_view v) {
  int classes = 0;
  bool lower = false, upper = false, digit = false, other = false;
  for (const char c : v) {
    lower |= is_lower(c);
    upper |= is_upper(c);
    digit |= is_digit(c);
    other |= !(is_lower(c) || is_upper(c) || is_digit(c));
  }
  classes = lower + upper + digit + other;
  return classes >= 2 && shannon_bits_per_char(v) >= 3.5 && !looks_like_placeholder(v);
}

}  // namespace

std::string_view detector_name(Detector d) {
  return kNames[static_cast<std::size_t>(d)];
}

std::vector<Detector> detectors_named(std::string_view name) {
  std::vector<Detector> out;
  if (name == "pii") return {Detector::kEmail, Detector::kPhone, Detector::kPaymentCard, Detector::kIban};
  if (name == "secrets") {
    for (std::size_t i = static_cast<std::size_t>(Detector::kOpenAiKey); i < kDetectorCount; ++i) {
      out.push_back(static_cast<Detector>(i));
    }
    return out;
  }
  for (std::size_t i = 0; i < kDetectorCount; ++i) {
    if (kNames[i] == name) out.push_back(static_cast<Detector>(i));
  }
  return out;
}

const DetectorSpec& detector_spec(Detector d) {
  return kSpecs[static_cast<std::size_t>(d)];
}

bool luhn_valid(std::string_view digits) {
  if (digits.size() < 2) return false;
  int sum = 0;
  bool twice = false;
  for (std::size_t i = digits.size(); i-- > 0;) {
    if (!is_digit(digits[i])) return false;
    int v = digits[i] - '0';
    if (twice) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool payment_card_valid(std::string_view s) {
  std::string digits;
  char separator = 0;
  for (const char c : s) {
    if (is_digit(c)) {
      digits += c;
    } else if (separator != 0 && c != separator) {
      return false;  // "1234 5678-..." mixes separators: not how a card number is written
    } else {
      separator = c;
    }
  }
  return digits.size() >= 13 && digits.size() <= 19 && card_network_known(digits) && luhn_valid(digits);
}

bool iban_valid(std::string_view s) {
  std::string iban;
  for (const char c : s) {
    if (c == ' ') continue;
    iban += is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (iban.size() < 15 || iban.size() > 34) return false;
  if (iban_length(std::string_view(iban).substr(0, 2)) != static_cast<int>(iban.size())) return false;
  if (!is_digit(iban[2]) || !is_digit(iban[3])) return false;
  // Move the first four characters to the end, letters become 10..35, the number mod 97 is 1.
  const std::string rearranged = iban.substr(4) + iban.substr(0, 4);
  int rem = 0;
  for (const char c : rearranged) {
    if (is_digit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (is_upper(c)) {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

double shannon_bits_per_char(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (const char c : s) ++counts[static_cast<unsigned char>(c)];
  double bits = 0;
  const double n = static_cast<double>(s.size());
  for (const int k : counts) {
    if (k > 0) bits -= (k / n) * std::log2(k / n);
  }
  return bits;
}

bool detector_accepts(Detector d, std::string_view c) {
  switch (d) {
    case Detector::kPhone:
      return phone_accepts(c);
    case Detector::kPaymentCard:
      return payment_card_valid(c);
    case Detector::kIban:
      return iban_valid(c);
    case Detector::kOpenAiKey:
      return mixed_letters_and_digits(c.substr(3)) && shannon_bits_per_char(c.substr(3)) >= 3.0;
    case Detector::kSlackToken:
      return count_digits(c) >= 4;
    case Detector::kJwt:
      return jwt_accepts(c);
    case Detector::kSecretAssignment:
      return secret_value_accepts(c);
    default:
      return true;
  }
}

std::size_t private_key_block_end(std::string_view text, std::size_t header_end, bool* closed) {
  for (std::size_t from = header_end;;) {
    const std::size_t end_line = text.find("-----END ", from);
    if (end_line == std::string_view::npos) break;
    const std::size_t dashes = text.find("-----", end_line + 9);
    if (dashes != std::string_view::npos && dashes - end_line <= kPemEndLineMax) {
      *closed = true;
      return dashes + 5;
    }
    from = end_line + 1;
  }
  *closed = false;
  return text.size();
}

}  // namespace parley::policy
