#include "kernels/cpu/ops_avx2.h"

#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/exp_avx2.h"
#include "kernels/cpu/q8_avx2.h"

namespace parley::avx2 {
namespace {

float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline const float* kv_row_f32(const float* base, const std::int32_t* table, std::int64_t block, std::int64_t stride,
                               std::int64_t j) {
  return base + (static_cast<std::int64_t>(table[j / block]) * block + j % block) * stride;
}
inline const fp16_t* kv_row_f16(const fp16_t* base, const std::int32_t* table, std::int64_t block, std::int64_t stride,
                                std::int64_t j) {
  return base + (static_cast<std::int64_t>(table[j / block]) * block + j % block) * stride;
}
inline const unsigned char* kv_row_q8_0(const void* base, const std::int32_t* table, std::int64_t block,
                                        std::int64_t stride_bytes, std::int64_t j) {
  return static_cast<const unsigned char*>(base) +
         (static_cast<std::int64_t>(table[j / block]) * block + j % block) * stride_bytes;
}

}  // namespace

float sum_squares(const float* x, std::int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_fmadd_ps(v0, v0, a0);
    a1 = _mm256_fmadd_ps(v1, v1, a1);
  }
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) s += x[i] * x[i];
  return s;
}

void scale_mul(float* y, const float* x, float scale, const float* w, std::int64_t n) {
  const __m256 s = _mm256_set1_ps(scale);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
  for (; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void add(float* y, const float* a, const float* b, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  for (; i < n; ++i) y[i] = a[i] + b[i];
}

void swiglu(float* y, const float* g, const float* u, std::int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = _mm256_loadu_ps(g + i);
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), gv));
    const __m256 silu = _mm256_div_ps(gv, _mm256_add_ps(one, e));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
  }
  for (; i < n; ++i) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void rope_head(float* x, const float* cos_t, const float* sin_t, std::int64_t half, bool neox) {
  if (neox) {
    std::int64_t i = 0;
    for (; i + 8 <= half; i += 8) {
      const __m256 c = _mm256_loadu_ps(cos_t + i), s = _mm256_loadu_ps(sin_t + i);
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + half);
      _mm256_storeu_ps(x + i, _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s)));
      _mm256_storeu_ps(x + i + half, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
    }
    for (; i < half; ++i) {
      const float x0 = x[i], x1 = x[i + half];
      x[i] = x0 * cos_t[i] - x1 * sin_t[i];
      x[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
    }
    return;
  }
  for (std::int64_t i = 0; i < half; ++i) {
    const float x0 = x[2 * i], x1 = x[2 * i + 1];
    x[2 * i] = x0 * cos_t[i] - x1 * sin_t[i];
    x[2 * i + 1] = x0 * sin_t[i] + x1 * cos_t[i];
  }
}

void f32_to_f16(fp16_t* y, const float* x, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void f16_to_f32(float* y, const fp16_t* x, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  }
  for (; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

float dot_f32(const float* a, const float* b, std::int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void dot_f16_rows(float* out, const float* q, const fp16_t* base, const std::int32_t* table, std::int64_t block,
                  std::int64_t stride, std::int64_t n, std::int64_t dim, float scale) {
  for (std::int64_t j = 0; j < n; ++j) {
    const fp16_t* k = kv_row_f16(base, table, block, stride, j);
    __m256 acc = _mm256_setzero_ps();
    std::int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
      const __m256 kv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + d)));
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv, acc);
    }
    float s = hsum(acc);
    for (; d < dim; ++d) s += q[d] * fp16_to_fp32(k[d]);
    out[j] = s * scale;
  }
}

void dot_f32_rows(float* out, const float* q, const float* base, const std::int32_t* table, std::int64_t block,
                  std::int64_t stride, std::int64_t n, std::int64_t dim, float scale) {
  for (std::int64_t j = 0; j < n; ++j) out[j] = dot_f32(q, kv_row_f32(base, table, block, stride, j), dim) * scale;
}

void axpy_f16_rows(float* acc, const float* w, const fp16_t* base, const std::int32_t* table, std::int64_t block,
                   std::int64_t stride, std::int64_t n, std::int64_t dim) {
  for (std::int64_t j = 0; j < n; ++j) {
    const fp16_t* v = kv_row_f16(base, table, block, stride, j);
    const __m256 wj = _mm256_set1_ps(w[j]);
    std::int64_t d = 0;
    for (; d + 8 <= dim; d += 8) {
      const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + d)));
      _mm256_storeu_ps(acc + d, _mm256_fmadd_ps(wj, vv, _mm256_loadu_ps(acc + d)));
    }
    for (; d < dim; ++d) acc[d] += w[j] * fp16_to_fp32(v[d]);
  }
}

void axpy_f32_rows(float* acc, const float* w, const float* base, const std::int32_t* table, std::int64_t block,
                   std::int64_t stride, std::int64_t n, std::int64_t dim) {
  for (std::int64_t j = 0; j < n; ++j) {
    const float* v = kv_row_f32(base, table, block, stride, j);
    const __m256 wj = _mm256_set1_ps(w[j]);
    std::int64_t d = 0;
    for (; d + 8 <= dim; d += 8) _mm256_storeu_ps(acc + d, _mm256_fmadd_ps(wj, _mm256_loadu_ps(v + d), _mm256_loadu_ps(acc + d)));
    for (; d < dim; ++d) acc[d] += w[j] * v[d];
  }
}

void dot_q8_0_rows(float* out, const float* q, const void* base, const std::int32_t* table, std::int64_t block,
                   std::int64_t stride_bytes, std::int64_t n, std::int64_t dim, float scale) {
  for (std::int64_t j = 0; j < n; ++j) {
    const unsigned char* k = kv_row_q8_0(base, table, block, stride_bytes, j);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (std::int64_t d = 0; d < dim; d += kQ8Block, k += kQ8BlockBytes) {
      const __m256 sc = q8_0_scale(k);
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), q8_0_part(k, sc, 0), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), q8_0_part(k, sc, 1), acc1);
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 16), q8_0_part(k, sc, 2), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 24), q8_0_part(k, sc, 3), acc1);
    }
    out[j] = hsum(_mm256_add_ps(acc0, acc1)) * scale;
  }
}

void axpy_q8_0_rows(float* acc, const float* w, const void* base, const std::int32_t* table, std::int64_t block,
                    std::int64_t stride_bytes, std::int64_t n, std::int64_t dim) {
  for (std::int64_t j = 0; j < n; ++j) {
    const unsigned char* v = kv_row_q8_0(base, table, block, stride_bytes, j);
    const __m256 wj = _mm256_set1_ps(w[j]);
    for (std::int64_t d = 0; d < dim; d += kQ8Block, v += kQ8BlockBytes) {
      const __m256 sc = q8_0_scale(v);
      for (int part = 0; part < 4; ++part) {
        float* a = acc + d + 8 * part;
        _mm256_storeu_ps(a, _mm256_fmadd_ps(wj, q8_0_part(v, sc, part), _mm256_loadu_ps(a)));
      }
    }
  }
}

float max_of(const float* x, std::int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  __m128 lo = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
  float r = _mm_cvtss_f32(lo);
  for (; i < n; ++i) r = std::max(r, x[i]);
  return r;
}

float exp_shift_sum(float* x, std::int64_t n, float max) {
  const __m256 mv = _mm256_set1_ps(max);
  __m256 acc = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    _mm256_storeu_ps(x + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float s = hsum(acc);
  for (; i < n; ++i) s += (x[i] = std::exp(x[i] - max));
  return s;
}

}  // namespace parley::avx2
