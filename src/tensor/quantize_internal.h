// Helpers shared by the quantize_*.cpp files of this module; not part of its public API.
#pragma once

#include <bit>
#include <cstdint>

#include "base/check.h"
#include "tensor/fp16.h"

namespace parley::detail {

// Blocks in a row of n elements; a partial block is a caller bug (sizes from files are checked
// by tensor_row_bytes before they reach the row functions).
inline std::int64_t row_blocks(std::int64_t n, std::int64_t block_size) {
  CHECK(n >= 0 && n % block_size == 0, "row of {} elements is not a whole number of {}-element blocks", n,
        block_size);
  return n / block_size;
}

// round(v) clamped to [lo, hi], ties to even. Clamping first keeps the magic-number rounding in
// range, and the comparison form sends NaN to `lo` instead of into an undefined float->int cast.
inline int nearest_int_clamped(float v, int lo, int hi) {
  v = v > static_cast<float>(lo) ? v : static_cast<float>(lo);
  v = v < static_cast<float>(hi) ? v : static_cast<float>(hi);
  // Adding 1.5 * 2^23 leaves exactly the integer part in the low mantissa bits (|v| < 2^22), rounded
  // by the FPU's default round-to-nearest-even; cheaper than a nearbyint() library call.
  const float shifted = v + 12582912.0f;
  return static_cast<int>(std::bit_cast<std::uint32_t>(shifted) & 0x7FFFFFu) - 0x400000;
}

// The value a float scale has once stored as f16: quants must be computed against this, not the
// unrounded scale, or every element pays the scale's rounding error on top of its own.
inline float round_to_fp16(float v) { return fp16_to_fp32(fp32_to_fp16(v)); }

}  // namespace parley::detail
