#include "policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "policy_test_util.h"

namespace parley::policy {
namespace {

using testing::compile_or_die;
using testing::detector_rule;
using ::testing::ElementsAre;
using testing::matched_texts;
using testing::phrase_rule;
using testing::regex_rule;

Verdict eval(const Policy& p, std::string_view text, Stage stage = Stage::kInput, Role role = Role::kUser,
             std::string_view model = "m") {
  return p.evaluate(stage, role, model, text);
}

TEST(PolicyPhrases, BypassAttemptsStillMatch) {
  auto p = compile_or_die({phrase_rule("pw", {"password"})});
  for (const std::string_view text : {
           "my password is", "my PASSWORD is", "my PassWord is",
           "my ｐａｓｓｗｏｒｄ is",                   // fullwidth
           "my pa\u200bssword is",                     // zero-width space
           "my pa\u00adss\u200dword is",               // soft hyphen, zero-width joiner
           "my р\u0430ssword is",                      // Cyrillic er and a
           "my pa\u0455\u0455w\u043erd is",            // Cyrillic dze (s) and o
           "my p\u0430\u0455\u0455\u1d21\u03bfrd is",  // small capital w, Greek omicron
           "my pässwörd is",                           // diacritics
           "my pa\u0301ssword is",                     // combining accent
           "my passw0rd is",                           // digit zero
           "my 𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝 is",                           // mathematical bold
       }) {
    const Verdict v = eval(*p, text);
    EXPECT_EQ(v.action, Action::kBlock) << text;
    ASSERT_EQ(v.matches.size(), 1u) << text;
    const std::string_view got = text.substr(v.matches[0].span.begin, v.matches[0].span.end - v.matches[0].span.begin);
    EXPECT_EQ(std::string(text.substr(0, 3)) + std::string(got) + " is", text) << "the span is the whole word";
  }
}

TEST(PolicyPhrases, WholeWordsOnlyByDefault) {
  auto p = compile_or_die({phrase_rule("a", {"ass"})});
  EXPECT_EQ(eval(*p, "a class of grass").action, Action::kNone);
  EXPECT_EQ(eval(*p, "you ass!").action, Action::kBlock);
  RuleConfig inside = phrase_rule("b", {"ass"});
  inside.whole_words = false;
  auto q = compile_or_die({inside});
  EXPECT_EQ(eval(*q, "a class").action, Action::kBlock);
}

TEST(PolicyPhrases, MultiWordPhrasesMatchAnyWhiteSpace) {
  auto p = compile_or_die({phrase_rule("s", {"secret  sauce"})});
  EXPECT_EQ(eval(*p, "the Secret\n\t Sauce recipe").action, Action::kBlock);
  EXPECT_EQ(eval(*p, "secretsauce").action, Action::kNone);
}

TEST(PolicyPhrases, SpacedOutLettersMatchOnlyWhenAsked) {
  RuleConfig spaced = phrase_rule("pw", {"password"});
  spaced.spacing = true;
  auto p = compile_or_die({spaced});
  auto plain = compile_or_die({phrase_rule("pw", {"password"})});
  for (const std::string_view text : {"say p a s s w o r d now", "p-a-s-s-w-o-r-d", "P.A.S.S.W.O.R.D.",
                                      "p a s s w 0 r d", "p  a  s  s  w  o  r  d"}) {
    const Verdict v = eval(*p, text);
    EXPECT_EQ(v.action, Action::kBlock) << text;
    EXPECT_EQ(eval(*plain, text).action, Action::kNone) << text;
  }
  const Verdict v = eval(*p, "say p a s s w o r d now");
  EXPECT_THAT(matched_texts(v, "say p a s s w o r d now"), ElementsAre("p a s s w o r d"));
  // Words that happen to spell it when their spaces are removed are not spelled-out letters.
  for (const std::string_view text : {"grasp as sword", "pass word", "pa ss wo rd", "a passport word"}) {
    EXPECT_EQ(eval(*p, text).action, Action::kNone) << text;
  }
}

TEST(PolicyPhrases, ConfiguredPhrasesAreNormalizedToo) {
  auto p = compile_or_die({phrase_rule("pw", {"ＰＡＳＳ\u200bWORD"})});
  EXPECT_EQ(eval(*p, "password").action, Action::kBlock);
}

TEST(PolicyPhrases, ManyPhrasesAndOverlaps) {
  auto p = compile_or_die({phrase_rule("a", {"he", "she", "his", "hers"}, Action::kFlag)});
  RuleConfig r = phrase_rule("b", {"he", "she", "his", "hers"}, Action::kFlag);
  r.whole_words = false;
  auto q = compile_or_die({r});
  EXPECT_THAT(matched_texts(eval(*q, "ushers"), "ushers"), ElementsAre("she", "he", "hers"));
  EXPECT_THAT(matched_texts(eval(*p, "she and he, hers"), "she and he, hers"), ElementsAre("she", "he", "hers"));
}

TEST(PolicyRules, StageRoleAndModelSelectRules) {
  RuleConfig r = phrase_rule("pw", {"password"});
  r.stage = Stage::kOutput;
  r.roles = {false, false, false, true};
  r.models = {"big"};
  auto p = compile_or_die({r});
  EXPECT_EQ(eval(*p, "password", Stage::kOutput, Role::kAssistant, "big").action, Action::kBlock);
  EXPECT_EQ(eval(*p, "password", Stage::kInput, Role::kAssistant, "big").action, Action::kNone);
  EXPECT_EQ(eval(*p, "password", Stage::kOutput, Role::kUser, "big").action, Action::kNone);
  EXPECT_EQ(eval(*p, "password", Stage::kOutput, Role::kAssistant, "small").action, Action::kNone);
}

TEST(PolicyRules, TheMostSevereActionWins) {
  auto p = compile_or_die({phrase_rule("f", {"alpha"}, Action::kFlag), phrase_rule("r", {"beta"}, Action::kRedact),
                           phrase_rule("b", {"gamma"}, Action::kBlock)});
  EXPECT_EQ(eval(*p, "alpha").action, Action::kFlag);
  EXPECT_EQ(eval(*p, "alpha beta").action, Action::kRedact);
  EXPECT_EQ(eval(*p, "gamma alpha beta").action, Action::kBlock);
  EXPECT_EQ(eval(*p, "delta").action, Action::kNone);
}

TEST(PolicyRegex, MatchesOnTheOriginalText) {
  auto p = compile_or_die({regex_rule("inc", R"(INC-\d{6})", Action::kRedact)});
  const std::string text = "see INC-123456 and INC-654321.";
  const Verdict v = eval(*p, text);
  EXPECT_THAT(matched_texts(v, text), ElementsAre("INC-123456", "INC-654321"));
  EXPECT_EQ(redact(text, v), "see [redacted:inc] and [redacted:inc].");
}

TEST(PolicyRegex, CatastrophicPatternsAreRefusedAtLoad) {
  for (const std::string pattern : {"(a+)+$", "(a|aa)+$", "(\\w+\\s?)+$", "(x+x+)+y"}) {
    PolicyConfig c;
    c.rules = {regex_rule("bad", pattern)};
    auto p = Policy::compile(c);
    ASSERT_FALSE(p.ok()) << pattern;
    EXPECT_NE(p.status().message().find("moderation.rules[0] (bad): pattern"), std::string::npos)
        << p.status().message();
    EXPECT_NE(p.status().message().find("backtrack"), std::string::npos) << p.status().message();
  }
}

TEST(PolicyRegex, BadPatternsAreRefusedAtLoad) {
  for (const std::string pattern : {"(", "a*", "x?", "(?:)", ""}) {
    PolicyConfig c;
    c.rules = {regex_rule("bad", pattern)};
    EXPECT_FALSE(Policy::compile(c).ok()) << pattern;
  }
}

TEST(PolicyRegex, HugeInputsStayBounded) {
  auto p = compile_or_die({regex_rule("r", R"((?:ab|a)+c)", Action::kFlag)});
  const std::string text(100000, 'a');
  const Verdict v = eval(*p, text);
  EXPECT_EQ(v.action, Action::kNone);
}

TEST(PolicyConfigChecks, RulesAreCheckedWithTheirNames) {
  PolicyConfig c;
  c.rules = {phrase_rule("x", {"a"}), phrase_rule("x", {"b"})};
  auto p = Policy::compile(c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("moderation.rules[1] (x)"), std::string::npos) << p.status().message();
  c.rules = {phrase_rule("y", {" \u200b "})};
  p = Policy::compile(c);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("phrases[0] is empty"), std::string::npos) << p.status().message();
}

TEST(PolicyRedact, MasksExactlyTheOriginalBytesOfMultiByteText) {
  auto p = compile_or_die({phrase_rule("pw", {"password"}, Action::kRedact)});
  const std::string text = "日本語 ｐａ\u200bｓｓｗｏｒｄ — é ok";
  const Verdict v = eval(*p, text);
  ASSERT_EQ(v.matches.size(), 1u);
  EXPECT_EQ(redact(text, v), "日本語 [redacted:pw] — é ok");
}

TEST(PolicyRedact, OverlappingSpansMergeAndFlagsStay) {
  auto p =
      compile_or_die({phrase_rule("a", {"big secret"}, Action::kRedact),
                      phrase_rule("b", {"secret plan"}, Action::kRedact), phrase_rule("c", {"plan"}, Action::kFlag)});
  const std::string text = "the big secret plan is here";
  const Verdict v = eval(*p, text);
  EXPECT_EQ(redact(text, v), "the [redacted:a] is here");
  EXPECT_EQ(redact(text, v, Action::kFlag), "the [redacted:a] is here");
  auto q = compile_or_die({phrase_rule("c", {"plan"}, Action::kFlag)});
  EXPECT_EQ(redact(text, eval(*q, text)), text);
  EXPECT_EQ(redact(text, eval(*q, text), Action::kFlag), "the big secret [redacted:c] is here");
}

TEST(PolicyScratchReuse, ResultsDoNotDependOnTheScratch) {
  auto p = compile_or_die({phrase_rule("pw", {"password"}), regex_rule("r", "x{3}", Action::kFlag)});
  PolicyScratch scratch;
  Verdict v;
  p->evaluate(Stage::kInput, Role::kUser, "m", "a long text with xxx and a password", &scratch, &v);
  EXPECT_EQ(v.matches.size(), 2u);
  p->evaluate(Stage::kInput, Role::kUser, "m", "short", &scratch, &v);
  EXPECT_TRUE(v.matches.empty());
  EXPECT_EQ(v.action, Action::kNone);
}

}  // namespace
}  // namespace parley::policy
