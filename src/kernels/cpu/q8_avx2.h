// Q8_0 KV rows (kernels/backend.h: blocks of an F16 scale d and 32 int8 q, x = q * d) read as F32,
// shared by the AVX2-compiled kernel files (ops_avx2.cpp, attention_avx2.cpp). Include it only
// from files compiled with -mavx2 -mfma -mf16c; the functions are static for the reason
// exp_avx2.h gives. Each value is float(q) * float(d), one rounding, as the reference computes it.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace parley::avx2 {

inline constexpr std::int64_t kQ8Block = 32;       // values per block
inline constexpr std::int64_t kQ8BlockBytes = 34;  // F16 scale + 32 int8

// The block's scale, broadcast.
static inline __m256 q8_0_scale(const unsigned char* block) {
  std::uint16_t h;
  std::memcpy(&h, block, sizeof h);
  return _mm256_set1_ps(_cvtsh_ss(h));
}

// Values 8 * part .. 8 * part + 7 of the block, as F32.
static inline __m256 q8_0_part(const unsigned char* block, __m256 scale, int part) {
  const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + 8 * part));
  return _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
}

// y[0 .. n) = the n values (a multiple of 32) of the blocks at `row`.
static inline void q8_0_row_to_f32(float* y, const unsigned char* row, std::int64_t n) {
  for (std::int64_t b = 0; b < n / kQ8Block; ++b, row += kQ8BlockBytes, y += kQ8Block) {
    const __m256 d = q8_0_scale(row);
    _mm256_storeu_ps(y, q8_0_part(row, d, 0));
    _mm256_storeu_ps(y + 8, q8_0_part(row, d, 1));
    _mm256_storeu_ps(y + 16, q8_0_part(row, d, 2));
    _mm256_storeu_ps(y + 24, q8_0_part(row, d, 3));
  }
}

}  // namespace parley::avx2
