// UTF-8 validity (RFC 3629), decode/append round trips, and the incomplete-suffix rule that the
// streaming detokenizer relies on.
#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/rng.h"
#include "base/utf8_reference.h"

namespace parley {
namespace {

bool is_surrogate(char32_t cp) {
  return cp >= 0xD800 && cp <= 0xDFFF;
}

std::string encode(char32_t cp) {
  std::string s;
  utf8_append(s, cp);
  return s;
}

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
    out += ' ';
  }
  return out;
}

std::vector<char32_t> decode_all(std::string_view s) {
  std::vector<char32_t> out;
  size_t pos = 0;
  while (pos < s.size()) out.push_back(utf8_decode(s, &pos));
  EXPECT_EQ(pos, s.size());
  return out;
}

TEST(Utf8Test, LeadLength) {
  EXPECT_EQ(utf8_lead_length(0x00), 1u);
  EXPECT_EQ(utf8_lead_length(0x7F), 1u);
  for (int b = 0x80; b <= 0xBF; ++b) EXPECT_EQ(utf8_lead_length(static_cast<unsigned char>(b)), 0u) << b;
  EXPECT_EQ(utf8_lead_length(0xC0), 0u);  // would only encode overlong forms
  EXPECT_EQ(utf8_lead_length(0xC1), 0u);
  EXPECT_EQ(utf8_lead_length(0xC2), 2u);
  EXPECT_EQ(utf8_lead_length(0xDF), 2u);
  EXPECT_EQ(utf8_lead_length(0xE0), 3u);
  EXPECT_EQ(utf8_lead_length(0xEF), 3u);
  EXPECT_EQ(utf8_lead_length(0xF0), 4u);
  EXPECT_EQ(utf8_lead_length(0xF4), 4u);
  for (int b = 0xF5; b <= 0xFF; ++b) EXPECT_EQ(utf8_lead_length(static_cast<unsigned char>(b)), 0u) << b;
}

struct ValidityCase {
  const char* name;
  std::string_view bytes;
  bool valid;
};

TEST(Utf8Test, ValidityTable) {
  using namespace std::string_view_literals;
  const ValidityCase cases[] = {
      {"empty", ""sv, true},
      {"ascii", "hello"sv, true},
      {"nul byte", "a\0b"sv, true},
      {"2-byte min U+0080", "\xC2\x80"sv, true},
      {"2-byte max U+07FF", "\xDF\xBF"sv, true},
      {"3-byte min U+0800", "\xE0\xA0\x80"sv, true},
      {"before surrogates U+D7FF", "\xED\x9F\xBF"sv, true},
      {"after surrogates U+E000", "\xEE\x80\x80"sv, true},
      {"U+FFFF", "\xEF\xBF\xBF"sv, true},
      {"4-byte min U+10000", "\xF0\x90\x80\x80"sv, true},
      {"max U+10FFFF", "\xF4\x8F\xBF\xBF"sv, true},
      {"euro sign in text",
       "cost: \xE2\x82\xAC"
       "5"sv,
       true},
      {"overlong NUL C0 80", "\xC0\x80"sv, false},
      {"overlong '/' C1 AF", "\xC1\xAF"sv, false},
      {"overlong 3-byte U+007F", "\xE0\x81\xBF"sv, false},
      {"overlong 3-byte U+07FF", "\xE0\x9F\xBF"sv, false},
      {"overlong 4-byte U+FFFF", "\xF0\x8F\xBF\xBF"sv, false},
      {"surrogate U+D800", "\xED\xA0\x80"sv, false},
      {"surrogate U+DFFF", "\xED\xBF\xBF"sv, false},
      {"surrogate pair (CESU-8)", "\xED\xA0\xBD\xED\xB8\x80"sv, false},
      {"above max U+110000", "\xF4\x90\x80\x80"sv, false},
      {"lead F5", "\xF5\x80\x80\x80"sv, false},
      {"lead FF", "\xFF"sv, false},
      {"lone continuation", "\x80"sv, false},
      {"continuation after ascii", "a\xBF"sv, false},
      {"truncated 2-byte", "\xC3"sv, false},
      {"truncated 3-byte", "\xE2\x82"sv, false},
      {"truncated 4-byte", "\xF0\x9F\x98"sv, false},
      {"truncated then ascii", "\xE2\x82z"sv, false},
      {"bad third byte", "\xE2\x82\x41"sv, false},
      {"bad fourth byte", "\xF0\x9F\x98\x41"sv, false},
      {"5-byte form", "\xF8\x88\x80\x80\x80"sv, false},
  };
  for (const auto& c : cases) EXPECT_EQ(utf8_is_valid(c.bytes), c.valid) << c.name;
}

