// Sampler: greedy, empirical distributions against softmax, penalties and logit_bias by their
// exact amounts, logprobs against double precision, NaN/Inf, and the determinism the engine
// relies on (seeds, rebuild after preemption). Truncation is in truncation_test.cpp.
#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "base/rng.h"
#include "sampling/sampler_test_util.h"

namespace parley {
namespace {

using namespace sampling_testing;  // NOLINT(google-build-using-namespace)

TEST(SamplerTest, GreedyPicksArgmaxLowestIdOnTies) {
  SamplingParams p = seeded(1);
  p.temperature = 0.0f;
  Sampler s(p, 6);
  EXPECT_EQ(draw(s, {0.1f, 3.0f, -1.0f, 3.0f, 2.0f, 3.0f}).token, 1);
  EXPECT_EQ(draw(s, {5.0f, 1.0f, 1.0f, 1.0f, 1.0f, 5.0f}).token, 0);
  EXPECT_EQ(draw(s, {-kInf, -kInf, -kInf, -kInf, -kInf, -2.0f}).token, 5);
  // Temperatures so small that 1/T overflows (or all but the top weight underflow) are greedy.
  for (float t : {1e-39f, 1e-30f}) {
    SamplingParams q = seeded(2);
    q.temperature = t;
    Sampler tiny(q, 6);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(draw(tiny, {0.1f, 3.0f, -1.0f, 2.999f, 2.0f, 1.0f}).token, 1);
  }
}

TEST(SamplerTest, GreedyIgnoresTruncationAndSeed) {
  const std::vector<float> logits = normal_logits(1000, 3, 2.0f);
  const auto argmax = static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SamplingParams p = seeded(seed);
    p.temperature = 0.0f;
    p.top_k = 3;
    p.top_p = 0.01f;
    p.min_p = 0.99f;
    Sampler s(p, 1000);
    EXPECT_EQ(draw(s, logits).token, argmax);
    EXPECT_EQ(s.n_samples(), 1u);  // greedy still consumes its uniform
    const auto d = dist_of(s, logits);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].token, argmax);
  }
}

std::vector<TokenId> stream(const SamplingParams& p, const std::vector<float>& logits, int n) {
  Sampler s(p, static_cast<std::int32_t>(logits.size()));
  std::vector<TokenId> out;
  for (int i = 0; i < n; ++i) out.push_back(draw(s, logits).token);
  return out;
}

TEST(SamplerTest, SameSeedSameStreamDifferentSeedDifferentStream) {
  const std::vector<float> logits = normal_logits(100, 1, 0.5f);
  const auto a = stream(seeded(42), logits, 1000);
  EXPECT_EQ(a, stream(seeded(42), logits, 1000));
  const auto b = stream(seeded(43), logits, 1000);
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  EXPECT_LT(same, 100);  // about 1% agree by chance on this flat distribution

  // Without a seed the sampler picks one, reports it, and that seed replays the stream.
  SamplingParams unseeded;
  Sampler s1(unseeded, 100), s2(unseeded, 100);
  EXPECT_NE(s1.seed(), s2.seed());
  std::vector<TokenId> from_s1;
  for (int i = 0; i < 200; ++i) from_s1.push_back(draw(s1, logits).token);
  EXPECT_EQ(from_s1, stream(seeded(s1.seed()), logits, 200));
}

TEST(SamplerTest, EmpiricalDistributionMatchesSoftmax) {
  for (std::size_t n_vocab : {37u, 1003u}) {
    const std::vector<float> logits = normal_logits(n_vocab, n_vocab, n_vocab < 100 ? 1.0f : 2.0f);
    for (float t : {0.5f, 1.0f, 2.0f}) {
      SamplingParams p = seeded(7);
      p.temperature = t;
      Sampler s(p, static_cast<std::int32_t>(n_vocab));
      const int n_draws = n_vocab < 100 ? 200000 : 100000;
      const auto freq = frequencies(s, logits, n_draws);
      const auto want = softmax(logits, t);
      double max_err = 0.0, chi2 = 0.0;
      int bins = 0;
      for (std::size_t i = 0; i < n_vocab; ++i) {
        max_err = std::max(max_err, std::abs(freq[i] - want[i]));
        const double expected = want[i] * n_draws;
        if (expected >= 50.0) {
          chi2 += (freq[i] * n_draws - expected) * (freq[i] * n_draws - expected) / expected;
          ++bins;
        }
      }
      EXPECT_LT(max_err, 0.006) << "T=" << t << " n_vocab=" << n_vocab;
      // chi-square with `bins` degrees of freedom (roughly): mean bins, sd sqrt(2 * bins).
      EXPECT_LT(chi2, bins + 8.0 * std::sqrt(2.0 * bins)) << "T=" << t << " n_vocab=" << n_vocab;
    }
  }
}

