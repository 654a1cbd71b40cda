// The regex subset: what each construct matches, JSON-string escaping, and the errors.
#include "grammar/regex.h"

#include <gtest/gtest.h>

#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::compile_or_die;
using testing::matches;

std::shared_ptr<const CompiledGrammar> re(std::string_view pattern) {
  auto g = regex_grammar(pattern);
  CHECK(g.ok(), "{}", g.status().to_string());
  return compile_or_die(*g);
}

Grammar json_string_of(std::string_view pattern) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  RegexOptions o;
  o.json_string = true;
  auto e = regex_expr(g, pattern, o, {});
  CHECK(e.ok(), "{}", e.status().to_string());
  g.set_rule(root, *e);
  g.set_root(root);
  return g;
}

TEST(Regex, Basics) {
  const auto c = re("^(ab|cd)+x?[0-9]{2,3}$");
  for (const char* ok : {"ab12", "abcdx123", "cd99"}) EXPECT_TRUE(matches(c, ok)) << ok;
  for (const char* bad : {"ab1", "x12", "ab1234", "abx1", ""}) EXPECT_FALSE(matches(c, bad)) << bad;
}

TEST(Regex, ClassesAndEscapes) {
  const auto c = re(R"(\d\w\s[^a-z\d][\-\]]\.\x41\u00e9\u{1F600}\n\/)");
  EXPECT_TRUE(matches(c, "7_ Z].Aé😀\n/"));
  EXPECT_TRUE(matches(c, "0a\t!-.Aé😀\n/"));
  EXPECT_FALSE(matches(c, "7_ z].Aé😀\n/"));  // [^a-z\d]
  EXPECT_FALSE(matches(c, "7_ Z]xAé😀\n/"));  // \. is a dot
}

TEST(Regex, NegatedShorthandsStayClearOfUnicodeDigitsAndSpaces) {
  // Python's \d and \s match beyond ASCII; text generated for \D and \S never contains those.
  const auto d = re(R"(\D+)");
  EXPECT_TRUE(matches(d, "ab!"));
  EXPECT_FALSE(matches(d, "\xD9\xA3"));  // ARABIC-INDIC DIGIT THREE
  EXPECT_FALSE(matches(d, "é"));         // not ASCII: left out of \D
  const auto s = re(R"(\S+)");
  EXPECT_TRUE(matches(s, "é€x"));
  EXPECT_FALSE(matches(s, "\xC2\xA0"));  // NO-BREAK SPACE
  EXPECT_FALSE(matches(s, "\x1C"));
}

TEST(Regex, DotExcludesLineBreaks) {
  const auto c = re("a.c");
  EXPECT_TRUE(matches(c, "aβc"));
  EXPECT_FALSE(matches(c, "a\nc"));
  EXPECT_FALSE(matches(c, "a\rc"));
  EXPECT_FALSE(matches(c,
                       "a\xE2\x80\xA8"
                       "c"));
}

TEST(Regex, QuantifiersGroupsAndLiteralBraces) {
  const auto c = re("(?:x{2})+(?<tail>y{1,}?)z{,2}");  // "{,2}" is not a quantifier: a literal
  EXPECT_TRUE(matches(c, "xxxxyyz{,2}"));
  EXPECT_FALSE(matches(c, "xxxyz{,2}"));
}

TEST(Regex, JsonStringModeEscapesWhatJsonMustEscape) {
  const auto c = compile_or_die(json_string_of(R"(["\\\n]a.)"));
  EXPECT_TRUE(matches(c, R"(\"ab)"));
  EXPECT_TRUE(matches(c, R"(\\a\")"));  // '.' includes '"', written \"
  EXPECT_TRUE(matches(c, R"(\nab)"));
  EXPECT_FALSE(matches(c, "\"ab"));
  EXPECT_FALSE(matches(c, "\nab"));
  const auto ctl = compile_or_die(json_string_of("[\\x01\\t]"));
  EXPECT_TRUE(matches(ctl, "\\u0001"));
  EXPECT_TRUE(matches(ctl, "\\t"));
  EXPECT_FALSE(matches(ctl, "\t"));
}

TEST(Regex, UnsupportedConstructsAreClearErrors) {
  for (const char* p : {"(?=a)", "(?!a)", "(?<=a)b", "a\\1", "\\bword", "\\p{L}", "a^b", "a$b", "(ab", "ab)", "[ab",
                        "*a", "a{3,2}", "[z-a]", "[[:alpha:]]"}) {
    const auto g = regex_grammar(p);
    EXPECT_FALSE(g.ok()) << p;
    EXPECT_EQ(g.status().code(), ErrorCode::kInvalidArgument) << p;
  }
  GrammarLimits limits;
  limits.max_repeat = 100;
  EXPECT_FALSE(regex_grammar("a{101}", limits).ok());
  EXPECT_NE(regex_grammar("(?=a)").status().message().find("lookaround"), std::string_view::npos);
}

TEST(Regex, DeepNestingIsBounded) {
  const std::string deep = std::string(200, '(') + "a" + std::string(200, ')');
  const auto g = regex_grammar(deep);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("nested"), std::string_view::npos);
}

}  // namespace
}  // namespace parley
