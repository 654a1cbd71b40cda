// The passes with arithmetic on every token (sanitise + max, the two exp() passes over the row,
// weighing candidates): the costliest work of sampling. Each is written once as a template over
// a lane policy and compiled twice: with portable 16-byte vectors, and for AVX2 (twice as wide)
// where the processor has it. Both do the same arithmetic lane for lane and reduce the lanes in
// the same order, so their results are bit-identical and the choice never changes a token.
// (Constants come from builtins rather than <limits>, to keep library code out of this file.)
#include <cstring>

#include "sampling/logit_ops.h"
#include "sampling/logit_vectors.h"

#if defined(__x86_64__)
#define PARLEY_SAMPLING_AVX2 1
#else
#define PARLEY_SAMPLING_AVX2 0
#endif

namespace parley {
namespace {

constexpr float kInf = __builtin_inff();
constexpr float kFloatMax = __FLT_MAX__;

// Lanes 0-3 in lo, 4-7 in hi; reductions go 0, 1, ..., 7 in both policies.
struct PortableLanes {
  using V = Block;
  struct Sum {  // double per lane
    D2 a{}, b{}, c{}, d{};
    PARLEY_VECTOR_INLINE void add(const V& e) {
      a += D2{e.lo[0], e.lo[1]};
      b += D2{e.lo[2], e.lo[3]};
      c += D2{e.hi[0], e.hi[1]};
      d += D2{e.hi[2], e.hi[3]};
    }
    PARLEY_VECTOR_INLINE double total() const { return a[0] + a[1] + b[0] + b[1] + c[0] + c[1] + d[0] + d[1]; }
  };
  PARLEY_VECTOR_INLINE static V load(const float* p) { return parley::load(p); }
  PARLEY_VECTOR_INLINE static V load_tail(const float* p, std::size_t n, float pad) { return parley::load_tail(p, n, pad); }
  PARLEY_VECTOR_INLINE static void store(float* p, const V& v) { parley::store(p, v); }
  PARLEY_VECTOR_INLINE static V splat_v(float v) { return {splat<F4>(v), splat<F4>(v)}; }
  PARLEY_VECTOR_INLINE static V exp_of(const V& x, float x_max, float inv_t) { return block_exp(x, x_max, inv_t); }
  PARLEY_VECTOR_INLINE static V sanitize(const V& x) { return {sanitize4(x.lo), sanitize4(x.hi)}; }
  PARLEY_VECTOR_INLINE static V max(const V& a, const V& b) {
    return {a.lo > b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi};  // maxps
  }
  PARLEY_VECTOR_INLINE static F4 sanitize4(F4 x) {
    const F4 y = select(x == splat<F4>(kInf), splat<F4>(kFloatMax), x);
    return select(y != y, splat<F4>(-kInf), y);  // only NaN differs from itself
  }
};

template <class L>
PARLEY_VECTOR_INLINE float lane_max(const typename L::V& v) {
  float m = v[0];
  for (std::size_t j = 1; j < kLogitLanes; ++j) m = v[j] > m ? v[j] : m;
  return m;
}

template <class L>
PARLEY_VECTOR_INLINE void store_tail(float* p, std::size_t n, const typename L::V& v) {
  for (std::size_t j = 0; j < n; ++j) p[j] = v[j];
}

template <class L>
PARLEY_VECTOR_INLINE float sanitize_impl(float* p, std::size_t n) {
  typename L::V m = L::splat_v(-kInf);
  std::size_t i = 0;
  for (; i + kLogitLanes <= n; i += kLogitLanes) {
    const typename L::V y = L::sanitize(L::load(p + i));
    L::store(p + i, y);
    m = L::max(m, y);
  }
  const typename L::V y = L::sanitize(L::load_tail(p + i, n - i, -kInf));
  store_tail<L>(p + i, n - i, y);
  return lane_max<L>(L::max(m, y));
}

template <class L>
PARLEY_VECTOR_INLINE double sum_exp_impl(const float* p, std::size_t n, float x_max, float inv_t) {
  typename L::Sum sum;
  std::size_t i = 0;
  for (; i + kLogitLanes <= n; i += kLogitLanes) sum.add(L::exp_of(L::load(p + i), x_max, inv_t));
  sum.add(L::exp_of(L::load_tail(p + i, n - i, -kInf), x_max, inv_t));
  return sum.total();
}

template <class L>
PARLEY_VECTOR_INLINE double exp_in_place_impl(float* p, std::size_t n, float x_max, float inv_t) {
  typename L::Sum sum;
  std::size_t i = 0;
  for (; i + kLogitLanes <= n; i += kLogitLanes) {
    const typename L::V e = L::exp_of(L::load(p + i), x_max, inv_t);
    L::store(p + i, e);
    sum.add(e);
  }
  const typename L::V e = L::exp_of(L::load_tail(p + i, n - i, -kInf), x_max, inv_t);
  store_tail<L>(p + i, n - i, e);
  sum.add(e);
  return sum.total();
}

template <class L>
PARLEY_VECTOR_INLINE double weigh_impl(LogitCandidate* c, std::size_t n, float x_max, float inv_t) {
  double mass = 0.0;
  for (std::size_t i = 0; i < n; i += kLogitLanes) {
    const std::size_t m = n - i < kLogitLanes ? n - i : kLogitLanes;
    float x[kLogitLanes];
    for (std::size_t j = 0; j < kLogitLanes; ++j) x[j] = j < m ? c[i + j].logit : -kInf;
    const typename L::V e = L::exp_of(L::load(x), x_max, inv_t);
    for (std::size_t j = 0; j < m; ++j) {
      c[i + j].weight = e[j];
      mass += e[j];
    }
  }
  return mass;
}

#if PARLEY_SAMPLING_AVX2
struct Avx2Lanes {
  using V = F8;
  struct Sum {
    D4 lo{}, hi{};
    PARLEY_VECTOR_INLINE void add(V e) {
      lo += D4{e[0], e[1], e[2], e[3]};
      hi += D4{e[4], e[5], e[6], e[7]};
    }
    PARLEY_VECTOR_INLINE double total() const { return lo[0] + lo[1] + lo[2] + lo[3] + hi[0] + hi[1] + hi[2] + hi[3]; }
  };
  PARLEY_VECTOR_INLINE static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  PARLEY_VECTOR_INLINE static V load_tail(const float* p, std::size_t n, float pad) {
    V v = splat<F8>(pad);
    for (std::size_t j = 0; j < n; ++j) v[j] = p[j];
    return v;
  }
  PARLEY_VECTOR_INLINE static void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  PARLEY_VECTOR_INLINE static V splat_v(float v) { return splat<F8>(v); }
  PARLEY_VECTOR_INLINE static V exp_of(V x, float x_max, float inv_t) { return exp_nonpositive<F8>((x - x_max) * inv_t); }
  PARLEY_VECTOR_INLINE static V sanitize(V x) {
    const F8 y = select(x == splat<F8>(kInf), splat<F8>(kFloatMax), x);
    return select(y != y, splat<F8>(-kInf), y);
  }
  PARLEY_VECTOR_INLINE static V max(V a, V b) { return a > b ? a : b; }  // vmaxps
};

[[gnu::target("avx2")]] float sanitize_avx2(float* p, std::size_t n) { return sanitize_impl<Avx2Lanes>(p, n); }
[[gnu::target("avx2")]] double sum_exp_avx2(const float* p, std::size_t n, float x_max, float inv_t) {
  return sum_exp_impl<Avx2Lanes>(p, n, x_max, inv_t);
}
[[gnu::target("avx2")]] double exp_in_place_avx2(float* p, std::size_t n, float x_max, float inv_t) {
  return exp_in_place_impl<Avx2Lanes>(p, n, x_max, inv_t);
}

[[gnu::target("avx2")]] double weigh_avx2(LogitCandidate* c, std::size_t n, float x_max, float inv_t) {
  return weigh_impl<Avx2Lanes>(c, n, x_max, inv_t);
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#else
bool cpu_has_avx2() { return false; }
#endif

[[maybe_unused]] bool use_avx2(LogitSimd simd) { return simd == LogitSimd::kBest && cpu_has_avx2(); }

}  // namespace

bool logit_simd_has_avx2() { return cpu_has_avx2(); }

float logits_sanitize(std::span<float> logits, LogitSimd simd) {
#if PARLEY_SAMPLING_AVX2
  if (use_avx2(simd)) return sanitize_avx2(logits.data(), logits.size());
#endif
  (void)simd;
  return sanitize_impl<PortableLanes>(logits.data(), logits.size());
}

double logits_sum_exp(std::span<const float> logits, float x_max, float inv_t, LogitSimd simd) {
#if PARLEY_SAMPLING_AVX2
  if (use_avx2(simd)) return sum_exp_avx2(logits.data(), logits.size(), x_max, inv_t);
#endif
  (void)simd;
  return sum_exp_impl<PortableLanes>(logits.data(), logits.size(), x_max, inv_t);
}

double logits_exp_in_place(std::span<float> logits, float x_max, float inv_t, LogitSimd simd) {
#if PARLEY_SAMPLING_AVX2
  if (use_avx2(simd)) return exp_in_place_avx2(logits.data(), logits.size(), x_max, inv_t);
#endif
  (void)simd;
  return exp_in_place_impl<PortableLanes>(logits.data(), logits.size(), x_max, inv_t);
}

double candidates_weigh(std::span<LogitCandidate> candidates, float x_max, float inv_t, LogitSimd simd) {
#if PARLEY_SAMPLING_AVX2
  if (use_avx2(simd)) return weigh_avx2(candidates.data(), candidates.size(), x_max, inv_t);
#endif
  (void)simd;
  return weigh_impl<PortableLanes>(candidates.data(), candidates.size(), x_max, inv_t);
}

}  // namespace parley
