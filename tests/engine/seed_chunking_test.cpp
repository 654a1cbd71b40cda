// Seeds under the latency target: a seeded request's reply must not depend on machine load. The
// scheduler sizes prompt chunks from measured step times, so on a busy machine the same prompt is
// read in other chunks and beside other requests; the tokens and their logprobs must not change.
// Here the chunking is forced through the step's token budget and drives a real (synthetic)
// model step by step.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/rng.h"
#include "engine/engine.h"
#include "fake_runner.h"
#include "kernels/backend.h"
#include "model/model.h"
#include "model/synth.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

constexpr std::int32_t kBlock = 16;

class SeedChunkingTest : public ::testing::TestWithParam<TensorType> {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("parley_seed_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto md = builtin_vocab_metadata("bytes");
    // The SDK tests' shape: random 0.05 weights (near-flat logits), 4 heads over 2 KV heads.
    SynthOptions o = testing::two_layer_synth();
    o.std = 0.05f;
    o.seed = 3;
    o.threads = 1;
    path_ = (dir_ / "m.gguf").string();
    CHECK(synth_model(o, *md, path_).ok());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static std::vector<TokenId> prompt(std::uint64_t seed, int n) {
    Rng rng(seed);
    std::vector<TokenId> p;
    for (int i = 0; i < n; ++i) p.push_back(static_cast<TokenId>(rng.below(250)));
    return p;
  }

  // Runs the seeded request (plus `others` unseeded requests submitted with it, which share its
  // steps) on a fresh engine whose steps take at most `budget` tokens; its tokens and logprobs.
  testing::RecordingSink run(std::int64_t budget, int others, int threads = 2) {
    auto backend = std::move(*create_backend("cpu", {.n_threads = threads}));
    auto model = std::move(*Model::load(path_, *backend));
    const ModelHParams& h = model->hparams();
    KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, kBlock, 64, GetParam()};
    auto runner = ModelStepRunner::create(*model, layout, {.max_batch_tokens = budget, .max_seqs = 8});
    CHECK(runner.ok(), "{}", runner.status().to_string());
    BlockPool pool(64, kBlock);
    EngineConfig c;
    c.n_ctx = 512;
    c.scheduler = {.max_batch_tokens = budget, .max_running = 8};
    c.scheduler.prefill_quantum = 1;  // chunks of any size, not multiples of 16
    c.scheduler.min_prefill_tokens = 1;
    Engine engine(c, **runner, pool);
    std::vector<std::shared_ptr<testing::RecordingSink>> sinks;
    for (int i = 0; i <= others; ++i) {
      GenerateRequest r;
      r.prompt = prompt(static_cast<std::uint64_t>(10 + i), i == 0 ? 75 : 23 + 9 * i);
      r.max_tokens = 24;
      r.ignore_eos = true;
      r.sampling.temperature = 1.0f;
      r.sampling.has_seed = i == 0;
      r.sampling.seed = 1234;
      r.sampling.n_logprobs = 2;
      r.tenant = "t" + std::to_string(i);
      EXPECT_TRUE(engine.validate(r).ok());
      sinks.push_back(std::make_shared<testing::RecordingSink>());
      engine.add(static_cast<RequestId>(i + 1), std::move(r), sinks.back());
    }
    for (int s = 0; s < 10000 && engine.has_work(); ++s) engine.step();
    EXPECT_FALSE(engine.has_work());
    return *sinks[0];
  }

  static std::filesystem::path dir_;
  static std::string path_;
};
std::filesystem::path SeedChunkingTest::dir_;
std::string SeedChunkingTest::path_;

void expect_same_reply(const testing::RecordingSink& got, const testing::RecordingSink& want, const char* how) {
  ASSERT_TRUE(got.finished) << how;
  EXPECT_EQ(got.tokens, want.tokens) << how;
  ASSERT_EQ(got.logprobs.size(), want.logprobs.size()) << how;
  for (std::size_t i = 0; i < want.logprobs.size(); ++i) {
    // Exact: the same logits give the same bits; any other chunking of the arithmetic shows here
    // long before it flips a sampled token.
    EXPECT_EQ(got.logprobs[i].logprob, want.logprobs[i].logprob) << how << ", token " << i;
    EXPECT_EQ(got.logprobs[i].top, want.logprobs[i].top) << how << ", token " << i;
  }
}

TEST_P(SeedChunkingTest, SeededReplyIsTheSameWithThePromptReadInOneChunkOrInSeveral) {
  const auto whole = run(512, 0);
  ASSERT_EQ(whole.tokens.size(), 24u);
  expect_same_reply(run(16, 0), whole, "chunks of 16");
  expect_same_reply(run(7, 0), whole, "chunks of 7");
  expect_same_reply(run(1, 0), whole, "one token a step");
  expect_same_reply(run(33, 0), whole, "chunks of 33");
  expect_same_reply(run(33, 3), whole, "budget 33, beside 3 other requests");
  expect_same_reply(run(512, 3, 3), whole, "one chunk beside 3 other requests, 3 threads");
}

INSTANTIATE_TEST_SUITE_P(KvTypes, SeedChunkingTest, ::testing::Values(TensorType::kF16, TensorType::kQ8_0),
                         [](const auto& info) { return std::string(tensor_type_name(info.param)); });

}  // namespace
}  // namespace parley
