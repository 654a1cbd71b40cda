// Scalar conversions between float and the two 16-bit float formats of GGUF tensors:
// IEEE 754 binary16 ("f16": 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 ("bf16": the top
// half of a float). Both directions round to nearest, ties to even, handle subnormals, infinities
// and NaN, and never depend on the floating-point environment (pure integer arithmetic), so the
// results are the same on every machine and every compiler flag set.
//
// Everything here is inline and branch-light: these run once per weight in the reference kernels.
// Thread-safe (no state).
#pragma once

#include <bit>
#include <cstdint>

namespace parley {

// Raw bit patterns; a plain integer keeps block structs trivially copyable and byte-exact.
using fp16_t = std::uint16_t;
using bf16_t = std::uint16_t;

inline float fp16_to_fp32(fp16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) {
    // Inf stays inf; a NaN keeps its payload (shifted into the top of the float mantissa).
    return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  }
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in float (mant < 2^10, result is a normal float).
    const float magnitude = static_cast<float>(mant) * 0x1.0p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  // Normal: rebias the exponent from 15 to 127.
  return std::bit_cast<float>(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
}

inline fp16_t fp32_to_fp16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {
    // NaN: keep the top payload bits and force the quiet bit so a signalling NaN cannot turn
    // into infinity when its payload lives only in the low 13 bits.
    return static_cast<fp16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
  }
  if (abs >= 0x38800000u) {
    // At or above the smallest normal half (2^-14): rebias, then round the 13 dropped bits to
    // nearest even. A carry out of the mantissa correctly bumps the exponent; anything that
    // lands at or past the infinity encoding (including float inf) saturates to inf.
    const std::uint32_t rebased = abs - ((127u - 15u) << 23);
    const std::uint32_t rounded = (rebased + 0xFFFu + ((rebased >> 13) & 1u)) >> 13;
    return static_cast<fp16_t>(sign | (rounded >= 0x7C00u ? 0x7C00u : rounded));
  }
  // Result is subnormal or zero: value = m * 2^(e - 150) with the implicit bit in m; the half
  // subnormal count is round(value * 2^24) = round(m >> (126 - e)).
  const std::uint32_t e = abs >> 23;
  if (e < 102) return sign;  // below half of the smallest subnormal (2^-25): rounds to zero
  const std::uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
  const std::uint32_t shift = 126 - e;  // 14..24
  const std::uint32_t kept = m >> shift;
  const std::uint32_t rest = m & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  // Rounding up from the largest subnormal yields 0x400, the smallest normal: still correct.
  const std::uint32_t rounded = kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
  return static_cast<fp16_t>(sign | rounded);
}

inline float bf16_to_fp32(bf16_t h) { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

inline bf16_t fp32_to_bf16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    // NaN: truncate and set the quiet bit, which also keeps a payload-in-low-bits NaN from
    // becoming infinity.
    return static_cast<bf16_t>((bits >> 16) | 0x0040u);
  }
  // Round to nearest even on the dropped 16 bits; overflow past the largest finite value carries
  // into the exponent and gives inf, as it should.
  return static_cast<bf16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace parley
