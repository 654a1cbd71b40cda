// Helpers shared by the sampling test suites.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

#include "base/rng.h"
#include "sampling/sampler.h"

namespace parley::sampling_testing {

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline const float kLn2 = std::log(2.0f);  // -k * kLn2 has weight exactly 2^-k for k in {1, 2, 4}

inline SamplingParams seeded(std::uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  p.has_seed = true;
  return p;
}

// sample() uses its argument as scratch; tests keep theirs.
inline SampleResult draw(Sampler& s, std::vector<float> logits) { return s.sample(logits); }

inline std::vector<TokenProb> dist_of(Sampler& s, std::vector<float> logits) { return s.distribution(logits); }

inline std::vector<double> softmax(const std::vector<float>& x, double temperature) {
  const double m = *std::max_element(x.begin(), x.end());
  std::vector<double> p(x.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp((x[i] - m) / temperature);
  for (double& v : p) v /= sum;
  return p;
}

inline std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, int n_draws) {
  std::vector<double> freq(logits.size(), 0.0);
  std::vector<float> scratch;
  for (int i = 0; i < n_draws; ++i) {
    scratch = logits;
    freq[static_cast<std::size_t>(s.sample(scratch).token)] += 1.0 / n_draws;
  }
  return freq;
}

inline std::vector<float> normal_logits(std::size_t n, std::uint64_t seed, float scale) {
  Rng rng(seed);
  std::vector<float> x(n);
  for (float& v : x) v = rng.normal() * scale;
  return x;
}

inline std::map<TokenId, double> as_map(const std::vector<TokenProb>& d) {
  std::map<TokenId, double> m;
  for (const TokenProb& tp : d) m[tp.token] = tp.prob;
  return m;
}

}  // namespace parley::sampling_testing
