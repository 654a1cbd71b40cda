// GrammarMatcher against its brute-force twin on real vocabularies (byte-level BPE of Llama 3 and
// Qwen2, SentencePiece with byte fallback of Llama 2), over random walks; and the rules the
// masks follow: UTF-8 split across tokens, end-of-generation tokens, the SentencePiece leading
// space, copies, deep nesting.
#include <gtest/gtest.h>

#include "base/utf8.h"
#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"
#include "grammar/regex.h"
#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::compare_walk;
using testing::compile_or_die;
using testing::grammar_vocab;

Grammar json(std::string_view schema, JsonWhitespace ws = JsonWhitespace::kFlexible) {
  JsonSchemaOptions o;
  o.whitespace = ws;
  o.max_indent = 6;
  auto g = json_schema_grammar(schema, o);
  CHECK(g.ok(), "{}", g.status().to_string());
  return std::move(*g);
}

Grammar gbnf(std::string_view text) {
  auto g = gbnf_grammar(text);
  CHECK(g.ok(), "{}", g.status().to_string());
  return std::move(*g);
}

const char* kPerson = R"({"type":"object","properties":{"name":{"type":"string","maxLength":6},
  "age":{"type":"integer","minimum":0,"maximum":120},"email":{"type":"string","format":"email"},
  "tags":{"type":"array","items":{"enum":["a","b c","é"]},"maxItems":2}},"required":["name","age"]})";

const char* kTree = R"({"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"v":{"type":"number"},
  "k":{"type":"array","items":{"$ref":"#/$defs/n"}}},"required":["v"]}}})";

