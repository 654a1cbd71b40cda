// Sampler's truncation stages: top_k, top_p and min_p against exact expectations (crafted logits
// whose weights are powers of two, so that every boundary is exact) and against a brute-force
// double-precision reference on a large vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "sampling/sampler.h"
#include "sampling/sampler_test_util.h"

namespace parley {
namespace {

using namespace sampling_testing;  // NOLINT(google-build-using-namespace)

TEST(TruncationTest, TopKKeepsTheBestKAndRenormalises) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.5f, 1.0f, 0.2f, 1.5f, -3.0f, 0.0f, 1.4f};
  SamplingParams p = seeded(3);
  p.top_k = 2;
  Sampler s(p, 10);
  const auto freq = frequencies(s, logits, 100000);
  const auto sm = softmax(logits, 1.0);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (i == 1 || i == 3) {
      EXPECT_NEAR(freq[i], sm[i] / (sm[1] + sm[3]), 0.01);
    } else {
      EXPECT_EQ(freq[i], 0.0) << i;  // token 6 ties with 3 but has the higher id
    }
  }
  const auto d = as_map(dist_of(s, logits));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NEAR(d.at(1), sm[1] / (sm[1] + sm[3]), 1e-6);
}

// Weights (relative to the top token) 0.25, 1, 0.5, 0.25: probabilities 1/8, 1/2, 1/4, 1/8.
const std::vector<float> kPow2Logits = {-2 * kLn2, 0.0f, -kLn2, -2 * kLn2};

std::vector<TokenId> kept_tokens(const SamplingParams& p, const std::vector<float>& logits) {
  Sampler s(p, static_cast<std::int32_t>(logits.size()));
  std::vector<TokenId> out;
  for (const TokenProb& tp : dist_of(s, logits)) out.push_back(tp.token);
  return out;
}

TEST(TruncationTest, TopPKeepsExactlyTheSmallestNucleus) {
  ASSERT_EQ(logit_exp(-kLn2), 0.5f);
  ASSERT_EQ(logit_exp(-2 * kLn2), 0.25f);
  const auto with_top_p = [](float top_p) {
    SamplingParams p = seeded(1);
    p.top_p = top_p;
    return kept_tokens(p, kPow2Logits);
  };
  using V = std::vector<TokenId>;
  EXPECT_EQ(with_top_p(1e-6f), V({1}));
  EXPECT_EQ(with_top_p(0.5f), V({1}));  // cumulative 1/2 >= 0.5: the boundary is inclusive
  EXPECT_EQ(with_top_p(std::nextafter(0.5f, 1.0f)), V({1, 2}));
  EXPECT_EQ(with_top_p(0.75f), V({1, 2}));
  EXPECT_EQ(with_top_p(std::nextafter(0.75f, 1.0f)), V({1, 2, 0}));  // tie 0/3: lower id first
  EXPECT_EQ(with_top_p(0.875f), V({1, 2, 0}));
  EXPECT_EQ(with_top_p(std::nextafter(0.875f, 1.0f)), V({1, 2, 0, 3}));

  SamplingParams p = seeded(5);
  p.top_p = 0.8f;
  Sampler s(p, 4);
  const auto d = as_map(dist_of(s, kPow2Logits));
  EXPECT_EQ(d.at(1), 1.0 / 1.75);
  EXPECT_EQ(d.at(0), 0.25 / 1.75);
  const auto freq = frequencies(s, kPow2Logits, 50000);
  EXPECT_EQ(freq[3], 0.0);
  EXPECT_NEAR(freq[1], 1.0 / 1.75, 0.01);
}

TEST(TruncationTest, MinPThresholdIsExactAtTheBoundary) {
  const auto with_min_p = [](float min_p) {
    SamplingParams p = seeded(1);
    p.min_p = min_p;
    return kept_tokens(p, kPow2Logits);
  };
  using V = std::vector<TokenId>;
  EXPECT_EQ(with_min_p(0.25f), V({1, 2, 0, 3}));  // p = 0.25 * p_max is kept
  EXPECT_EQ(with_min_p(std::nextafter(0.25f, 1.0f)), V({1, 2}));
  EXPECT_EQ(with_min_p(0.5f), V({1, 2}));
  EXPECT_EQ(with_min_p(std::nextafter(0.5f, 1.0f)), V({1}));
  EXPECT_EQ(with_min_p(1.0f), V({1}));
}

// Reference chain in double precision, by brute force: full sort, cumulative sum.
std::map<TokenId, double> reference_truncation(const std::vector<float>& x, const SamplingParams& p, bool* borderline) {
  const double m = *std::max_element(x.begin(), x.end());
  std::vector<std::pair<float, TokenId>> order;
  for (std::size_t i = 0; i < x.size(); ++i) order.push_back({x[i], static_cast<TokenId>(i)});
  std::sort(order.begin(), order.end(), [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  if (p.top_k > 0) order.resize(std::min<std::size_t>(order.size(), static_cast<std::size_t>(p.top_k)));
  std::vector<double> w;
  double total = 0.0;
  for (const auto& [logit, id] : order) total += w.emplace_back(std::exp((logit - m) / p.temperature));
  std::size_t keep = order.size();
  if (p.top_p < 1.0f) {
    double cum = 0.0;
    const double target = p.top_p * total;
    for (std::size_t i = 0; i < order.size(); ++i) {
      cum += w[i];
      if (std::abs(cum - target) < 1e-5 * total) *borderline = true;
      if (cum >= target) {
        keep = i + 1;
        break;
      }
    }
  }
  std::map<TokenId, double> out;
  double kept_total = 0.0;
  for (std::size_t i = 0; i < keep; ++i) {
    if (std::abs(w[i] - p.min_p) < 1e-5 * p.min_p) *borderline = true;
    if (w[i] >= p.min_p && w[i] > 0.0) kept_total += out[order[i].second] = w[i];
  }
  for (auto& [id, v] : out) v /= kept_total;
  return out;
}

TEST(TruncationTest, TruncationMatchesBruteForceOnALargeVocabulary) {
  int checked = 0;
  for (float scale : {0.3f, 1.5f, 4.0f}) {
    const std::vector<float> logits = normal_logits(50021, static_cast<std::uint64_t>(scale * 10), scale);
    for (float t : {0.6f, 1.0f, 1.7f}) {
      for (float top_p : {1.0f, 0.3f, 0.9f, 0.95f}) {
        for (float min_p : {0.0f, 0.05f}) {
          for (std::int32_t top_k : {0, 40, 700}) {
            SamplingParams p = seeded(1);
            p.temperature = t;
            p.top_p = top_p;
            p.min_p = min_p;
            p.top_k = top_k;
            if (top_p == 1.0f && min_p == 0.0f && top_k == 0) continue;
            bool borderline = false;
            const auto want = reference_truncation(logits, p, &borderline);
            if (borderline) continue;
            Sampler s(p, static_cast<std::int32_t>(logits.size()));
            const auto got = as_map(dist_of(s, logits));
            ASSERT_EQ(got.size(), want.size()) << "scale=" << scale << " T=" << t << " top_p=" << top_p
                                               << " min_p=" << min_p << " top_k=" << top_k;
            for (const auto& [id, prob] : want) {
              ASSERT_TRUE(got.count(id)) << id;
              ASSERT_NEAR(got.at(id), prob, 1e-6 + prob * 1e-5);
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 150);
}

}  // namespace
}  // namespace parley
