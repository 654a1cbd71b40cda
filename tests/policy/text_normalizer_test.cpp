#include "policy/text_normalizer.h"

#include <gtest/gtest.h>

namespace parley::policy {
namespace {

std::string norm(std::string_view s) {
  NormalizedText n;
  TextNormalizer::instance().normalize(s, 0, &n);
  return n.text;
}

TEST(TextNormalizer, FoldsWidthCaseConfusablesAndMarks) {
  EXPECT_EQ(norm("ｐａｓｓｗｏｒｄ"), "password");
  EXPECT_EQ(norm("PassWord"), "password");
  EXPECT_EQ(norm("pa\u200bss\u200d\u00adword\ufeff"), "password");
  EXPECT_EQ(norm("р\u0430ss\u1d21\u03bfrd"), "password");  // Cyrillic, small capital, Greek
  EXPECT_EQ(norm("pässwörd"), "password");
  EXPECT_EQ(norm("pa\u0301ssword"), "password");
  EXPECT_EQ(norm("ﬁsh Straße"), "fish strasse");
  EXPECT_EQ(norm("a \t\n\u00a0\u3000 b"), "a b");
}

TEST(TextNormalizer, TheOffsetMapPointsAtTheOriginalBytes) {
  const std::string text = "é\u200bＡ  b";
  NormalizedText n;
  TextNormalizer::instance().normalize(text, 10, &n);
  ASSERT_EQ(n.text, "ea b");
  ASSERT_EQ(n.src_begin.size(), n.text.size());
  EXPECT_EQ(n.src_begin[0], 10u);  // é: 2 bytes
  EXPECT_EQ(n.src_end[0], 12u);
  EXPECT_EQ(n.src_begin[1], 15u);  // after the 3-byte zero-width space: Ａ (3 bytes)
  EXPECT_EQ(n.src_end[1], 18u);
  EXPECT_EQ(n.src_begin[2], 18u);  // two spaces, one byte
  EXPECT_EQ(n.src_end[2], 20u);
  EXPECT_EQ(n.original_end(4), 21u);
}

TEST(TextNormalizer, InvalidBytesStandForThemselves) {
  const std::string text = "a\xff\xc3z";
  NormalizedText n;
  TextNormalizer::instance().normalize(text, 0, &n);
  EXPECT_EQ(n.text, text);
  EXPECT_EQ(n.src_begin, (std::vector<std::uint32_t>{0, 1, 2, 3}));
}

TEST(TextNormalizer, NormalizingPiecesEqualsNormalizingTheWhole) {
  const std::string text = "Ｐａ\u200bß  wörd\n\nok";
  NormalizedText whole;
  TextNormalizer::instance().normalize(text, 0, &whole);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    if (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) continue;
    NormalizedText parts;
    TextNormalizer::instance().normalize(std::string_view(text).substr(0, cut), 0, &parts);
    TextNormalizer::instance().normalize(std::string_view(text).substr(cut), static_cast<std::uint32_t>(cut), &parts);
    EXPECT_EQ(parts.text, whole.text) << cut;
    EXPECT_EQ(parts.src_begin, whole.src_begin) << cut;
    EXPECT_EQ(parts.src_end, whole.src_end) << cut;
  }
}

}  // namespace
}  // namespace parley::policy