TEST(Utf8Test, ValidPrefixCharLength) {
  EXPECT_EQ(utf8_valid_prefix_char_length(""), 0u);
  EXPECT_EQ(utf8_valid_prefix_char_length("ab"), 1u);
  EXPECT_EQ(utf8_valid_prefix_char_length("\xC3\xA9x"), 2u);
  EXPECT_EQ(utf8_valid_prefix_char_length("\xE2\x82\xAC"), 3u);
  EXPECT_EQ(utf8_valid_prefix_char_length("\xF0\x9F\x98\x80!"), 4u);
  EXPECT_EQ(utf8_valid_prefix_char_length("\xF0\x9F\x98"), 0u);  // truncated
  EXPECT_EQ(utf8_valid_prefix_char_length("\xC0\x80"), 0u);      // overlong
  EXPECT_EQ(utf8_valid_prefix_char_length("\xED\xA0\x80"), 0u);  // surrogate
  EXPECT_EQ(utf8_valid_prefix_char_length("\x80"), 0u);
}

TEST(Utf8Test, EncodedLengthsAtBoundaries) {
  const std::pair<char32_t, size_t> cases[] = {
      {0x0, 1},    {0x7F, 1},   {0x80, 2},   {0x7FF, 2},   {0x800, 3},    {0xD7FF, 3},
      {0xE000, 3}, {0xFFFD, 3}, {0xFFFF, 3}, {0x10000, 4}, {0x10FFFF, 4},
  };
  for (const auto& [cp, len] : cases) EXPECT_EQ(encode(cp).size(), len) << std::hex << static_cast<std::uint32_t>(cp);
  EXPECT_EQ(encode(0x20AC), "\xE2\x82\xAC");
  EXPECT_EQ(encode(0x1F600), "\xF0\x9F\x98\x80");
}

TEST(Utf8Test, EveryScalarValueRoundTrips) {
  // All 1,112,064 Unicode scalar values: cheap enough to do exhaustively.
  std::string s;
  size_t checked = 0;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (is_surrogate(cp)) continue;
    s.clear();
    utf8_append(s, cp);
    ASSERT_EQ(utf8_valid_prefix_char_length(s), s.size()) << std::hex << static_cast<std::uint32_t>(cp);
    ASSERT_TRUE(utf8_is_valid(s)) << std::hex << static_cast<std::uint32_t>(cp);
    size_t pos = 0;
    ASSERT_EQ(utf8_decode(s, &pos), cp);
    ASSERT_EQ(pos, s.size());
    ++checked;
  }
  EXPECT_EQ(checked, 0x110000u - 0x800u);
}

TEST(Utf8Test, SampleConcatenatedRoundTrips) {
  std::vector<char32_t> cps;
  for (char32_t cp : {0x0u, 0x41u, 0x7Fu, 0x80u, 0xE9u, 0x7FFu, 0x800u, 0x20ACu, 0xD7FFu, 0xE000u, 0xFFFDu, 0xFFFFu,
                      0x10000u, 0x1F600u, 0x10FFFFu}) {
    cps.push_back(cp);
  }
  for (char32_t cp = 1; cp <= 0x10FFFF; cp += 4099) {
    if (!is_surrogate(cp)) cps.push_back(cp);
  }
  std::string s;
  for (char32_t cp : cps) utf8_append(s, cp);
  EXPECT_TRUE(utf8_is_valid(s));
  EXPECT_EQ(decode_all(s), cps);
}

