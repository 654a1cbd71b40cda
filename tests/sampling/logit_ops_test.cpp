// The full-row passes: our exp against libm, selection against a brute-force sort, sums against
// double precision, and the block/tail boundaries (sizes that are not multiples of the lanes).
#include "sampling/logit_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/rng.h"

namespace parley {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> random_logits(std::size_t n, std::uint64_t seed, float scale, bool integer_ties) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (float& v : x) v = integer_ties ? static_cast<float>(rng.below(20)) : rng.normal() * scale;
  return x;
}

TEST(LogitOpsTest, ExpMatchesLibm) {
  EXPECT_EQ(logit_exp(0.0f), 1.0f);
  EXPECT_EQ(logit_exp(-0.0f), 1.0f);
  EXPECT_EQ(logit_exp(-kInf), 0.0f);
  EXPECT_EQ(logit_exp(-80.5f), 0.0f);
  EXPECT_EQ(logit_exp(-std::log(2.0f)), 0.5f);
  double worst = 0.0;
  for (float z = 0.0f; z >= kLogitExpCutoff; z -= 0.000731f) {
    const double ref = std::exp(static_cast<double>(z));
    worst = std::max(worst, std::abs(logit_exp(z) - ref) / ref);
  }
  EXPECT_LT(worst, 3e-7);  // ~2.5 ulp
}

TEST(LogitOpsTest, SanitizeAndMax) {
  std::vector<float> x = {1.0f, std::nanf(""), kInf, -kInf, -3.0f};
  EXPECT_EQ(logits_sanitize(x), std::numeric_limits<float>::max());
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], -kInf);
  EXPECT_EQ(x[2], std::numeric_limits<float>::max());
  EXPECT_EQ(x[3], -kInf);
  EXPECT_EQ(x[4], -3.0f);
  for (std::size_t n : {1u, 7u, 8u, 9u, 1001u}) {
    auto y = random_logits(n, n, 3.0f, false);
    y[n / 2] = std::nanf("");
    auto want = y;
    want[n / 2] = -kInf;
    const float m = *std::max_element(want.begin(), want.end());
    EXPECT_EQ(logits_sanitize(y), m);
    EXPECT_EQ(y, want);
    EXPECT_EQ(logits_find(y, m), static_cast<std::size_t>(std::max_element(want.begin(), want.end()) - want.begin()));
  }
  std::vector<float> all_nan(13, std::nanf(""));
  EXPECT_EQ(logits_sanitize(all_nan), -kInf);
  std::vector<float> none;
  EXPECT_EQ(logits_sanitize(none), -kInf);
}

TEST(LogitOpsTest, SelectTopMatchesSort) {
  for (bool ties : {false, true}) {
    for (std::size_t n : {5u, 64u, 1003u, 20000u}) {
      const auto x = random_logits(n, n + ties, 2.0f, ties);
      std::vector<LogitCandidate> all;
      for (std::size_t i = 0; i < n; ++i) all.push_back({x[i], static_cast<TokenId>(i)});
      std::sort(all.begin(), all.end(), ranks_before);
      for (std::size_t k : {1u, 2u, 40u, 512u, 513u, 5000u, 30000u}) {
        std::vector<LogitCandidate> got;
        logits_select_top(x, k, got);
        std::sort(got.begin(), got.end(), ranks_before);
        ASSERT_EQ(got.size(), std::min(k, n));
        for (std::size_t i = 0; i < got.size(); ++i) {
          ASSERT_EQ(got[i].token, all[i].token) << "n=" << n << " k=" << k << " i=" << i;
        }
      }
    }
  }
}

TEST(LogitOpsTest, CollectBand) {
  const auto x = random_logits(1003, 5, 2.0f, false);
  for (const auto& [lo, hi] : {std::pair{1.5f, kInf}, std::pair{-0.5f, 1.5f}, std::pair{-kInf, kInf}}) {
    std::vector<LogitCandidate> got = {{9.0f, 7}};  // appended to, not replaced
    logits_collect_band(x, lo, hi, got);
    std::vector<TokenId> want = {7};
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (x[i] >= lo && x[i] < hi) want.push_back(static_cast<TokenId>(i));
    }
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].token, want[i]);
  }
}

