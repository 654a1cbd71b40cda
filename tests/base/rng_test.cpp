// Rng: determinism (the same seed gives the same stream on every platform), ranges and rough
// distribution checks, plus the FNV-1a salt helper.
#include "base/rng.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace parley {
namespace {

std::vector<std::uint64_t> first_n(std::uint64_t seed, int n) {
  Rng rng(seed);
  std::vector<std::uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(rng.next_u64());
  return out;
}

TEST(RngTest, SameSeedSameSequence) {
  EXPECT_EQ(first_n(42, 1000), first_n(42, 1000));
  EXPECT_EQ(first_n(0, 100), first_n(0, 100));
  Rng a(9), b(9);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.uniform(), b.uniform());
    ASSERT_EQ(a.normal(), b.normal());
    ASSERT_EQ(a.below(1000), b.below(1000));
  }
}

TEST(RngTest, DifferentSeedsDiffer) {
  EXPECT_NE(first_n(1, 4), first_n(2, 4));
  EXPECT_NE(first_n(0, 4), first_n(1ull << 63, 4));
}

TEST(RngTest, MatchesXoshiro256StarStarGoldenValues) {
  // State seeded by splitmix64(1234567) (published vectors 6457827717110365317, 3203168211198807973,
  // ...); outputs of xoshiro256** from that state. Pins the stream across platforms and refactors.
  const std::vector<std::uint64_t> expected = {0x30a3a1c363600467ull, 0x19405f0f579929caull, 0x115beaac046ddbd9ull,
                                               0xeb17caf48f27d7f6ull};
  EXPECT_EQ(first_n(1234567, 4), expected);
}

TEST(RngTest, UniformIsInUnitInterval) {
  Rng rng(3);
  double sum = 0;
  float lo = 1, hi = 0;
  constexpr int kN = 100000;
  for (int i = 0; i < kN; ++i) {
    const float u = rng.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_NEAR(sum / kN, 0.5, 0.01);
  EXPECT_LT(lo, 0.001f);
  EXPECT_GT(hi, 0.999f);
}

TEST(RngTest, BelowStaysInRangeAndCoversIt) {
  Rng rng(5);
  for (std::uint64_t n : {1ull, 2ull, 7ull, 1000ull, 1ull << 40, ~0ull}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(rng.below(n), n) << n;
  }
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) ++counts[rng.below(10)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(RngTest, NormalHasZeroMeanUnitVariance) {
  Rng rng(11);
  constexpr int kN = 100000;
  double sum = 0, sum_sq = 0;
  int beyond_3sigma = 0;
  for (int i = 0; i < kN; ++i) {
    const double x = rng.normal();
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    sum_sq += x * x;
    beyond_3sigma += std::abs(x) > 3;
  }
  const double mean = sum / kN;
  const double var = sum_sq / kN - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(var, 1.0, 0.03);
  EXPECT_NEAR(beyond_3sigma, kN * 0.0027, 60);  // about 270 expected
}

TEST(RngTest, DeriveIsDeterministicAndSaltSensitive) {
  EXPECT_EQ(Rng::derive(1, 2), Rng::derive(1, 2));
  std::set<std::uint64_t> seen;
  for (std::uint64_t salt = 0; salt < 1000; ++salt) seen.insert(Rng::derive(1, salt));
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_NE(Rng::derive(1, 5), Rng::derive(2, 5));
}

TEST(RngTest, Fnv1aMatchesPublishedVectors) {
  static_assert(fnv1a64("", 0) == 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ull);
}

}  // namespace
}  // namespace parley
