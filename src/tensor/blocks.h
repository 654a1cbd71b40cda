// Block structs of the quantized GGUF tensor types, byte-for-byte as they are stored in files, so
// a memory-mapped row can be read as an array of these. The element layout of every type (which
// bits of which byte hold element e) is written next to each struct; tensor/quantize.h holds the
// math. All fields are naturally aligned, so there is no padding and no packing pragma: the
// static_asserts below pin each size to the block_bytes of tensor/tensor_type.cpp.
//
// Alignment: a block needs 2-byte alignment (4 for BlockQ8K). GGUF aligns tensor data to at
// least 8 bytes and every block size is a multiple of the alignment, so rows in a mapped file
// are always suitably aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "tensor/fp16.h"
#include "tensor/tensor_type.h"

namespace parley {

inline constexpr std::int64_t kQK4_0 = 32;
inline constexpr std::int64_t kQK4_1 = 32;
inline constexpr std::int64_t kQK5_0 = 32;
inline constexpr std::int64_t kQK5_1 = 32;
inline constexpr std::int64_t kQK8_0 = 32;
inline constexpr std::int64_t kQK8_1 = 32;

// 32 elements; x[j] = (q[j] - 8) * d. Element j < 16 is the low nibble of qs[j], element j + 16
// the high nibble of qs[j].
struct BlockQ4_0 {
  fp16_t d;
  std::uint8_t qs[kQK4_0 / 2];
};

// 32 elements; x[j] = q[j] * d + m, nibbles as BlockQ4_0.
struct BlockQ4_1 {
  fp16_t d;
  fp16_t m;
  std::uint8_t qs[kQK4_1 / 2];
};

// 32 elements; q = nibble | (bit << 4) with the nibbles as BlockQ4_0 and bit j of the
// little-endian 32-bit qh the fifth bit of element j; x = (q - 16) * d.
struct BlockQ5_0 {
  fp16_t d;
  std::uint8_t qh[4];
  std::uint8_t qs[kQK5_0 / 2];
};

// 32 elements; q as BlockQ5_0; x = q * d + m.
struct BlockQ5_1 {
  fp16_t d;
  fp16_t m;
  std::uint8_t qh[4];
  std::uint8_t qs[kQK5_1 / 2];
};

// 32 elements; x[j] = qs[j] * d.
struct BlockQ8_0 {
  fp16_t d;
  std::int8_t qs[kQK8_0];
};

// 32 elements of an activation row; as BlockQ8_0 plus s = d * sum(qs), which lets a dot product
// with an affine (Q4_1/Q5_1) weight block fold the weight minimum in with one multiply.
struct BlockQ8_1 {
  fp16_t d;
  fp16_t s;
  std::int8_t qs[kQK8_1];
};

// K-quants: super-blocks of kQK_K = 256 elements. In the 2-, 3- and 6-bit types the quants of
// one half (128 elements) are spread over 32 bytes (or 64 for 6-bit low nibbles) so that element
// 128h + 32s + l sits in byte l of that half, at bit group s; this keeps a SIMD lane per byte.

// 16 sub-blocks of 16 with a 4-bit scale (low nibble of scales[j]) and a 4-bit minimum (high
// nibble). Element 128h + 32s + l (h in 0..1, s in 0..3, l in 0..31) is bits (2s, 2s+1) of
// qs[32h + l]; x = d * scale[e / 16] * q - dmin * min[e / 16].
struct BlockQ2K {
  std::uint8_t scales[kQK_K / 16];
  std::uint8_t qs[kQK_K / 4];
  fp16_t d;
  fp16_t dmin;
};

// 16 sub-blocks of 16 with 6-bit signed scales stored + 32. Scale j: low 4 bits are
// (j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4), high 2 bits are
// (scales[8 + j % 4] >> (2 * (j / 4))) & 3. Element 128h + 32s + l has its low 2 bits at bits
// (2s, 2s+1) of qs[32h + l] and its high bit at bit (4h + s) of hmask[l]; q = low2 - (high ? 0 : 4)
// in -4..3, x = d * scale[e / 16] * q.
struct BlockQ3K {
  std::uint8_t hmask[kQK_K / 8];
  std::uint8_t qs[kQK_K / 4];
  std::uint8_t scales[12];
  fp16_t d;
};

// 8 sub-blocks of 32, each with a 6-bit scale and 6-bit minimum packed into 12 bytes (see
// get_scale_min_k4 in tensor/quantize.h). Element 64c + l (c in 0..3, l in 0..31) is the low
// nibble of qs[32c + l] (sub-block 2c), element 64c + 32 + l its high nibble (sub-block 2c + 1);
// x = d * sc * q - dmin * m.
struct BlockQ4K {
  fp16_t d;
  fp16_t dmin;
  std::uint8_t scales[12];
  std::uint8_t qs[kQK_K / 2];
};

// As BlockQ4K with a fifth bit: element 64c + l takes bit 2c of qh[l], element 64c + 32 + l
// bit 2c + 1 of qh[l], as bit 4 of q.
struct BlockQ5K {
  fp16_t d;
  fp16_t dmin;
  std::uint8_t scales[12];
  std::uint8_t qh[kQK_K / 8];
  std::uint8_t qs[kQK_K / 2];
};

// 16 sub-blocks of 16 with int8 scales. For half h and l in 0..31 (ql' = ql + 64h,
// qh' = qh + 32h) elements 128h + l, +32, +64, +96 have low nibbles ql'[l] & 0xF, ql'[l+32] & 0xF,
// ql'[l] >> 4, ql'[l+32] >> 4 and high 2 bits (qh'[l] >> 0, 2, 4, 6) & 3;
// q = (low | high << 4) - 32, x = d * scales[e / 16] * q.
struct BlockQ6K {
  std::uint8_t ql[kQK_K / 2];
  std::uint8_t qh[kQK_K / 4];
  std::int8_t scales[kQK_K / 16];
  fp16_t d;
};

// 256 elements of an activation row: x = d * qs (d is a full float), plus the sum of each group
// of 16 quants so that kernels can apply K-quant minimums without summing the activations again.
struct BlockQ8K {
  float d;
  std::int8_t qs[kQK_K];
  std::int16_t bsums[kQK_K / 16];
};

#define PARLEY_CHECK_BLOCK(Block, bytes)                                      \
  static_assert(sizeof(Block) == (bytes), #Block " does not match the format"); \
  static_assert(std::is_trivially_copyable_v<Block> && std::is_standard_layout_v<Block>)
PARLEY_CHECK_BLOCK(BlockQ4_0, 18);
PARLEY_CHECK_BLOCK(BlockQ4_1, 20);
PARLEY_CHECK_BLOCK(BlockQ5_0, 22);
PARLEY_CHECK_BLOCK(BlockQ5_1, 24);
PARLEY_CHECK_BLOCK(BlockQ8_0, 34);
PARLEY_CHECK_BLOCK(BlockQ8_1, 36);
PARLEY_CHECK_BLOCK(BlockQ2K, 84);
PARLEY_CHECK_BLOCK(BlockQ3K, 110);
PARLEY_CHECK_BLOCK(BlockQ4K, 144);
PARLEY_CHECK_BLOCK(BlockQ5K, 176);
PARLEY_CHECK_BLOCK(BlockQ6K, 210);
PARLEY_CHECK_BLOCK(BlockQ8K, 292);
#undef PARLEY_CHECK_BLOCK

// Offsets that the comments above promise (the sizes alone would not catch two swapped fields).
static_assert(offsetof(BlockQ2K, d) == 80 && offsetof(BlockQ3K, scales) == 96 && offsetof(BlockQ3K, d) == 108);
static_assert(offsetof(BlockQ4K, scales) == 4 && offsetof(BlockQ4K, qs) == 16);
static_assert(offsetof(BlockQ5K, qh) == 16 && offsetof(BlockQ5K, qs) == 48);
static_assert(offsetof(BlockQ6K, scales) == 192 && offsetof(BlockQ6K, d) == 208);
static_assert(offsetof(BlockQ8K, bsums) == 260);

}  // namespace parley
