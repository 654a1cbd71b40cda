// Constrained decoding in the engine, with a fake runner whose logits are random (a function of
// the history read back from its simulated KV cache) over the Llama 2 vocabulary: every output
// is in its grammar and ends with stop when complete, for every sequence of a batch on its own,
// greedy and random, across preemption and prefix-cache hits; max_tokens ends with length; a
// grammar that allows nothing ends the request with an error; trigger tokens start a grammar.
#include <gtest/gtest.h>

#include "base/rng.h"
#include "engine/engine.h"
#include "fake_runner.h"
#include "grammar/grammar_compiler.h"
#include "tokenizer/cached_tokenizer.h"

namespace parley {
namespace {

using testing::FakeRunner;
using testing::RecordingSink;

const TokenVocabulary& vocab() {
  static const auto v = TokenVocabulary::create(testing::cached_tokenizer("llama-spm"));
  return *v;
}

GrammarCompiler& compiler() {
  static GrammarCompiler c(TokenVocabulary::create(testing::cached_tokenizer("llama-spm")));
  return c;
}

CompiledGrammarPtr schema(std::string_view text) {
  auto g = compiler().compile(GrammarSpec{GrammarKind::kJsonSchema, std::string(text), {}, {}});
  CHECK(g.ok(), "{}", g.status().to_string());
  return *g;
}

const char* kPerson = R"({"type":"object","properties":{"name":{"type":"string","maxLength":8},
  "age":{"type":"integer","minimum":0,"maximum":120},"tags":{"type":"array","items":{"enum":["x","y"]},"maxItems":2}},
  "required":["name","age"]})";
const char* kTree = R"({"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"v":{"type":"integer"},
  "k":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"required":["v"]}}})";
const char* kChoice = R"({"enum":["alpha","beta","gamma delta"]})";

struct GrammarRig {
  explicit GrammarRig(std::int32_t n_blocks = 256, std::int32_t block_size = 4, std::int32_t max_batch = 64)
      : runner(vocab().n_tokens(), n_blocks, block_size), pool(n_blocks, block_size) {
    EngineConfig c;
    c.scheduler = {.max_batch_tokens = max_batch, .max_running = 8};
    c.n_ctx = 512;
    c.max_waiting = 64;
    c.eog_tokens = vocab().eog();
    engine = std::make_unique<Engine>(c, runner, pool);
    // Random logits, a pure function of the history: the same history gives the same row.
    runner.fill_logits = [](std::uint64_t h, std::int32_t, std::span<float> row) {
      Rng rng(h);
      for (float& x : row) x = 3.0f * rng.normal();
    };
  }
  std::shared_ptr<RecordingSink> submit(RequestId id, CompiledGrammarPtr g, std::uint64_t seed,
                                        float temperature = 1.0f, std::int32_t max_tokens = 0,
                                        std::vector<TokenId> prompt = {1, 450, 1234, 29901}) {
    GenerateRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.sampling.temperature = temperature;
    r.sampling.seed = seed;
    r.sampling.has_seed = true;
    r.grammar = std::move(g);
    const Status st = engine->validate(r);
    EXPECT_TRUE(st.ok()) << st.to_string();
    auto sink = std::make_shared<RecordingSink>();
    engine->add(id, std::move(r), sink);
    return sink;
  }
  void run() {
    for (int i = 0; i < 100000 && engine->has_work(); ++i) engine->step();
    ASSERT_FALSE(engine->has_work());
  }
  FakeRunner runner;
  BlockPool pool;
  std::unique_ptr<Engine> engine;
};

// The text of an output as the gateway's detokenizer shows it (the first SentencePiece space
// dropped).
std::string text_of(const std::vector<TokenId>& tokens) {
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i)
    out += i == 0 ? vocab().start_bytes(tokens[i]) : vocab().bytes(tokens[i]);
  return out;
}

bool complete_in(const CompiledGrammarPtr& g, const std::vector<TokenId>& tokens) {
  GrammarMatcher m(g);
  for (const TokenId t : tokens) {
    if (!m.accept(t)) return false;
  }
  return m.is_complete();
}

