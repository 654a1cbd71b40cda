// The allowed-token mask (stage 0 of the chain): greedy and random draws stay inside it, it wins
// over logit_bias and the penalties, logprobs and alternatives see only allowed tokens, the
// fallback picks an allowed token, and logits_mask itself at word edges.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "sampling/logit_ops.h"
#include "sampling/sampler.h"
#include "sampling/sampler_test_util.h"

namespace parley {
namespace {

using namespace sampling_testing;  // NOLINT(google-build-using-namespace)

std::vector<std::uint64_t> mask_of(std::int32_t n, const std::vector<TokenId>& allowed) {
  std::vector<std::uint64_t> m((static_cast<std::size_t>(n) + 63) / 64, 0);
  for (const TokenId t : allowed) m[static_cast<std::size_t>(t) >> 6] |= std::uint64_t{1} << (t & 63);
  return m;
}

TEST(AllowedMask, GreedyTakesTheBestAllowedToken) {
  SamplingParams p = seeded(1);
  p.temperature = 0.0f;
  Sampler s(p, 200);
  std::vector<float> logits(200, 0.0f);
  logits[5] = 9.0f;
  logits[150] = 3.0f;
  logits[70] = 2.0f;
  std::vector<float> scratch = logits;
  EXPECT_EQ(s.sample(scratch, mask_of(200, {70, 150})).token, 150);
  scratch = logits;
  EXPECT_EQ(s.sample(scratch, mask_of(200, {70, 199})).token, 70);
}

TEST(AllowedMask, RandomDrawsStayInsideAndRenormalise) {
  SamplingParams p = seeded(7);
  p.top_p = 0.9f;
  Sampler s(p, 300);
  const std::vector<float> logits = normal_logits(300, 11, 2.0f);
  const auto allowed = mask_of(300, {3, 64, 65, 128, 299});
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> scratch = logits;
    const TokenId t = s.sample(scratch, allowed).token;
    ASSERT_TRUE(t == 3 || t == 64 || t == 65 || t == 128 || t == 299) << t;
  }
  std::vector<float> scratch = logits;
  double total = 0;
  for (const TokenProb& tp : s.distribution(scratch, allowed)) total += tp.prob;
  EXPECT_NEAR(total, 1.0, 1e-9);
}

TEST(AllowedMask, WinsOverLogitBiasAndPenalties) {
  SamplingParams p = seeded(3);
  p.temperature = 0.0f;
  p.logit_bias = {{10, 100.0f}, {11, -100.0f}};
  p.repetition_penalty = 0.5f;  // raises the logits of repeated tokens
  p.presence_penalty = -2.0f;   // and so does a negative presence penalty
  Sampler s(p, 64);
  s.accept(10);
  std::vector<float> logits(64, 0.0f);
  logits[12] = -5.0f;
  EXPECT_EQ(s.sample(logits, mask_of(64, {11, 12})).token, 12);  // 10 is not allowed, 11 is banned
}

TEST(AllowedMask, LogprobsSeeOnlyAllowedTokens) {
  SamplingParams p = seeded(5);
  p.n_logprobs = 5;
  Sampler s(p, 100);
  std::vector<float> logits(100, 0.0f);
  logits[1] = 10.0f;
  const SampleResult r = s.sample(logits, mask_of(100, {40, 41}));
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_NEAR(r.logprob, std::log(0.5), 1e-5);
  for (const TokenLogprob& t : r.top) EXPECT_TRUE(t.token == 40 || t.token == 41);
}

TEST(AllowedMask, FallbackPicksAnAllowedToken) {
  SamplingParams p = seeded(9);
  p.logit_bias = {{20, -100.0f}};
  Sampler s(p, 100);
  std::vector<float> logits(100, -kInf);
  const SampleResult r = s.sample(logits, mask_of(100, {20, 33}));
  EXPECT_TRUE(r.fallback);
  EXPECT_EQ(r.token, 33);  // the lowest allowed token that is not banned
  std::vector<float> again(100, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(s.sample(again, mask_of(100, {20})).token, 20);  // all allowed ones banned: the lowest allowed
}

TEST(AllowedMask, LogitsMaskHandlesWordEdgesAndShortMasks) {
  std::vector<float> logits(130, 1.0f);
  std::vector<std::uint64_t> m = mask_of(130, {0, 63, 64, 127, 129});
  m.back() = ~std::uint64_t{0};  // bits past the end are ignored
  logits_mask(logits, m);
  for (int i = 0; i < 130; ++i) {
    const bool allowed = i == 0 || i == 63 || i == 64 || i == 127 || i >= 128;
    EXPECT_EQ(logits[static_cast<std::size_t>(i)] == 1.0f, allowed) << i;
  }
  std::vector<float> more(200, 1.0f);
  logits_mask(more, mask_of(64, {5}));  // a mask shorter than the row: the rest is not allowed
  for (int i = 0; i < 200; ++i) EXPECT_EQ(more[static_cast<std::size_t>(i)] == 1.0f, i == 5) << i;
}

}  // namespace
}  // namespace parley