TEST(Utf8Test, AppendReplacesSurrogatesAndOutOfRange) {
  for (char32_t cp : {0xD800u, 0xDBFFu, 0xDC00u, 0xDFFFu, 0x110000u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    EXPECT_EQ(encode(cp), "\xEF\xBF\xBD") << std::hex << static_cast<std::uint32_t>(cp);
  }
}

TEST(Utf8Test, DecodeConsumesEveryInvalidByteOnce) {
  constexpr char32_t R = kReplacementChar;
  EXPECT_EQ(decode_all("\xC0\x80"), (std::vector<char32_t>{R, R}));
  EXPECT_EQ(decode_all("a\xE2\x82"), (std::vector<char32_t>{'a', R, R}));
  EXPECT_EQ(decode_all("\xE2\x82z"), (std::vector<char32_t>{R, R, 'z'}));
  EXPECT_EQ(decode_all("\xED\xA0\x80"), (std::vector<char32_t>{R, R, R}));
  EXPECT_EQ(decode_all("\xF4\x90\x80\x80"), (std::vector<char32_t>{R, R, R, R}));
  EXPECT_EQ(decode_all("\xFF\xC3\xA9"), (std::vector<char32_t>{R, 0xE9}));
  // A literal U+FFFD decodes as itself.
  EXPECT_EQ(decode_all("\xEF\xBF\xBD"), (std::vector<char32_t>{R}));
}

TEST(Utf8Test, DecodeOfArbitraryBytesAlwaysTerminates) {
  // Every 2-byte combination: decoding never overruns and yields at most one char per byte.
  std::string s(2, '\0');
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      s[0] = static_cast<char>(a);
      s[1] = static_cast<char>(b);
      const auto cps = decode_all(s);
      ASSERT_GE(cps.size(), 1u);
      ASSERT_LE(cps.size(), 2u);
      ASSERT_EQ(cps.size() == 1, utf8_is_valid(s) && utf8_valid_prefix_char_length(s) == 2) << a << " " << b;
    }
  }
}

struct SuffixCase {
  std::string_view bytes;
  size_t expected;
};