TEST(GrammarEngine, OutputsAreInTheGrammarAndStopWhenComplete) {
  for (const char* s : {kPerson, kTree, kChoice}) {
    const auto g = schema(s);
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      GrammarRig rig;
      auto sink = rig.submit(1, g, seed, seed % 2 == 0 ? 1.0f : 0.0f);
      rig.run();
      ASSERT_TRUE(sink->finished);
      EXPECT_EQ(sink->finish.reason, FinishReason::kStop) << sink->finish.message;
      EXPECT_TRUE(complete_in(g, sink->tokens)) << text_of(sink->tokens);
      EXPECT_EQ(sink->finish.completion_tokens, static_cast<std::int32_t>(sink->tokens.size()));
    }
  }
}

TEST(GrammarEngine, EverySequenceOfABatchHasItsOwnGrammar) {
  const std::vector<CompiledGrammarPtr> gs = {schema(kPerson), schema(kTree), schema(kChoice), nullptr};
  // Alone first.
  std::vector<std::vector<TokenId>> alone;
  for (int i = 0; i < 8; ++i) {
    GrammarRig rig;
    auto sink = rig.submit(1, gs[static_cast<std::size_t>(i) % gs.size()], 100 + static_cast<std::uint64_t>(i),
                           i < 4 ? 1.0f : 0.0f, 60);
    rig.run();
    alone.push_back(sink->tokens);
  }
  GrammarRig rig;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 8; ++i) {
    sinks.push_back(rig.submit(static_cast<RequestId>(i + 1), gs[static_cast<std::size_t>(i) % gs.size()],
                               100 + static_cast<std::uint64_t>(i), i < 4 ? 1.0f : 0.0f, 60));
  }
  rig.run();
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(sinks[static_cast<std::size_t>(i)]->tokens, alone[static_cast<std::size_t>(i)]);
    const auto& g = gs[static_cast<std::size_t>(i) % gs.size()];
    if (g != nullptr && sinks[static_cast<std::size_t>(i)]->finish.reason == FinishReason::kStop) {
      EXPECT_TRUE(complete_in(g, sinks[static_cast<std::size_t>(i)]->tokens));
    }
  }
  EXPECT_GT(rig.engine->stats().grammar_masks, 0);
}

TEST(GrammarEngine, PreemptionAndPrefixHitsKeepTheMatcherRight) {
  const auto g = schema(kPerson);
  std::vector<std::vector<TokenId>> alone;
  const std::vector<TokenId> prompt = {1, 17, 42, 99, 7, 8, 9, 10, 11};
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    GrammarRig rig;
    auto sink = rig.submit(1, g, seed, 1.0f, 0, prompt);
    rig.run();
    alone.push_back(sink->tokens);
  }
  // A pool too small for four at once: some are preempted and recomputed; the shared prompt hits
  // the prefix cache.
  GrammarRig rig(/*n_blocks=*/16, /*block_size=*/4);
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  sinks.push_back(rig.submit(1, g, 0, 1.0f, 0, prompt));
  rig.engine->step();  // the prompt's blocks are cached before the others arrive
  for (std::uint64_t seed = 1; seed < 4; ++seed) sinks.push_back(rig.submit(seed + 1, g, seed, 1.0f, 0, prompt));
  rig.run();
  EXPECT_GT(rig.engine->stats().preemptions, 0);
  EXPECT_GT(rig.engine->stats().prefix_hit_tokens, 0);
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    EXPECT_EQ(sinks[i]->finish.reason, FinishReason::kStop);
    EXPECT_EQ(sinks[i]->tokens, alone[i]);
    EXPECT_TRUE(complete_in(g, sinks[i]->tokens)) << text_of(sinks[i]->tokens);
  }
}

TEST(GrammarEngine, MaxTokensEndsWithLengthOnAValidPrefix) {
  const auto g = schema(kTree);
  GrammarRig rig;
  auto sink = rig.submit(1, g, 3, 1.0f, 5);
  rig.run();
  EXPECT_EQ(sink->finish.reason, FinishReason::kLength);
  ASSERT_EQ(sink->tokens.size(), 5u);
  GrammarMatcher m(g);
  for (const TokenId t : sink->tokens) EXPECT_TRUE(m.accept(t));
  EXPECT_FALSE(m.is_complete());
}