std::vector<Grammar> grammars() {
  std::vector<Grammar> out;
  out.push_back(json(kPerson));
  out.push_back(json(kTree, JsonWhitespace::kCompact));
  out.push_back(json_object_grammar());
  out.push_back(gbnf(R"(root ::= (item ", ")* item "."
                       item ::= [a-zé€]+ | "<" item ">" | [0-9]{1,3})"));
  auto re = regex_grammar("(héllo|wörld|[😀-😂]+) ?[^a-z\\n]{0,5}");
  out.push_back(std::move(*re));
  return out;
}

void compare_on(const std::string& vocab, int walks, int steps) {
  const auto gs = grammars();
  for (std::size_t i = 0; i < gs.size(); ++i) {
    const auto c = compile_or_die(gs[i], vocab);
    for (int w = 0; w < walks; ++w) {
      SCOPED_TRACE(fmt::format("{} grammar {} walk {}", vocab, i, w));
      compare_walk(c, static_cast<std::uint32_t>(100 * i + w), steps, /*at_output_start=*/w % 2 == 0);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(Matcher, EqualsTheReferenceOnLlama2Spm) {
  compare_on("llama-spm", 4, 40);
}
TEST(Matcher, EqualsTheReferenceOnLlama3Bpe) {
  compare_on("llama-bpe", 2, 20);
}
TEST(Matcher, EqualsTheReferenceOnQwen2Bpe) {
  compare_on("qwen2", 1, 20);
}
TEST(Matcher, EqualsTheReferenceOnPhi3) {
  compare_on("phi-3", 1, 30);
}

TEST(Matcher, Utf8SplitAcrossByteFallbackTokens) {
  const auto c = compile_or_die(*regex_grammar("😀é"), "llama-spm");
  const Tokenizer& tok = testing::cached_tokenizer("llama-spm");
  GrammarMatcher m(c, false);
  TokenMask mask;
  m.fill_mask(mask);
  const TokenId f0 = tok.vocab().find("<0xF0>");
  ASSERT_NE(f0, kNoToken);
  EXPECT_TRUE(mask.test(f0));
  EXPECT_FALSE(mask.test(tok.vocab().find("<0xC3>")));
  ASSERT_TRUE(m.accept(f0));
  for (const char* piece : {"<0x9F>", "<0x98>", "<0x80>"}) {
    m.fill_mask(mask);
    const TokenId t = tok.vocab().find(piece);
    EXPECT_TRUE(mask.test(t)) << piece;
    EXPECT_FALSE(m.accept(tok.vocab().find("<0xC3>")));
    ASSERT_TRUE(m.accept(t)) << piece;
  }
  m.fill_mask(mask);
  EXPECT_TRUE(mask.test(tok.vocab().find("é")));  // a whole-character token
  EXPECT_TRUE(mask.test(tok.vocab().find("<0xC3>")));
  ASSERT_TRUE(m.accept(tok.vocab().find("<0xC3>")));
  ASSERT_TRUE(m.accept(tok.vocab().find("<0xA9>")));
  EXPECT_TRUE(m.is_complete());
}

TEST(Matcher, Utf8SplitAcrossByteLevelBpeTokens) {
  // Llama 3 has tokens holding the first bytes of a character and tokens holding the rest.
  const auto c = compile_or_die(*regex_grammar("[一-鿿]{2}"), "llama-bpe");
  const auto vocab = grammar_vocab("llama-bpe");
  GrammarMatcher m(c, false);
  TokenMask mask;
  m.fill_mask(mask);
  int partial = 0;
  mask.for_each([&](TokenId t) { partial += utf8_is_valid(vocab->bytes(t)) ? 0 : 1; });
  EXPECT_GT(partial, 0) << "no token with part of a CJK character was allowed";
  compare_walk(c, 7, 10, false);
}

TEST(Matcher, EndOfGenerationOnlyWhereTheGrammarMayEnd) {
  const auto c = compile_or_die(
      json(R"({"type":"array","items":{"type":"integer"},"maxItems":2})", JsonWhitespace::kCompact), "llama-bpe");
  const auto vocab = grammar_vocab("llama-bpe");
  GrammarMatcher m(c, false);
  TokenMask mask;
  const auto eog_allowed = [&] {
    m.fill_mask(mask);
    return mask.test(vocab->eog()[0]);
  };
  EXPECT_FALSE(eog_allowed());
  ASSERT_TRUE(m.accept_bytes("[1,"));
  EXPECT_FALSE(eog_allowed());
  ASSERT_TRUE(m.accept_bytes("2"));
  EXPECT_FALSE(eog_allowed());
  EXPECT_FALSE(m.is_complete());
  ASSERT_TRUE(m.accept_bytes("]"));
  EXPECT_TRUE(m.is_complete());
  m.fill_mask(mask);
  EXPECT_EQ(mask.count(), static_cast<std::int64_t>(vocab->eog().size()));  // only the end now
  for (const TokenId t : vocab->eog()) EXPECT_TRUE(mask.test(t));
  EXPECT_FALSE(m.accept_bytes(" "));
  EXPECT_TRUE(m.accept(vocab->eog()[0]));
  EXPECT_TRUE(m.ended());
  m.fill_mask(mask);
  EXPECT_TRUE(mask.none());
  // Where the grammar may end or go on (a number), both are allowed.
  const auto num = compile_or_die(json(R"({"type":"integer"})"), "llama-bpe");
  GrammarMatcher n(num, false);
  ASSERT_TRUE(n.accept_bytes("12"));
  n.fill_mask(mask);
  EXPECT_TRUE(mask.test(vocab->eog()[0]));
  EXPECT_TRUE(mask.test(testing::cached_tokenizer("llama-bpe").vocab().find("3")));
  EXPECT_FALSE(n.is_complete());
}

TEST(Matcher, SentencePieceDropsTheLeadingSpaceOfTheFirstToken) {
  const auto c = compile_or_die(gbnf(R"(root ::= "Hello world")"), "llama-spm");
  const Tokenizer& tok = testing::cached_tokenizer("llama-spm");
  const TokenId hello = tok.vocab().find("▁Hello");
  const TokenId world = tok.vocab().find("▁world");
  ASSERT_NE(hello, kNoToken);
  GrammarMatcher m(c);  // at the output start
  TokenMask mask;
  m.fill_mask(mask);
  EXPECT_TRUE(mask.test(hello));
  EXPECT_TRUE(mask.test(tok.vocab().find("Hello")));
  EXPECT_FALSE(mask.test(world));
  ASSERT_TRUE(m.accept(hello));
  m.fill_mask(mask);
  EXPECT_TRUE(mask.test(world));  // mid-sequence the space is kept
  EXPECT_TRUE(m.accept(world));
  EXPECT_TRUE(m.is_complete());
  // Not at the output start: the space counts.
  GrammarMatcher mid(c, false);
  EXPECT_FALSE(mid.accept(hello));
}

TEST(Matcher, CopiesAreIndependent) {
  const auto c = compile_or_die(json(kPerson, JsonWhitespace::kCompact), "llama-spm");
  GrammarMatcher a(c, false);
  ASSERT_TRUE(a.accept_bytes(R"({"name":"x")"));
  GrammarMatcher b = a;
  ASSERT_TRUE(a.accept_bytes(R"(,"age":3})"));
  EXPECT_TRUE(a.is_complete());
  EXPECT_FALSE(b.is_complete());
  EXPECT_FALSE(b.accept_bytes("}"));
  ASSERT_TRUE(b.accept_bytes(R"(,"age":44,"tags":[]})"));
  EXPECT_TRUE(b.is_complete());
  EXPECT_TRUE(a.allows(grammar_vocab("llama-spm")->eog()[0]));
}

TEST(Matcher, DeepNestingFallsBackToAnExactWalk) {
  GrammarLimits limits;
  limits.max_stack_depth = 8;
  const auto c = compile_or_die(json_object_grammar(), "llama-spm", limits);
  GrammarMatcher m(c, false);
  ReferenceMatcher r(c, false);
  ASSERT_TRUE(m.accept_bytes(R"({"a":[[)"));
  ASSERT_TRUE(r.accept_bytes(R"({"a":[[)"));
  TokenMask mask, ref;
  m.fill_mask(mask);
  r.fill_mask(ref);
  EXPECT_EQ(mask, ref);
  EXPECT_FALSE(m.accept_bytes("[[[[[[[["));  // deeper than the limit
  EXPECT_FALSE(m.accept_bytes("[1"));        // root, object, value, array, value, array, value, array: 8
  EXPECT_TRUE(m.accept_bytes("[]]]}"));
  EXPECT_TRUE(m.is_complete());
}

TEST(Matcher, NeverLeadsIntoADeadEndAtTheDepthLimit) {
  // Walks that open as much as they can: at the limit, the mask keeps only what can still close.
  GrammarLimits limits;
  limits.max_stack_depth = 6;
  const auto c = compile_or_die(json(R"({"$ref":"#/$defs/e","$defs":{"e":{"anyOf":[{"type":"integer"},
      {"type":"object","properties":{"op":{"enum":["+","-"]},"args":{"type":"array","items":{"$ref":"#/$defs/e"},
      "minItems":2,"maxItems":2}},"required":["op","args"]}]}}})",
                                     JsonWhitespace::kCompact),
                                "llama-spm", limits);
  const auto vocab = grammar_vocab("llama-spm");
  for (std::uint32_t seed = 0; seed < 6; ++seed) {
    GrammarMatcher m(c, false);
    ReferenceMatcher r(c, false);
    std::mt19937 rng(seed);
    TokenMask mask, ref;
    int steps = 0;
    for (; steps < 300 && !m.is_complete(); ++steps) {
      m.fill_mask(mask);
      r.fill_mask(ref);
      ASSERT_EQ(mask, ref) << "seed " << seed << " step " << steps;
      std::vector<TokenId> all, openers;
      mask.for_each([&](TokenId t) {
        all.push_back(t);
        if (vocab->bytes(t).find('{') != std::string_view::npos) openers.push_back(t);
      });
      ASSERT_FALSE(all.empty()) << "dead end, seed " << seed << " step " << steps;
      const auto& pick = openers.empty() || rng() % 4 == 0 ? all : openers;
      const TokenId t = pick[rng() % pick.size()];
      ASSERT_TRUE(m.accept(t));
      ASSERT_TRUE(r.accept(t));
      if (vocab->is_eog(t)) break;
    }
  }
}

