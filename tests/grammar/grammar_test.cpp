// The grammar IR and its automaton: languages of the constructs, UTF-8 classes, special tokens,
// separated lists, and the errors (left recursion, undefined rules, empty languages, limits).
#include "grammar/grammar.h"

#include <gtest/gtest.h>

#include "grammar/pda.h"
#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::compile_or_die;
using testing::matches;

Grammar single(const std::function<ExprId(Grammar&)>& body) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  g.set_rule(root, body(g));
  g.set_root(root);
  return g;
}

TEST(Grammar, LiteralsAlternativesAndRepeats) {
  const auto c = compile_or_die(single([](Grammar& g) {
    return g.seq({g.literal("ab"), g.alt({g.literal("c"), g.literal("de")}), g.repeat(g.byte('x'), 1, 3)});
  }));
  EXPECT_TRUE(matches(c, "abcx"));
  EXPECT_TRUE(matches(c, "abdexxx"));
  EXPECT_FALSE(matches(c, "abdexxxx"));
  EXPECT_FALSE(matches(c, "abc"));
  EXPECT_FALSE(matches(c, "abd"));
  EXPECT_FALSE(matches(c, ""));
}

TEST(Grammar, UnboundedAndOptional) {
  const auto c = compile_or_die(single([](Grammar& g) {
    return g.seq({g.optional(g.byte('-')), g.plus(g.bytes(ByteSet::range('0', '9'))), g.star(g.literal(".5"))});
  }));
  for (const char* ok : {"0", "-12", "7.5.5", "123456789"}) EXPECT_TRUE(matches(c, ok)) << ok;
  for (const char* bad : {"-", "", "1.", "1.6", "--1"}) EXPECT_FALSE(matches(c, bad)) << bad;
}