TEST(SamplerTest, PenaltiesChangeLogitsByTheDocumentedAmounts) {
  SamplingParams p = seeded(1);
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler s(p, 8);
  const std::vector<TokenId> prompt = {1, 2, 1};
  s.set_prompt(prompt);
  for (TokenId t : {3, 3, 4, 3}) s.accept(t);
  std::vector<float> x = {1.0f, 3.0f, -3.0f, 4.0f, -1.0f, 2.0f, 0.0f, 5.0f};
  s.process_logits(x);
  EXPECT_EQ(x[0], 1.0f);                                // never seen
  EXPECT_EQ(x[1], 1.5f);                                // prompt: repetition only, once
  EXPECT_EQ(x[2], -6.0f);                               // negative: multiplied
  EXPECT_EQ(x[3], 4.0f / 2.0f - (3 * 0.25f + 0.5f));    // output x3: repetition, then presence+frequency
  EXPECT_EQ(x[4], -1.0f * 2.0f - (1 * 0.25f + 0.5f));
  EXPECT_EQ(x[5], 2.0f);
}

TEST(SamplerTest, RepetitionWindowCountsOnlyTheLastNTokens) {
  SamplingParams p = seeded(1);
  p.repetition_penalty = 4.0f;
  p.penalty_last_n = 3;
  Sampler s(p, 8);
  const std::vector<TokenId> prompt = {1, 2, 3, 4};  // window: 2 3 4
  s.set_prompt(prompt);
  const std::vector<float> ones(8, 1.0f);
  auto x = ones;
  s.process_logits(x);
  EXPECT_EQ(x, std::vector<float>({1, 1, 0.25f, 0.25f, 0.25f, 1, 1, 1}));
  s.accept(5);  // window: 3 4 5
  s.accept(3);  // window: 4 5 3 (3 now counted once, 2 gone)
  x = ones;
  s.process_logits(x);
  EXPECT_EQ(x, std::vector<float>({1, 1, 1, 0.25f, 0.25f, 0.25f, 1, 1}));
  s.accept(6);
  s.accept(6);  // window: 3 6 6
  x = ones;
  s.process_logits(x);
  EXPECT_EQ(x, std::vector<float>({1, 1, 1, 0.25f, 1, 1, 0.25f, 1}));
}

TEST(SamplerTest, PenaltiesSteerGreedyChoices) {
  SamplingParams p = seeded(1);
  p.temperature = 0.0f;
  p.frequency_penalty = 1.0f;
  Sampler s(p, 3);
  const std::vector<float> logits = {2.5f, 2.0f, 0.0f};
  std::vector<TokenId> out;
  for (int i = 0; i < 4; ++i) {
    const TokenId t = draw(s, logits).token;
    out.push_back(t);
    s.accept(t);
  }
  EXPECT_EQ(out, std::vector<TokenId>({0, 1, 0, 1}));  // 2.5 > 2 ; 1.5 < 2 ; 1.5 > 1 ; 0.5 < 1
}

TEST(SamplerTest, LogitBiasForcesAndBans) {
  const std::vector<float> logits = normal_logits(500, 11, 3.0f);
  SamplingParams force = seeded(1);
  force.temperature = 0.0f;
  force.logit_bias = {{123, 100.0f}};
  Sampler forced(force, 500);
  EXPECT_EQ(draw(forced, logits).token, 123);

  std::vector<float> skewed(50, 0.0f);
  skewed[7] = 30.0f;  // would win essentially every draw
  SamplingParams ban = seeded(2);
  ban.logit_bias = {{7, -100.0f}, {8, 1.5f}};
  ban.n_logprobs = 20;
  Sampler banned(ban, 50);
  auto x = skewed;
  banned.process_logits(x);
  EXPECT_EQ(x[7], -kInf);
  EXPECT_EQ(x[8], 1.5f);
  for (int i = 0; i < 5000; ++i) {
    const SampleResult r = draw(banned, skewed);
    ASSERT_NE(r.token, 7);
    for (const TokenLogprob& alt : r.top) ASSERT_NE(alt.token, 7);
  }
  const auto freq = frequencies(banned, skewed, 20000);
  EXPECT_GT(freq[8], 0.05);  // the +1.5 token: e^1.5 / (48 + e^1.5) = 8.5%
}

