// Classification on first use and in the background (compiled_grammar.h): compile_grammar
// classifies only the nodes of the first mask; the rest come later and equal what an eager
// compile computes; a grammar whose masks exceed the budget still matches exactly (the matcher
// walks). And the slices of Basic-Multilingual-Plane text that keep strings under a maxLength
// cheap to classify.
#include <gtest/gtest.h>

#include "grammar/grammar_matcher.h"
#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::compare_walk;
using testing::grammar_vocab;

const char* kSchema = R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},
  "age":{"type":"integer","minimum":0,"maximum":120},"email":{"type":"string","format":"email"},
  "tags":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["name","age"]})";

Grammar schema_grammar(std::string_view schema) {
  auto g = json_schema_grammar(schema);
  CHECK(g.ok(), "{}", g.status().to_string());
  return std::move(*g);
}

std::shared_ptr<const CompiledGrammar> compile(std::string_view schema, Classify how, const GrammarLimits& limits = {},
                                               const std::string& vocab = "llama-bpe") {
  auto c = compile_grammar(schema_grammar(schema), grammar_vocab(vocab), limits, nullptr, how);
  CHECK(c.ok(), "{}", c.status().to_string());
  return *c;
}

bool same(const NodeMask& a, const NodeMask& b) {
  if (a.dense != b.dense || a.n_accepted != b.n_accepted || a.max_reach != b.max_reach) return false;
  if (a.accepted_bits != b.accepted_bits || a.accepted_list != b.accepted_list) return false;
  if (a.uncertain.size() != b.uncertain.size()) return false;
  for (std::size_t i = 0; i < a.uncertain.size(); ++i) {
    if (a.uncertain[i].token != b.uncertain[i].token || a.uncertain[i].lcp != b.uncertain[i].lcp) return false;
  }
  return true;
}

TEST(LazyClassification, CompileClassifiesOnlyTheFirstMasksNodes) {
  const auto g = compile(kSchema, Classify::kOnDemand);
  const CompileStats st = g->stats();
  EXPECT_GE(st.n_classified, 1);
  EXPECT_LT(st.n_classified * 20, st.n_mask_nodes);  // a handful out of hundreds
  EXPECT_FALSE(st.complete);
  // Masks are exact all the same; nodes get classified as the walk reaches them.
  compare_walk(g, 3, 60);
  EXPECT_GT(g->stats().n_classified, st.n_classified);
  g->wait_classified();
  EXPECT_TRUE(g->stats().complete);
  EXPECT_EQ(g->stats().n_classified, st.n_mask_nodes);
}

TEST(LazyClassification, BackgroundAndOnDemandEqualEager) {
  for (const char* schema : {kSchema, R"({"type":"array","items":{"type":"string","maxLength":30}})"}) {
    const auto eager = compile(schema, Classify::kEager);
    EXPECT_TRUE(eager->stats().complete);
    const auto background = compile(schema, Classify::kBackground);
    const auto on_demand = compile(schema, Classify::kOnDemand);
    // Matchers race the background thread for some nodes.
    compare_walk(background, 5, 40);
    background->wait_classified();
    const Pda& p = eager->pda();
    for (PdaNodeId n = 0; n < p.n_nodes(); ++n) {
      const NodeMask* e = eager->node_mask(n);
      const NodeMask* b = background->node_mask(n);
      const NodeMask* o = on_demand->node_mask(n);
      ASSERT_EQ(e == nullptr, b == nullptr) << n;
      ASSERT_EQ(e == nullptr, o == nullptr) << n;
      if (e == nullptr) continue;
      EXPECT_TRUE(same(*e, *b)) << "node " << n;
      EXPECT_TRUE(same(*e, *o)) << "node " << n;
    }
    const CompileStats a = eager->stats(), b = background->stats();
    EXPECT_EQ(a.mask_bytes, b.mask_bytes);
    EXPECT_EQ(a.n_uncertain, b.n_uncertain);
  }
}

TEST(LazyClassification, OverTheMaskBudgetTheMatcherWalksExactly) {
  GrammarLimits limits;
  limits.max_mask_bytes = 2048;
  const auto eager =
      compile_grammar(schema_grammar(kSchema), grammar_vocab("llama-bpe"), limits, nullptr, Classify::kEager);
  ASSERT_FALSE(eager.ok());
  EXPECT_NE(eager.status().message().find("too large"), std::string_view::npos) << eager.status().message();
  for (const Classify how : {Classify::kBackground, Classify::kOnDemand}) {
    const auto g = compile(kSchema, how, limits);
    compare_walk(g, 11, 40);
    g->wait_classified();
    EXPECT_LE(g->stats().mask_bytes, limits.max_mask_bytes);
  }
}

TEST(LazyClassification, GrammarsDestroyedWhileTheBackgroundRuns) {
  for (int i = 0; i < 4; ++i) {
    const auto g = compile(kSchema, Classify::kBackground);
    GrammarMatcher m(g);
    TokenMask mask;
    m.fill_mask(mask);
    EXPECT_FALSE(mask.none());
  }  // each destructor stops and joins its thread
}

TEST(PlainSlices, BmpSlicesLeaveOutAstralCharacters) {
  const auto vocab = grammar_vocab("llama-bpe");
  int astral = 0, bmp = 0;
  for (TokenId t = 0; t < vocab->n_tokens(); ++t) {
    const int any = vocab->plain_chars(t, TokenVocabulary::kAnyPlain);
    const int only_bmp = vocab->plain_chars(t, TokenVocabulary::kBmp);
    const bool has_astral = vocab->bytes(t).find_first_of("\xF0\xF1\xF2\xF3\xF4") != std::string_view::npos;
    if (any >= 0 && has_astral) {
      ++astral;
      EXPECT_EQ(only_bmp, -1) << t;
      EXPECT_FALSE(vocab->slice(TokenVocabulary::kSliceLevels.size() - 1, TokenVocabulary::kBmp).test(t));
    } else {
      EXPECT_EQ(only_bmp, any) << t;
      if (any >= 0) ++bmp;
    }
  }
  EXPECT_GT(astral, 0);
  EXPECT_GT(bmp, 100000);
}

TEST(PlainSlices, StringsUnderAMaxLengthAreClassifiedWithoutWalkingTheVocabulary) {
  // A string of up to 40 characters (BMP only): each character position accepts the plain
  // tokens short enough wholesale and walks only the rest of the trie. Before the BMP slices, each
  // position walked most of Llama 3's 275k trie nodes (over 10 million visits in all).
  const auto g = compile(R"({"type":"string","maxLength":40})", Classify::kEager);
  const CompileStats st = g->stats();
  EXPECT_LT(st.trie_visits, 3'000'000) << st.trie_visits;
  compare_walk(g, 17, 30);
}

}  // namespace
}  // namespace parley
