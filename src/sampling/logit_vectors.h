// Private to src/sampling: the small vector toolkit behind logit_ops (include it from .cpp files
// only). GCC/Clang generic vectors lower to SSE/NEON (F4) or, inside functions compiled for AVX2,
// to AVX2 (F8). Every operation is spelled once for float, F4 and F8, so that the scalar
// logit_exp, the portable passes and the AVX2 passes do the very same IEEE arithmetic lane for
// lane (the module is built with -ffp-contract=off, so no FMA changes a rounding) and produce
// bit-identical weights.
//
// Everything is always_inline (or a builtin, hence __builtin_bit_cast rather than std::bit_cast)
// and has internal linkage: an AVX2 caller inlines it even at -O0, so no 32-byte vector ever
// crosses a call between code compiled for different instruction sets (their ABIs differ), and
// no out-of-line copy compiled for one instruction set can be picked by the linker for another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "sampling/logit_ops.h"

// GCC and Clang note that 32-byte vector arguments would pass differently with AVX; these
// functions are all inlined, so no ABI is involved.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define PARLEY_VECTOR_INLINE [[gnu::always_inline]] inline

namespace parley {
namespace {

using F4 = float __attribute__((vector_size(16)));
using I4 = std::int32_t __attribute__((vector_size(16)));
using D2 = double __attribute__((vector_size(16)));
using F8 = float __attribute__((vector_size(32)));
using I8 = std::int32_t __attribute__((vector_size(32)));
using D4 = double __attribute__((vector_size(32)));

template <typename V>
PARLEY_VECTOR_INLINE V splat(float v) {
  if constexpr (std::is_same_v<V, float>) {
    return v;
  } else {
    return V{} + v;
  }
}

PARLEY_VECTOR_INLINE float select(bool mask, float a, float b) { return mask ? a : b; }
PARLEY_VECTOR_INLINE F4 select(I4 mask, F4 a, F4 b) {
  return __builtin_bit_cast(F4, (mask & __builtin_bit_cast(I4, a)) | (~mask & __builtin_bit_cast(I4, b)));
}
PARLEY_VECTOR_INLINE F8 select(I8 mask, F8 a, F8 b) {
  return __builtin_bit_cast(F8, (mask & __builtin_bit_cast(I8, a)) | (~mask & __builtin_bit_cast(I8, b)));
}

PARLEY_VECTOR_INLINE std::int32_t to_int(float v) { return static_cast<std::int32_t>(v); }
PARLEY_VECTOR_INLINE I4 to_int(F4 v) { return __builtin_convertvector(v, I4); }
PARLEY_VECTOR_INLINE I8 to_int(F8 v) { return __builtin_convertvector(v, I8); }

PARLEY_VECTOR_INLINE float from_bits(std::int32_t v) { return __builtin_bit_cast(float, v); }
PARLEY_VECTOR_INLINE F4 from_bits(I4 v) { return __builtin_bit_cast(F4, v); }
PARLEY_VECTOR_INLINE F8 from_bits(I8 v) { return __builtin_bit_cast(F8, v); }

// exp(z) for z <= 0 (see logit_exp). Cody-Waite reduction z = k*ln2 + r with |r| <= ln2/2, then a
// degree-7 Taylor polynomial (truncation error < 1e-8 relative, below float rounding) scaled by
// 2^k through the exponent bits. The clamp keeps 2^k a normal float; the flush to 0 comes after.
template <typename V>
PARLEY_VECTOR_INLINE V exp_nonpositive(V z) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // 15 significant bits: k * kLn2Hi is exact
  constexpr float kLn2Lo = 1.42860682030941723e-6f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const V cutoff = splat<V>(kLogitExpCutoff);
  const auto below = z < cutoff;
  const V zc = select(below, cutoff, z);
  const V kf = (zc * kLog2e + kRoundMagic) - kRoundMagic;
  const V r = (zc - kf * kLn2Hi) - kf * kLn2Lo;
  V p = splat<V>(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const V scale = from_bits((to_int(kf) + 127) << 23);
  return select(below, splat<V>(0.0f), p * scale);
}

// A block of kLogitLanes floats as two F4 (the portable shape; F8 is the AVX2 one).
struct Block {
  F4 lo, hi;
  float operator[](std::size_t j) const { return j < 4 ? lo[j] : hi[j - 4]; }
};
static_assert(kLogitLanes == 8, "a block is two F4 or one F8");

PARLEY_VECTOR_INLINE Block load(const float* p) {
  Block b;
  std::memcpy(&b.lo, p, sizeof b.lo);
  std::memcpy(&b.hi, p + 4, sizeof b.hi);
  return b;
}

PARLEY_VECTOR_INLINE void store(float* p, const Block& b) {
  std::memcpy(p, &b.lo, sizeof b.lo);
  std::memcpy(p + 4, &b.hi, sizeof b.hi);
}

// The first n < kLogitLanes floats at p, padded with `pad`.
PARLEY_VECTOR_INLINE Block load_tail(const float* p, std::size_t n, float pad) {
  float tmp[kLogitLanes];
  for (std::size_t j = 0; j < kLogitLanes; ++j) tmp[j] = j < n ? p[j] : pad;
  return load(tmp);
}

PARLEY_VECTOR_INLINE Block block_exp(const Block& x, float x_max, float inv_t) {
  return {exp_nonpositive<F4>((x.lo - x_max) * inv_t), exp_nonpositive<F4>((x.hi - x_max) * inv_t)};
}

}  // namespace
}  // namespace parley