TEST(LogitOpsTest, CandidatesWeighMatchesScalarExp) {
  const auto x = random_logits(1003, 6, 3.0f, false);
  std::vector<LogitCandidate> c;
  logits_collect_band(x, -2.0f, kInf, c);
  ASSERT_GT(c.size(), 100u);
  const float m = *std::max_element(x.begin(), x.end());
  for (const LogitSimd simd : {LogitSimd::kBest, LogitSimd::kPortable}) {
    const double mass = candidates_weigh(c, m, 0.8f, simd);
    double want = 0.0;
    for (const LogitCandidate& k : c) {
      ASSERT_EQ(k.weight, logit_exp((k.logit - m) * 0.8f));
      want += k.weight;
    }
    EXPECT_EQ(mass, want);
  }
}

TEST(LogitOpsTest, SumsAndScan) {
  auto x = random_logits(1003, 9, 2.0f, false);
  x[17] = -kInf;
  const float m = logits_sanitize(x);
  for (float inv_t : {0.5f, 1.0f, 2.0f}) {
    double ref = 0.0;
    for (float v : x) ref += std::exp((static_cast<double>(v) - m) * inv_t);
    const double sum = logits_sum_exp(x, m, inv_t);
    EXPECT_NEAR(sum, ref, ref * 1e-6);

    auto w = x;
    const double total = logits_exp_in_place(w, m, inv_t);
    EXPECT_EQ(total, sum);  // the same weights, summed in the same order
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(w[i], logit_exp((x[i] - m) * inv_t));
    // The scan is the inverse CDF: a target inside token i's slice of the running sum gives i.
    double cum = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      cum += w[i];
      if (i % 37 != 0 || w[i] < 1e-6f) continue;
      EXPECT_EQ(weights_scan(w, cum - 0.5 * w[i]), i);
    }
    EXPECT_EQ(weights_scan(w, 0.0), 0u);
    EXPECT_EQ(weights_scan(w, total * 2.0), w.size() - 1);  // past the end: the last positive weight
  }
  std::vector<float> zeros(20, 0.0f);
  zeros[3] = 0.5f;
  EXPECT_EQ(weights_scan(zeros, 0.0), 3u);  // zero weights are never chosen
  EXPECT_EQ(weights_scan(zeros, 9.0), 3u);
}

TEST(LogitOpsTest, Avx2AndPortableAgreeBitForBit) {
  if (!logit_simd_has_avx2()) GTEST_SKIP() << "no AVX2 here: only the portable passes run";
  for (std::size_t n : {5u, 8u, 64u, 1003u, 152064u}) {
    auto x = random_logits(n, n + 1, 4.0f, false);
    x[n / 3] = std::nanf("");
    x[n / 2] = kInf;
    x[n - 1] = -kInf;
    auto a = x, b = x;
    const float m = logits_sanitize(a, LogitSimd::kBest);
    ASSERT_EQ(m, logits_sanitize(b, LogitSimd::kPortable));
    ASSERT_EQ(a, b);
    a[n / 2] = 3.0f;  // a finite maximum, so that the weights are not all 0 but one
    const float m2 = *std::max_element(a.begin(), a.end());
    for (float inv_t : {0.37f, 1.0f, 2.5f}) {
      const double s1 = logits_sum_exp(a, m2, inv_t, LogitSimd::kBest);
      ASSERT_EQ(s1, logits_sum_exp(a, m2, inv_t, LogitSimd::kPortable));
      auto w1 = a, w2 = a;
      ASSERT_EQ(logits_exp_in_place(w1, m2, inv_t, LogitSimd::kBest), s1);
      ASSERT_EQ(logits_exp_in_place(w2, m2, inv_t, LogitSimd::kPortable), s1);
      ASSERT_EQ(w1, w2);
    }
  }
}

}  // namespace
}  // namespace parley