TEST(Utf8Test, IncompleteSuffixLengthCases) {
  using namespace std::string_view_literals;
  const SuffixCase cases[] = {
      {""sv, 0},
      {"abc"sv, 0},
      {"\xC3"sv, 1},  // start of a 2-byte char
      {"a\xC3"sv, 1},
      {"a\xC3\xA9"sv, 0},  // complete
      {"a\xE2"sv, 1},
      {"a\xE2\x82"sv, 2},
      {"a\xE2\x82\xAC"sv, 0},  // complete euro sign
      {"\xF0"sv, 1},
      {"\xF0\x9F"sv, 2},
      {"\xF0\x9F\x98"sv, 3},
      {"x\xF0\x9F\x98\x80"sv, 0},  // complete emoji
      {"\xE0\xA0"sv, 2},           // valid start of U+0800..
      {"\xE0\x80"sv, 0},           // overlong: can never become valid
      {"\xED\xA0"sv, 0},           // surrogate
      {"\xF0\x80"sv, 0},           // overlong 4-byte
      {"\xF4\x90"sv, 0},           // above U+10FFFF
      {"\xF4\x8F"sv, 2},
      {"\xC0"sv, 0},  // invalid lead
      {"\xC1"sv, 0},
      {"\xF5"sv, 0},
      {"\xFF"sv, 0},
      {"\x80"sv, 0},           // lone continuation
      {"a\x80\x80\x80"sv, 0},  // no lead within the last 3 bytes
      {"\xC3\xA9\x80"sv, 0},   // continuation after a complete char
      {"\xE2\x82\xAC\xE2"sv, 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(utf8_incomplete_suffix_length(c.bytes), c.expected) << hex(c.bytes);
  }
}

TEST(Utf8Test, EveryProperPrefixOfACharIsIncomplete) {
  // For a sample of characters of each length, each proper prefix after some text is held back,
  // and the complete character is not.
  for (char32_t cp = 0x80; cp <= 0x10FFFF; cp += 37) {
    if (is_surrogate(cp)) continue;
    const std::string enc = encode(cp);
    for (size_t k = 1; k < enc.size(); ++k) {
      const std::string s = "ab" + enc.substr(0, k);
      ASSERT_EQ(utf8_incomplete_suffix_length(s), k) << std::hex << static_cast<std::uint32_t>(cp) << " prefix " << k;
    }
    ASSERT_EQ(utf8_incomplete_suffix_length("ab" + enc), 0u) << std::hex << static_cast<std::uint32_t>(cp);
  }
}

TEST(Utf8Test, InvalidPrefixLengthIsTheMaximalSubpart) {
  using namespace std::string_view_literals;
  const SuffixCase cases[] = {
      {"\x80"sv, 1},  // lone continuation
      {"\xBF\xBF"sv, 1},
      {"\xC0\xAF"sv, 1},  // C0 can never start a character: C0 AF is two units
      {"\xC1\xBF"sv, 1},
      {"\xF5\x80\x80\x80"sv, 1},
      {"\xFF"sv, 1},
      {"\xC3"sv, 1},  // truncated 2-byte at the end
      {"\xC3z"sv, 1},
      {"\xE2\x82"sv, 2},  // truncated 3-byte
      {"\xE2\x82z"sv, 2},
      {"\xE2z"sv, 1},
      {"\xF0\x9F\x99"sv, 3},  // truncated 4-byte: one unit
      {"\xF0\x9F\x99z"sv, 3},
      {"\xF0\x9Fz"sv, 2},
      {"\xE0\x80\x80"sv, 1},      // overlong: E0 80 is not a prefix of anything valid
      {"\xED\xA0\x80"sv, 1},      // surrogate
      {"\xF0\x80\x80\x80"sv, 1},  // overlong 4-byte
      {"\xF4\x90\x80\x80"sv, 1},  // above U+10FFFF
      {"\xF4\x8F\xBF"sv, 3},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(utf8_invalid_prefix_length(c.bytes), c.expected) << hex(c.bytes);
    EXPECT_EQ(utf8_reference::maximal_subpart_length(c.bytes), c.expected) << "reference " << hex(c.bytes);
  }
  EXPECT_EQ(utf8_invalid_prefix_length(""), 0u);
}

TEST(Utf8Test, AppendSanitizedMatchesUnicodeTable3_8) {
  // The example of "U+FFFD Substitution of Maximal Subparts" in the Unicode Standard, chapter 3:
  // 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 -> a FFFD FFFD FFFD b FFFD c FFFD FFFD d.
  const std::string_view in = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  const std::string r = "\xEF\xBF\xBD";
  const std::string want = "a" + r + r + r + "b" + r + "c" + r + r + "d";
  std::string out = "keep:";
  utf8_append_sanitized(out, in);
  EXPECT_EQ(out, "keep:" + want);
  EXPECT_EQ(utf8_reference::sanitize(in), want);
}

TEST(Utf8Test, AppendSanitizedMatchesTheReference) {
  // Every 1- and 2-byte string, then random strings biased towards lead and continuation bytes.
  std::string s;
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      s.assign(1, static_cast<char>(a));
      if (b >= 0) s += static_cast<char>(b);
      std::string out;
      utf8_append_sanitized(out, s);
      ASSERT_EQ(out, utf8_reference::sanitize(s)) << hex(s);
    }
  }
  static constexpr unsigned char kBytes[] = {'a',  0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF,
                                             0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF};
  Rng rng(99);
  for (int iter = 0; iter < 20000; ++iter) {
    s.assign(rng.below(12), '\0');
    for (char& c : s) c = static_cast<char>(kBytes[rng.below(sizeof kBytes)]);
    std::string out;
    utf8_append_sanitized(out, s);
    ASSERT_TRUE(utf8_is_valid(out)) << hex(s);
    ASSERT_EQ(out, utf8_reference::sanitize(s)) << hex(s);
    if (utf8_is_valid(s)) {
      ASSERT_EQ(out, s);
    }
  }
}

}  // namespace
}  // namespace parley