void check_logprobs(SamplingParams p);

TEST(SamplerTest, LogprobsAreLogSoftmaxOfProcessedLogits) {
  // Logprobs must not depend on temperature or truncation; each path computes them differently.
  for (int config = 0; config < 4; ++config) {
    SCOPED_TRACE(config);
    SamplingParams p = seeded(9);
    p.temperature = config % 2 == 0 ? 0.7f : 1.0f;
    p.top_p = config < 2 ? 0.9f : 1.0f;
    check_logprobs(p);
  }
}

void check_logprobs(SamplingParams p) {
  const std::vector<float> raw = normal_logits(1000, 21, 3.0f);
  p.repetition_penalty = 1.3f;
  p.presence_penalty = 0.5f;
  p.logit_bias = {{5, 2.0f}, {6, -100.0f}};
  p.n_logprobs = 5;
  Sampler s(p, 1000);
  for (int step = 0; step < 50; ++step) {
    std::vector<float> x = raw;
    s.process_logits(x);
    const SampleResult r = draw(s, raw);
    double m = -kInf, sum = 0.0;
    for (float v : x) m = std::max(m, static_cast<double>(v));
    for (float v : x) sum += std::exp(v - m);
    const double log_z = m + std::log(sum);
    EXPECT_NEAR(r.logprob, x[static_cast<std::size_t>(r.token)] - log_z, 1e-5);
    ASSERT_EQ(r.top.size(), 5u);
    std::vector<std::pair<float, TokenId>> order;
    for (std::size_t i = 0; i < x.size(); ++i) order.push_back({-x[i], static_cast<TokenId>(i)});
    std::sort(order.begin(), order.end());
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(r.top[i].token, order[i].second);
      EXPECT_NEAR(r.top[i].logprob, -order[i].first - log_z, 1e-5);
    }
    s.accept(r.token);
  }
}

TEST(SamplerTest, LogprobsCountAndTies) {
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 0.0f, 3.0f, 2.0f};
  for (std::int32_t n : {-1, 0, 2, 20}) {
    SamplingParams p = seeded(1);
    p.temperature = 0.0f;
    p.n_logprobs = n;
    Sampler s(p, 6);
    const SampleResult r = draw(s, logits);
    EXPECT_EQ(r.token, 1);
    EXPECT_EQ(r.top.size(), static_cast<std::size_t>(std::clamp(n, 0, 6)));
    if (n < 0) {
      EXPECT_EQ(r.logprob, 0.0f);
      continue;
    }
    const double log_z = 3.0 + std::log(3.0 + std::exp(-2.0) + std::exp(-3.0) + std::exp(-1.0));
    EXPECT_NEAR(r.logprob, 3.0 - log_z, 1e-6);
    const std::vector<TokenId> order = {1, 2, 4, 5, 0, 3};
    for (std::size_t i = 0; i < r.top.size(); ++i) EXPECT_EQ(r.top[i].token, order[i]);
  }
}

TEST(SamplerTest, NanAndInfNeverCrashOrEscapeTheVocabulary) {
  const float nan = std::nanf("");
  std::vector<SamplingParams> configs(5, seeded(4));
  configs[0].temperature = 0.0f;
  configs[2].top_k = 3;
  configs[3].top_p = 0.5f;
  configs[4].min_p = 0.2f;
  for (SamplingParams& p : configs) {
    p.n_logprobs = 3;
    Sampler s(p, 6);
    for (int i = 0; i < 2000; ++i) {
      const SampleResult r = draw(s, {nan, 1.0f, nan, 0.5f, -kInf, 0.8f});
      ASSERT_TRUE(r.token == 1 || r.token == 3 || r.token == 5) << r.token;
      ASSERT_FALSE(r.fallback);
      ASSERT_TRUE(std::isfinite(r.logprob));
    }
    EXPECT_EQ(draw(s, {1.0f, 2.0f, kInf, 0.0f, nan, 3.0f}).token, 2);  // +inf: certain
    const SampleResult all_nan = draw(s, std::vector<float>(6, nan));
    EXPECT_EQ(all_nan.token, 0);
    EXPECT_TRUE(all_nan.fallback);
    EXPECT_EQ(all_nan.logprob, -kInf);
    EXPECT_TRUE(all_nan.top.empty());
  }
  SamplingParams p = seeded(8);
  p.logit_bias = {{0, -100.0f}, {1, -100.0f}, {3, -100.0f}};
  Sampler s(p, 6);
  const SampleResult r = draw(s, std::vector<float>(6, -kInf));
  EXPECT_TRUE(r.fallback);
  EXPECT_EQ(r.token, 2);  // the lowest id that is not banned
  const auto freq = frequencies(s, {1.0f, kInf, kInf, 1.0f, kInf, 2.0f}, 20000);
  EXPECT_EQ(freq[1], 0.0);          // +inf but banned
  EXPECT_NEAR(freq[2], 0.5, 0.02);  // two certain tokens share the mass
  EXPECT_NEAR(freq[4], 0.5, 0.02);
}