TEST(Grammar, CodepointClassesAreUtf8Automata) {
  const CodepointRange greek[] = {{0x3B1, 0x3C9}, {'a', 'c'}, {0x1F600, 0x1F64F}};
  const auto c = compile_or_die(single([&](Grammar& g) { return g.plus(g.codepoints(greek)); }));
  EXPECT_TRUE(matches(c, "αβγabc"));
  EXPECT_TRUE(matches(c, "😀ω"));
  EXPECT_FALSE(matches(c, "αd"));
  EXPECT_FALSE(matches(c, "Ω"));     // U+03A9 is outside
  EXPECT_FALSE(matches(c, "\xCE"));  // a truncated character
  const auto neg = compile_or_die(single([&](Grammar& g) { return g.plus(g.codepoints(greek, true)); }));
  EXPECT_TRUE(matches(neg, "Ωxyz€\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(matches(neg, "xα"));
  EXPECT_FALSE(matches(neg, "\xED\xA0\x80"));  // a surrogate is never a character
  EXPECT_FALSE(matches(neg, "\xC0\xAF"));      // an overlong form neither
}

TEST(Grammar, AnyCharCoversEveryLengthAndNothingInvalid) {
  const auto c = compile_or_die(single([](Grammar& g) { return g.star(g.any_char()); }));
  EXPECT_TRUE(matches(c, "a\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80"));
  for (const char* bad : {"\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF"}) {
    EXPECT_FALSE(matches(c, bad)) << ::testing::PrintToString(std::string(bad));
  }
}

TEST(Grammar, RecursionThroughRules) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  const RuleId paren = g.add_rule("paren");
  g.set_rule(paren, g.alt({g.literal("x"), g.seq({g.byte('('), g.ref(paren), g.byte(')')})}));
  g.set_rule(root, g.seq({g.ref(paren), g.star(g.seq({g.byte(','), g.ref(paren)}))}));
  g.set_root(root);
  const auto c = compile_or_die(g);
  EXPECT_TRUE(matches(c, "((x)),x,(((x)))"));
  EXPECT_FALSE(matches(c, "((x)"));
  EXPECT_FALSE(matches(c, "(x))"));
}

TEST(Grammar, SeparatedListsAllowOptionalItemsWithCommas) {
  const auto c = compile_or_die(single([](Grammar& g) {
    return g.seq(
        {g.byte('{'),
         g.separated({{g.byte('a'), 0, 1}, {g.byte('b'), 1, 1}, {g.byte('c'), 0, 1}, {g.byte('x'), 0, kUnbounded}},
                     g.byte(','), false),
         g.byte('}')});
  }));
  for (const char* ok : {"{b}", "{a,b}", "{a,b,c}", "{b,c,x,x,x}", "{a,b,x}"}) EXPECT_TRUE(matches(c, ok)) << ok;
  for (const char* bad : {"{}", "{a}", "{,b}", "{b,}", "{a,,b}", "{b,a}", "{ab}", "{c,b}"})
    EXPECT_FALSE(matches(c, bad)) << bad;
  const auto counted = compile_or_die(single([](Grammar& g) {
    return g.separated({{g.byte('y'), 2, 3}}, g.byte(';'), true);
  }));
  EXPECT_FALSE(matches(counted, "y"));
  EXPECT_TRUE(matches(counted, "y;y"));
  EXPECT_TRUE(matches(counted, "y;y;y"));
  EXPECT_FALSE(matches(counted, "y;y;y;y"));
}

TEST(Grammar, LeftRecursionIsRefusedWithTheRuleName) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  const RuleId expr = g.add_rule("expr");
  const RuleId opt = g.add_rule("maybe");
  g.set_rule(opt, g.optional(g.byte('-')));
  g.set_rule(expr, g.alt({g.byte('1'), g.seq({g.ref(opt), g.ref(expr), g.byte('+'), g.byte('1')})}));
  g.set_rule(root, g.ref(expr));
  g.set_root(root);
  const auto pda = Pda::build(g, {});
  ASSERT_FALSE(pda.ok());
  EXPECT_EQ(pda.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(pda.status().message().find("'expr' is left-recursive"), std::string_view::npos) << pda.status().message();
}

TEST(Grammar, UndefinedRulesAndEmptyLanguagesAreErrors) {
  Grammar g;
  const RuleId root = g.add_rule("root");
  const RuleId missing = g.add_rule("missing");
  g.set_rule(root, g.ref(missing));
  g.set_root(root);
  EXPECT_NE(Pda::build(g, {}).status().message().find("'missing' is used but not defined"), std::string_view::npos);
  // A rule that can only recurse matches nothing.
  Grammar h;
  const RuleId r = h.add_rule("root");
  h.set_rule(r, h.seq({h.byte('a'), h.ref(r)}));
  h.set_root(r);
  EXPECT_NE(Pda::build(h, {}).status().message().find("matches no text"), std::string_view::npos);
}

TEST(Grammar, SizeLimitsAreErrors) {
  const Grammar g = single([](Grammar& g) {
    return g.repeat(g.repeat(g.alt({g.literal("abc"), g.literal("abd")}), 0, 200), 0, 200);
  });
  GrammarLimits limits;
  limits.max_nfa_states = 10'000;
  const auto pda = Pda::build(g, limits);
  ASSERT_FALSE(pda.ok());
  EXPECT_NE(pda.status().message().find("too large"), std::string_view::npos) << pda.status().message();
}

TEST(Grammar, NestedSeparatedListsGrowLinearly) {
  // Objects nested 20 deep inline in one rule, each with optional properties: every item of a
  // separated list is built once (an item copied for its two entries doubled the automaton at
  // every level: 2^20 copies of the innermost object, far past max_nfa_states).
  const Grammar g = single([](Grammar& g) {
    ExprId inner = g.literal("x");
    for (int level = 0; level < 20; ++level) {
      inner = g.seq({g.literal("{"),
                     g.separated({{g.seq({g.literal("a:"), inner}), 0, 1}, {g.literal("b"), 0, 1}}, g.literal(","),
                                 /*nonempty=*/false),
                     g.literal("}")});
    }
    return inner;
  });
  const auto pda = Pda::build(g, {});
  ASSERT_TRUE(pda.ok()) << pda.status().to_string();
  EXPECT_LT(pda->n_nodes(), 400u);
  const auto c = compile_or_die(g);
  EXPECT_TRUE(testing::matches(c, "{a:{a:{},b}}"));
  EXPECT_TRUE(testing::matches(c, "{b}"));
  EXPECT_FALSE(testing::matches(c, "{b,a:{}}"));  // in order
  EXPECT_FALSE(testing::matches(c, "{b,}"));
  EXPECT_FALSE(testing::matches(c, "{a:x}"));  // x only 20 levels down
}

TEST(Grammar, SpecialTokensAreMatchedOnlyWhereTheGrammarNamesThem) {
  // <|im_end|> of Qwen2 (a control token) after "ok".
  const auto vocab = testing::grammar_vocab("qwen2");
  const Tokenizer& tok = testing::cached_tokenizer("qwen2");
  const TokenId im_start = tok.vocab().find("<|im_start|>");
  ASSERT_NE(im_start, kNoToken);
  const auto c = compile_or_die(single([&](Grammar& g) {
                                  return g.seq({g.literal("ok"), g.special_token(im_start)});
                                }),
                                "qwen2");
  GrammarMatcher m(c, false);
  TokenMask mask;
  ASSERT_TRUE(m.accept_bytes("ok"));
  m.fill_mask(mask);
  EXPECT_EQ(mask.count(), 1);
  EXPECT_TRUE(mask.test(im_start));
  EXPECT_TRUE(m.accept(im_start));
  EXPECT_TRUE(m.is_complete());
  // A text grammar never allows a control token.
  const auto text = compile_or_die(single([](Grammar& g) { return g.star(g.any_char()); }), "qwen2");
  GrammarMatcher t(text, false);
  t.fill_mask(mask);
  EXPECT_FALSE(mask.test(im_start));
  EXPECT_GT(mask.count(), 100000);
}

}  // namespace
}  // namespace parley
