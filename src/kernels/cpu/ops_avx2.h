// Row-level AVX2/FMA/F16C kernels of the CPU backend (everything but matmul). This file's .cpp is
// compiled with -mavx2 -mfma -mf16c; call these only when cpu_features().has_avx2_kernels().
// Each function works on the slice it is given; the backend splits work across threads.
#pragma once

#include <cstdint>

#include "tensor/fp16.h"

namespace parley::avx2 {

// Sum of squares of x[0..n).
float sum_squares(const float* x, std::int64_t n);
// y = x * scale * w.
void scale_mul(float* y, const float* x, float scale, const float* w, std::int64_t n);
void add(float* y, const float* a, const float* b, std::int64_t n);
// y = silu(g) * u with a vectorized exp (relative error < 2e-7).
void swiglu(float* y, const float* g, const float* u, std::int64_t n);
// Rotates pairs of one head: normal pairs (2i, 2i+1) or NeoX pairs (i, i + half).
void rope_head(float* x, const float* cos_t, const float* sin_t, std::int64_t half, bool neox);
void f32_to_f16(fp16_t* y, const float* x, std::int64_t n);
void f16_to_f32(float* y, const fp16_t* x, std::int64_t n);
// Dot products of q with rows of a strided F16/F32 matrix: out[j] = dot(q, key(j)) * scale.
// key(j) = base + slot(j) * stride, for j in [0, n); slot(j) = table[j / block] * block + j % block.
void dot_f16_rows(float* out, const float* q, const fp16_t* base, const std::int32_t* table, std::int64_t block,
                  std::int64_t stride, std::int64_t n, std::int64_t dim, float scale);
void dot_f32_rows(float* out, const float* q, const float* base, const std::int32_t* table, std::int64_t block,
                  std::int64_t stride, std::int64_t n, std::int64_t dim, float scale);
// acc[0..dim) += sum_j w[j] * value(j), values addressed like the keys above.
void axpy_f16_rows(float* acc, const float* w, const fp16_t* base, const std::int32_t* table, std::int64_t block,
                   std::int64_t stride, std::int64_t n, std::int64_t dim);
void axpy_f32_rows(float* acc, const float* w, const float* base, const std::int32_t* table, std::int64_t block,
                   std::int64_t stride, std::int64_t n, std::int64_t dim);
// The same over Q8_0 rows (kernels/backend.h): base points at the first row's first block, rows
// are stride_bytes apart, dim is a multiple of 32.
void dot_q8_0_rows(float* out, const float* q, const void* base, const std::int32_t* table, std::int64_t block,
                   std::int64_t stride_bytes, std::int64_t n, std::int64_t dim, float scale);
void axpy_q8_0_rows(float* acc, const float* w, const void* base, const std::int32_t* table, std::int64_t block,
                    std::int64_t stride_bytes, std::int64_t n, std::int64_t dim);
// In place: x[j] = exp(x[j] - max), returns the sum.
float exp_shift_sum(float* x, std::int64_t n, float max);
float max_of(const float* x, std::int64_t n);
// Dot product of two f32 vectors.
float dot_f32(const float* a, const float* b, std::int64_t n);

}  // namespace parley::avx2