TEST(SamplerTest, PenaltiesKeepHugeLogitsFinite) {
  SamplingParams p = seeded(1);
  p.repetition_penalty = 10.0f;
  Sampler s(p, 3);
  const std::vector<TokenId> prompt = {0, 1, 2};
  s.set_prompt(prompt);
  std::vector<float> x = {-3e38f, -3e38f, -kInf};
  s.process_logits(x);
  EXPECT_EQ(x[0], -std::numeric_limits<float>::max());
  EXPECT_EQ(x[2], -kInf);
  const SampleResult r = draw(s, {-3e38f, -3e38f, -kInf});
  EXPECT_FALSE(r.fallback);
  EXPECT_LE(r.token, 1);
}

TEST(SamplerTest, EveryCallConsumesExactlyOneUniform) {
  const std::vector<float> logits = normal_logits(300, 2, 1.0f);
  SamplingParams p = seeded(77);
  p.top_p = 0.9f;
  Sampler a(p, 300), b(p, 300);
  draw(a, logits);
  draw(b, logits);
  EXPECT_TRUE(draw(a, std::vector<float>(300, std::nanf(""))).fallback);  // fallback path
  draw(b, logits);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(draw(a, logits).token, draw(b, logits).token);
  EXPECT_EQ(a.n_samples(), 52u);
}

// A stand-in for a model: the next logits depend on the step and the last token.
std::vector<float> fake_model(std::int64_t step, TokenId last, std::size_t n_vocab) {
  return normal_logits(n_vocab, Rng::derive(static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(last)), 2.0f);
}

TEST(SamplerTest, RebuiltSamplerContinuesTheSameStream) {
  constexpr std::size_t kVocab = 500;
  SamplingParams p;  // unseeded: the engine keeps seed() for the rebuild
  p.temperature = 0.9f;
  p.top_k = 50;
  p.top_p = 0.95f;
  p.repetition_penalty = 1.3f;
  p.penalty_last_n = 16;
  p.presence_penalty = 0.4f;
  p.frequency_penalty = 0.3f;
  p.n_logprobs = 3;
  const std::vector<TokenId> prompt = {5, 6, 7, 5, 9};
  Sampler a(p, kVocab);
  a.set_prompt(prompt);
  std::vector<TokenId> output;
  TokenId last = prompt.back();
  for (int step = 0; step < 40; ++step) {
    auto x = fake_model(step, last, kVocab);
    last = a.sample(x).token;
    if (step != 20) {  // step 20's token was discarded (say, preempted before it was emitted)
      a.accept(last);
      output.push_back(last);
    } else {
      last = output.back();
    }
  }
  SamplingParams q = p;
  q.seed = a.seed();
  q.has_seed = true;
  Sampler b(q, kVocab);
  b.set_prompt(prompt);
  for (TokenId t : output) b.accept(t);
  b.set_n_samples(a.n_samples());
  EXPECT_EQ(a.n_samples(), 40u);
  for (int step = 40; step < 140; ++step) {
    const auto x = fake_model(step, last, kVocab);
    const SampleResult ra = draw(a, x), rb = draw(b, x);
    ASSERT_EQ(ra.token, rb.token) << step;
    ASSERT_EQ(ra.logprob, rb.logprob);
    ASSERT_EQ(ra.top, rb.top);
    a.accept(ra.token);
    b.accept(rb.token);
    last = ra.token;
  }
}

}  // namespace
}  // namespace parley
