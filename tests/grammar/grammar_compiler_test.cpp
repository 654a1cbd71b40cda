// GrammarCompiler: front-end dispatch, the cache (hits, errors cached, LRU bound), concurrent
// compiles of one key, and the cache key's uniqueness.
#include "grammar/grammar_compiler.h"

#include <gtest/gtest.h>

#include <thread>

#include "grammar_test_util.h"

namespace parley {
namespace {

using testing::grammar_vocab;
using testing::matches;

TEST(GrammarCompiler, EveryFrontEnd) {
  GrammarCompiler compiler(grammar_vocab("llama-spm"));
  GrammarSpec schema{GrammarKind::kJsonSchema, R"({"type":"integer"})", {}, {}};
  auto a = compiler.compile(schema);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(matches(*a, "42"));
  auto obj = compiler.compile(GrammarSpec{GrammarKind::kJsonObject, "", {}, {}});
  ASSERT_TRUE(obj.ok());
  EXPECT_TRUE(matches(*obj, R"({"x": [1]})"));
  EXPECT_FALSE(matches(*obj, "[1]"));
  auto re = compiler.compile(GrammarSpec{GrammarKind::kRegex, "[ab]+", {}, {}});
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(matches(*re, "abba"));
  auto choice = compiler.compile(GrammarSpec{GrammarKind::kChoice, "", {"yes", "no", "yes please"}, {}});
  ASSERT_TRUE(choice.ok());
  EXPECT_TRUE(matches(*choice, "yes please"));
  EXPECT_FALSE(matches(*choice, "maybe"));
  auto gbnf = compiler.compile(GrammarSpec{GrammarKind::kGbnf, R"(root ::= "x"+)", {}, {}});
  ASSERT_TRUE(gbnf.ok());
  EXPECT_TRUE(matches(*gbnf, "xxx"));
  EXPECT_FALSE(compiler.compile(GrammarSpec{GrammarKind::kChoice, "", {}, {}}).ok());
}

TEST(GrammarCompiler, RepeatedSpecsHitTheCacheErrorsIncluded) {
  GrammarCompiler compiler(grammar_vocab("llama-spm"));
  const GrammarSpec spec{GrammarKind::kJsonSchema, R"({"type":"string"})", {}, {}};
  auto a = compiler.compile(spec);
  auto b = compiler.compile(spec);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  const GrammarSpec bad{GrammarKind::kJsonSchema, R"({"type":"nope"})", {}, {}};
  EXPECT_FALSE(compiler.compile(bad).ok());
  EXPECT_FALSE(compiler.compile(bad).ok());
  EXPECT_EQ(compiler.stats().hits, 2);
  EXPECT_EQ(compiler.stats().misses, 2);
  // Different options are different grammars.
  GrammarSpec strict = spec;
  strict.json.strict = true;
  auto c = compiler.compile(strict);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->get(), a->get());
}

TEST(GrammarCompiler, CacheIsBounded) {
  GrammarCompiler compiler(grammar_vocab("llama-spm"), {}, 2);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(compiler.compile(GrammarSpec{GrammarKind::kRegex, fmt::format("a{{{}}}", i + 1), {}, {}}).ok());
  EXPECT_EQ(compiler.stats().entries, 2);
  ASSERT_TRUE(compiler.compile(GrammarSpec{GrammarKind::kRegex, "a{5}", {}, {}}).ok());
  EXPECT_EQ(compiler.stats().hits, 1);
}

TEST(GrammarCompiler, CacheIsBoundedInBytes) {
  GrammarCompiler compiler(grammar_vocab("llama-spm"), {}, 100, /*cache_bytes=*/1);
  auto a = compiler.compile(GrammarSpec{GrammarKind::kJsonSchema, R"({"type":"string"})", {}, {}});
  auto b = compiler.compile(GrammarSpec{GrammarKind::kJsonSchema, R"({"type":"integer"})", {}, {}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(compiler.stats().entries, 1);  // the newest stays, whatever its size
  EXPECT_GT(compiler.stats().bytes, 0);
  EXPECT_TRUE(matches(*a, R"("still usable")"));  // evicted, still alive for its users
}

TEST(GrammarCompiler, ConcurrentCompilesOfOneKeyShareOneResult) {
  GrammarCompiler compiler(grammar_vocab("llama-bpe"));
  const GrammarSpec spec{GrammarKind::kJsonSchema,
                         R"({"type":"object","properties":{"a":{"type":"string","maxLength":9}},"required":["a"]})",
                         {},
                         {}};
  std::vector<std::thread> threads;
  std::vector<const CompiledGrammar*> got(8, nullptr);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = compiler.compile(spec);
      if (r.ok()) got[static_cast<std::size_t>(i)] = r->get();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto* g : got) EXPECT_EQ(g, got[0]);
  EXPECT_NE(got[0], nullptr);
  EXPECT_EQ(compiler.stats().misses, 1);
}

TEST(GrammarCompiler, KeysDoNotCollide) {
  GrammarSpec a{GrammarKind::kChoice, "", {"a|b", "c"}, {}};
  GrammarSpec b{GrammarKind::kChoice, "", {"a", "b|c"}, {}};
  EXPECT_NE(a.cache_key(), b.cache_key());
  GrammarSpec c{GrammarKind::kRegex, "x", {}, {}};
  GrammarSpec d{GrammarKind::kGbnf, "x", {}, {}};
  EXPECT_NE(c.cache_key(), d.cache_key());
}

TEST(GrammarCompiler, CustomGrammarsAreCachedByTheirKey) {
  GrammarCompiler compiler(grammar_vocab("llama-spm"));
  int builds = 0;
  const auto build = [&]() -> Result<Grammar> {
    ++builds;
    Grammar g;
    const RuleId root = g.add_rule("root");
    JsonGrammarBuilder json(g, {}, {});
    auto args = json.schema(R"({"type":"object","properties":{"q":{"type":"string"}},"required":["q"]})");
    if (!args.ok()) return args.status();
    g.set_rule(root, g.seq({g.literal("<tool_call>{\"name\": \"search\", \"arguments\": "), *args,
                            g.literal("}</tool_call>")}));
    g.set_root(root);
    return g;
  };
  auto a = compiler.compile("tools:search", build);
  auto b = compiler.compile("tools:search", build);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(builds, 1);
  EXPECT_TRUE(matches(*a, R"(<tool_call>{"name": "search", "arguments": {"q": "x"}}</tool_call>)"));
}

}  // namespace
}  // namespace parley
