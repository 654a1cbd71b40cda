#include "sampling/logit_ops.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "sampling/logit_vectors.h"

namespace parley {
namespace {

constexpr std::size_t kHeapSelectMax = 512;  // above this, nth_element beats a heap
constexpr std::size_t kRejectBlock = 64;     // tokens per early-reject test in the selections

// The vector conditional compiles to maxps/vmaxps (same semantics: b unless a > b).
F4 max4(F4 a, F4 b) {
  return a > b ? a : b;
}

float horizontal_max(F4 v) {
  float m = v[0];
  for (std::size_t j = 1; j < 4; ++j) m = v[j] > m ? v[j] : m;
  return m;
}

// The largest of the kRejectBlock logits at p. Four accumulators keep maxps's latency off the
// critical path.
float block_max(const float* p) {
  Block a = load(p), b = load(p + kLogitLanes);
  for (std::size_t i = 2 * kLogitLanes; i < kRejectBlock; i += 2 * kLogitLanes) {
    const Block x = load(p + i), y = load(p + i + kLogitLanes);
    a.lo = max4(a.lo, x.lo);
    a.hi = max4(a.hi, x.hi);
    b.lo = max4(b.lo, y.lo);
    b.hi = max4(b.hi, y.hi);
  }
  return horizontal_max(max4(max4(a.lo, a.hi), max4(b.lo, b.hi)));
}

}  // namespace

float logit_exp(float z) {
  return exp_nonpositive<float>(z);
}

void logits_mask(std::span<float> logits, std::span<const std::uint64_t> allowed) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const std::size_t n = logits.size();
  const std::size_t n_words = (n + 63) / 64;
  float* p = logits.data();
  for (std::size_t w = 0; w < n_words;) {
    const std::uint64_t bits = w < allowed.size() ? allowed[w] : 0;
    if (bits == ~std::uint64_t{0}) {
      ++w;
      continue;
    }
    if (bits == 0) {
      // A run of words that allow nothing: one fill.
      std::size_t end = w + 1;
      while (end < n_words && (end >= allowed.size() || allowed[end] == 0)) ++end;
      std::fill(p + w * 64, p + std::min(n, end * 64), kNegInf);
      w = end;
      continue;
    }
    const std::size_t len = std::min<std::size_t>(64, n - w * 64);
    for (std::uint64_t clear = ~bits; clear != 0; clear &= clear - 1) {
      const auto j = static_cast<std::size_t>(std::countr_zero(clear));
      if (j < len) p[w * 64 + j] = kNegInf;
    }
    ++w;
  }
}

std::size_t logits_find(std::span<const float> logits, float value) {
  const float* p = logits.data();
  const std::size_t n = logits.size();
  std::size_t i = 0;
  for (; i + kRejectBlock <= n; i += kRejectBlock) {
    if (!(block_max(p + i) >= value)) continue;
    for (std::size_t j = 0; j < kRejectBlock; ++j) {
      if (p[i + j] == value) return i + j;
    }
  }
  for (; i < n; ++i) {
    if (p[i] == value) return i;
  }
  return n;
}

std::size_t weights_scan(std::span<const float> weights, double target) {
  const float* p = weights.data();
  const std::size_t n = weights.size();
  // Sums of kRejectBlock weights skip most of the row (one dependent addition per 64 tokens);
  // the block where the target falls is walked in blocks of 8, then token by token. If rounding
  // makes a finer walk miss, `cum` is still the running sum and the scan goes on.
  const auto block_sum = [&](std::size_t i, std::size_t len) {
    D2 s{};
    for (std::size_t j = 0; j < len; j += 4) s += D2{p[i + j], p[i + j + 1]} + D2{p[i + j + 2], p[i + j + 3]};
    return s[0] + s[1];
  };
  double cum = 0.0;
  std::size_t i = 0;
  while (i + kRejectBlock <= n) {
    const double big = block_sum(i, kRejectBlock);
    if (cum + big <= target) {
      cum += big;
      i += kRejectBlock;
      continue;
    }
    for (const std::size_t end = i + kRejectBlock; i < end; i += kLogitLanes) {
      const double small = block_sum(i, kLogitLanes);
      if (cum + small <= target) {
        cum += small;
        continue;
      }
      for (std::size_t j = i; j < i + kLogitLanes; ++j) {
        cum += p[j];
        if (p[j] > 0.0f && cum > target) return j;
      }
    }
  }
  for (; i < n; ++i) {
    cum += p[i];
    if (p[i] > 0.0f && cum > target) return i;
  }
  for (std::size_t j = n; j > 0; --j) {
    if (p[j - 1] > 0.0f) return j - 1;
  }
  return 0;
}