TEST(Matcher, TokensThatCloseAStringAndGoOnInTheCallerAreAllowed) {
  // Their classification depends on the caller (an unknown context when classified ahead of
  // time): uncertain, then checked against the real stack.
  const auto c = compile_or_die(json(R"({"type":"array","maxItems":4})"), "llama-spm");
  const Tokenizer& tok = testing::cached_tokenizer("llama-spm");
  GrammarMatcher m(c, false);
  ASSERT_TRUE(m.accept_bytes(R"([1,["ab)"));
  TokenMask mask;
  m.fill_mask(mask);
  for (const char* t : {"\",", "\"]", "\"],"}) {
    const TokenId id = tok.vocab().find(t);
    ASSERT_NE(id, kNoToken) << t;
    EXPECT_TRUE(mask.test(id)) << t;
  }
  EXPECT_FALSE(mask.test(tok.vocab().find("\":")));  // an array element is no key
}

TEST(Matcher, RejectedTokensLeaveTheStateAlone) {
  const auto c = compile_or_die(json(kPerson, JsonWhitespace::kCompact), "llama-spm");
  GrammarMatcher m(c, false);
  ASSERT_TRUE(m.accept_bytes(R"({"name":)"));
  EXPECT_FALSE(m.accept_bytes("\"abcdefgh\""));  // longer than maxLength
  EXPECT_FALSE(m.accept(-1));
  EXPECT_FALSE(m.accept(1 << 30));
  EXPECT_TRUE(m.accept_bytes(R"("ab","age":1})"));
}

}  // namespace
}  // namespace parley
