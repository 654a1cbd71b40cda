// Reference (plain scalar) conversion between float rows and the GGUF tensor types of
// tensor/tensor_type.h, using the block layouts of tensor/blocks.h.
//
// Dequantization is exact: every element is computed with the float operations its format
// defines, in a fixed order, so all backends can be tested against these functions. Quantizers
// are reference quality (they fit scales by small searches), not fast; they serve model
// conversion, tests and activation quantization in the reference kernels.
//
// Row functions take raw pointers and trust their arguments: `n` must be a multiple of the block
// size (CHECKed) and the buffers must hold the row (not checked). Code that handles untrusted
// sizes uses the Status-returning dequantize()/quantize() at the bottom. Everything here is
// stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"
#include "tensor/tensor_type.h"

namespace parley {

// ---- Type dispatch ----------------------------------------------------------------------------

// Dequantizes a row of n elements; `type` must be computable (tensor_type_info(type).computable)
// and n a multiple of its block size (both CHECKed).
void dequantize_row(TensorType type, const void* src, float* dst, std::int64_t n);

// Whether quantize_row() supports `type`: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
bool has_quantizer(TensorType type);

// Quantizes a row of n elements; has_quantizer(type) and n % block size == 0 are CHECKed.
void quantize_row(TensorType type, const float* src, void* dst, std::int64_t n);

// ---- Per-type rows ----------------------------------------------------------------------------
// n counts elements; for block types it must be a multiple of the block size.

void dequantize_row_f16(const fp16_t* src, float* dst, std::int64_t n);
void dequantize_row_bf16(const bf16_t* src, float* dst, std::int64_t n);
void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, std::int64_t n);
void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, std::int64_t n);
void dequantize_row_q5_0(const BlockQ5_0* src, float* dst, std::int64_t n);
void dequantize_row_q5_1(const BlockQ5_1* src, float* dst, std::int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, std::int64_t n);
void dequantize_row_q8_1(const BlockQ8_1* src, float* dst, std::int64_t n);  // x = d * q; s unused
void dequantize_row_q2_k(const BlockQ2K* src, float* dst, std::int64_t n);
void dequantize_row_q3_k(const BlockQ3K* src, float* dst, std::int64_t n);
void dequantize_row_q4_k(const BlockQ4K* src, float* dst, std::int64_t n);
void dequantize_row_q5_k(const BlockQ5K* src, float* dst, std::int64_t n);
void dequantize_row_q6_k(const BlockQ6K* src, float* dst, std::int64_t n);
void dequantize_row_q8_k(const BlockQ8K* src, float* dst, std::int64_t n);

void quantize_row_f16(const float* src, fp16_t* dst, std::int64_t n);
void quantize_row_bf16(const float* src, bf16_t* dst, std::int64_t n);
// d = max|x| / -8 (signed, so the largest magnitude lands exactly on q = 0).
void quantize_row_q4_0(const float* src, BlockQ4_0* dst, std::int64_t n);
// Affine over [min, max].
void quantize_row_q4_1(const float* src, BlockQ4_1* dst, std::int64_t n);
// d = max|x| / -16 (signed).
void quantize_row_q5_0(const float* src, BlockQ5_0* dst, std::int64_t n);
// Affine over [min, max].
void quantize_row_q5_1(const float* src, BlockQ5_1* dst, std::int64_t n);
// d = max|x| / 127, round to nearest.
void quantize_row_q8_0(const float* src, BlockQ8_0* dst, std::int64_t n);
// As Q8_0, with s = fp16(fp16_to_fp32(d) * sum(qs)).
void quantize_row_q8_1(const float* src, BlockQ8_1* dst, std::int64_t n);
// K-quants: per-sub-block scales (and minimums) fitted by weighted least squares over a grid of
// candidates, then quantized against the super-block maxima, then the quants recomputed with the
// quantized scales.
void quantize_row_q2_k(const float* src, BlockQ2K* dst, std::int64_t n);
void quantize_row_q3_k(const float* src, BlockQ3K* dst, std::int64_t n);
void quantize_row_q4_k(const float* src, BlockQ4K* dst, std::int64_t n);
void quantize_row_q5_k(const float* src, BlockQ5K* dst, std::int64_t n);
void quantize_row_q6_k(const float* src, BlockQ6K* dst, std::int64_t n);
// Symmetric, d = max|x| / 127 (never -128, so kernels may negate quants freely); bsums filled.
void quantize_row_q8_k(const float* src, BlockQ8K* dst, std::int64_t n);

// ---- Shared layout helpers (also used by kernels) ---------------------------------------------

// Scale and minimum of sub-block j (0..7) from the 12 packed bytes of a Q4_K/Q5_K block.
inline void get_scale_min_k4(int j, const std::uint8_t* scales, std::uint8_t* sc, std::uint8_t* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = static_cast<std::uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *m = static_cast<std::uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

// Signed scale of sub-block j (0..15) from the 12 packed bytes of a Q3_K block.
inline int get_scale_q3_k(int j, const std::uint8_t* scales) {
  const int low = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// ---- Checked entry points for untrusted sizes -------------------------------------------------

// Dequantizes src into dst (dst.size() elements). Errors: kUnimplemented when the type is not
// computable; kInvalidArgument when dst.size() is not a multiple of the block size, when
// src.size() is not exactly the row's byte count, or when src is not aligned for the block
// struct. On error dst is untouched.
Status dequantize(TensorType type, std::span<const std::byte> src, std::span<float> dst);

// Quantizes src (src.size() elements) into dst, which must be exactly the row's byte count and
// aligned for the block struct. Errors as dequantize(); kUnimplemented when !has_quantizer(type).
Status quantize(TensorType type, std::span<const float> src, std::span<std::byte> dst);

}  // namespace parley