TEST(GrammarEngine, AGrammarThatAllowsNothingEndsWithAnError) {
  // The end-of-sequence token spelled as a control token: no token has those bytes.
  Grammar bad;
  const RuleId root = bad.add_rule("root");
  bad.set_rule(root, bad.seq({bad.literal("ok"), bad.special_token(vocab().eog()[0])}));
  bad.set_root(root);
  auto g = compiler().compile("test:no-token", [&]() -> Result<Grammar> { return std::move(bad); });
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  GrammarRig rig;
  auto sink = rig.submit(1, *g, 1);
  rig.run();
  EXPECT_EQ(sink->finish.reason, FinishReason::kError);
  EXPECT_NE(sink->finish.message.find("grammar allows no token"), std::string::npos);
  EXPECT_EQ(text_of(sink->tokens), "ok");
}

TEST(GrammarEngine, TriggerTokensStartTheGrammar) {
  const auto g = schema(kChoice);
  const TokenId trigger = testing::cached_tokenizer("llama-spm").vocab().find("▁the");
  ASSERT_NE(trigger, kNoToken);
  GrammarRig rig;
  // The model writes freely, then the trigger at its third token.
  rig.runner.fill_logits = [trigger](std::uint64_t h, std::int32_t n_known, std::span<float> row) {
    Rng rng(h);
    for (float& x : row) x = 3.0f * rng.normal();
    if (n_known == 4 + 2) row[static_cast<std::size_t>(trigger)] = 1000.0f;
  };
  GenerateRequest r;
  r.prompt = {1, 450, 1234, 29901};
  r.sampling.seed = 5;
  r.sampling.has_seed = true;
  r.grammar = g;
  r.grammar_triggers = {trigger};
  r.max_tokens = 100;
  ASSERT_TRUE(rig.engine->validate(r).ok());
  auto sink = std::make_shared<RecordingSink>();
  rig.engine->add(1, std::move(r), sink);
  rig.run();
  ASSERT_GE(sink->tokens.size(), 4u);
  EXPECT_EQ(sink->tokens[2], trigger);
  EXPECT_EQ(sink->finish.reason, FinishReason::kStop);
  GrammarMatcher m(g, /*at_output_start=*/false);
  for (std::size_t i = 3; i < sink->tokens.size(); ++i) EXPECT_TRUE(m.accept(sink->tokens[i]));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarEngine, EndOfGenerationStopsEvenWithIgnoreEos) {
  // An integer may end after any digit: the end token is allowed there and always stops.
  const auto g = schema(R"({"type":"integer"})");
  GrammarRig rig;
  rig.runner.fill_logits = [](std::uint64_t, std::int32_t n_known, std::span<float> row) {
    std::fill(row.begin(), row.end(), 0.0f);
    if (n_known >= 5) row[2] = 50.0f;  // the end token, from the second output token on
  };
  GenerateRequest r;
  r.prompt = {1, 450, 1234, 29901};
  r.sampling.temperature = 0;
  r.grammar = g;
  r.ignore_eos = true;
  auto sink = std::make_shared<RecordingSink>();
  rig.engine->add(1, std::move(r), sink);
  rig.run();
  EXPECT_EQ(sink->finish.reason, FinishReason::kStop);
  EXPECT_LE(sink->tokens.size(), 3u);  // "-" and a digit at most, then the end
}

TEST(GrammarEngine, AGrammarForAnotherVocabularyIsRefused) {
  FakeRunner runner(100, 16, 4);
  BlockPool pool(16, 4);
  Engine engine(EngineConfig{}, runner, pool);
  GenerateRequest r;
  r.prompt = {1, 2, 3};
  r.grammar = schema(kChoice);
  const Status st = engine.validate(r);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("vocabulary"), std::string_view::npos);
}

}  // namespace
}  // namespace parley