void logits_select_top(std::span<const float> logits, std::size_t k, std::vector<LogitCandidate>& out) {
  out.clear();
  const float* p = logits.data();
  const std::size_t n = logits.size();
  if (k == 0) return;
  if (k >= n || k > kHeapSelectMax) {
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back({p[i], static_cast<TokenId>(i)});
    if (k >= n) return;
    // The k-th best is the cut; collecting again keeps id order (nth_element's is unspecified).
    std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k - 1), out.end(), ranks_before);
    const LogitCandidate cut = out[k - 1];
    out.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const LogitCandidate c{p[i], static_cast<TokenId>(i)};
      if (!ranks_before(cut, c)) out.push_back(c);
    }
    return;
  }
  // A heap whose front is the worst of the k kept so far. Tokens arrive in id order, so a newcomer
  // with a logit equal to the worst ranks after it: only strictly greater logits get in.
  out.reserve(k);
  for (std::size_t i = 0; i < k; ++i) out.push_back({p[i], static_cast<TokenId>(i)});
  std::make_heap(out.begin(), out.end(), ranks_before);
  float worst = out.front().logit;
  const auto consider = [&](std::size_t i) {
    if (!(p[i] > worst)) return;
    std::pop_heap(out.begin(), out.end(), ranks_before);
    out.back() = {p[i], static_cast<TokenId>(i)};
    std::push_heap(out.begin(), out.end(), ranks_before);
    worst = out.front().logit;
  };
  std::size_t i = k;
  for (; i + kRejectBlock <= n; i += kRejectBlock) {
    if (!(block_max(p + i) > worst)) continue;
    for (std::size_t j = 0; j < kRejectBlock; ++j) consider(i + j);
  }
  for (; i < n; ++i) consider(i);
  // Id order, so that callers see the same order whatever the standard library's heap layout.
  std::sort(out.begin(), out.end(), [](const LogitCandidate& a, const LogitCandidate& b) { return a.token < b.token; });
}

void logits_collect_band(std::span<const float> logits, float lo, float hi, std::vector<LogitCandidate>& out) {
  const float* p = logits.data();
  const std::size_t n = logits.size();
  const F4 lo4 = splat<F4>(lo), hi4 = splat<F4>(hi);
  std::size_t i = 0;
  for (; i + kRejectBlock <= n; i += kRejectBlock) {
    if (!(block_max(p + i) >= lo)) continue;
    for (std::size_t k = i; k < i + kRejectBlock; k += kLogitLanes) {
      // A bit mask from vector compares, then a walk over its set bits: when a good share of
      // the tokens qualify, a branch per token would mispredict about as often as it is taken.
      const Block x = load(p + k);
      const I4 bits =
          (((x.lo >= lo4) & (x.lo < hi4)) & I4{1, 2, 4, 8}) | (((x.hi >= lo4) & (x.hi < hi4)) & I4{16, 32, 64, 128});
      for (auto mask = static_cast<unsigned>(bits[0] | bits[1] | bits[2] | bits[3]); mask != 0; mask &= mask - 1) {
        const std::size_t j = k + static_cast<std::size_t>(std::countr_zero(mask));
        out.push_back({p[j], static_cast<TokenId>(j)});
      }
    }
  }
  for (; i < n; ++i) {
    if (p[i] >= lo && p[i] < hi) out.push_back({p[i], static_cast<TokenId>(i)});
  }
}

}  // namespace parley
