// Rows of the 16-bit float types and the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q8_1): dequantization and reference quantizers.
#include <cmath>
#include <cstdint>

#include "tensor/quantize.h"
#include "tensor/quantize_internal.h"

namespace parley {

using detail::nearest_int_clamped;
using detail::round_to_fp16;
using detail::row_blocks;

namespace {

constexpr int kHalf = 16;  // a 32-element block keeps elements j and j + 16 in one byte

// Largest magnitude of a block, with its sign: the symmetric types map it exactly onto their most
// negative quant, which has one more level than the positive side.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  return amax;
}

void min_max(const float* x, int n, float* min, float* max) {
  *min = x[0];
  *max = x[0];
  for (int j = 1; j < n; ++j) {
    *min = std::fmin(*min, x[j]);
    *max = std::fmax(*max, x[j]);
  }
}

float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// qh as the little-endian 32-bit word the format defines, independent of host byte order.
std::uint32_t load_qh(const std::uint8_t* qh) {
  return static_cast<std::uint32_t>(qh[0]) | (static_cast<std::uint32_t>(qh[1]) << 8) |
         (static_cast<std::uint32_t>(qh[2]) << 16) | (static_cast<std::uint32_t>(qh[3]) << 24);
}

void store_qh(std::uint32_t bits, std::uint8_t* qh) {
  for (int i = 0; i < 4; ++i) qh[i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

}  // namespace

// ---- 16-bit floats ------------------------------------------------------------------------------

void dequantize_row_f16(const fp16_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void dequantize_row_bf16(const bf16_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(src[i]);
}

void quantize_row_f16(const float* src, fp16_t* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

void quantize_row_bf16(const float* src, bf16_t* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = fp32_to_bf16(src[i]);
}

// ---- Dequantization -----------------------------------------------------------------------------

void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK4_0);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK4_0) {
    const float d = fp16_to_fp32(src[b].d);
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>((src[b].qs[j] & 0xF) - 8) * d;
      dst[j + kHalf] = static_cast<float>((src[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK4_1);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK4_1) {
    const float d = fp16_to_fp32(src[b].d);
    const float m = fp16_to_fp32(src[b].m);
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>(src[b].qs[j] & 0xF) * d + m;
      dst[j + kHalf] = static_cast<float>(src[b].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_row_q5_0(const BlockQ5_0* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK5_0);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK5_0) {
    const float d = fp16_to_fp32(src[b].d);
    const std::uint32_t qh = load_qh(src[b].qh);
    for (int j = 0; j < kHalf; ++j) {
      const int lo = (src[b].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (src[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + kHalf)) & 1u) << 4);
      dst[j] = static_cast<float>(lo - 16) * d;
      dst[j + kHalf] = static_cast<float>(hi - 16) * d;
    }
  }
}

void dequantize_row_q5_1(const BlockQ5_1* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK5_1);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK5_1) {
    const float d = fp16_to_fp32(src[b].d);
    const float m = fp16_to_fp32(src[b].m);
    const std::uint32_t qh = load_qh(src[b].qh);
    for (int j = 0; j < kHalf; ++j) {
      const int lo = (src[b].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
      const int hi = (src[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + kHalf)) & 1u) << 4);
      dst[j] = static_cast<float>(lo) * d + m;
      dst[j + kHalf] = static_cast<float>(hi) * d + m;
    }
  }
}

void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK8_0);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK8_0) {
    const float d = fp16_to_fp32(src[b].d);
    for (int j = 0; j < kQK8_0; ++j) dst[j] = static_cast<float>(src[b].qs[j]) * d;
  }
}

void dequantize_row_q8_1(const BlockQ8_1* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK8_1);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK8_1) {
    const float d = fp16_to_fp32(src[b].d);
    for (int j = 0; j < kQK8_1; ++j) dst[j] = static_cast<float>(src[b].qs[j]) * d;
  }
}

// ---- Quantization -------------------------------------------------------------------------------

void quantize_row_q4_0(const float* src, BlockQ4_0* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK4_0);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK4_0) {
    const float d = round_to_fp16(signed_absmax(src, kQK4_0) / -8.0f);
    const float id = inverse_or_zero(d);
    dst[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kHalf; ++j) {
      const int lo = nearest_int_clamped(src[j] * id, -8, 7) + 8;
      const int hi = nearest_int_clamped(src[j + kHalf] * id, -8, 7) + 8;
      dst[b].qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_row_q4_1(const float* src, BlockQ4_1* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK4_1);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK4_1) {
    float min = 0.0f;
    float max = 0.0f;
    min_max(src, kQK4_1, &min, &max);
    const float d = round_to_fp16((max - min) / 15.0f);
    const float m = round_to_fp16(min);
    const float id = inverse_or_zero(d);
    dst[b].d = fp32_to_fp16(d);
    dst[b].m = fp32_to_fp16(m);
    for (int j = 0; j < kHalf; ++j) {
      const int lo = nearest_int_clamped((src[j] - m) * id, 0, 15);
      const int hi = nearest_int_clamped((src[j + kHalf] - m) * id, 0, 15);
      dst[b].qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_row_q5_0(const float* src, BlockQ5_0* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK5_0);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK5_0) {
    const float d = round_to_fp16(signed_absmax(src, kQK5_0) / -16.0f);
    const float id = inverse_or_zero(d);
    dst[b].d = fp32_to_fp16(d);
    std::uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int lo = nearest_int_clamped(src[j] * id, -16, 15) + 16;
      const int hi = nearest_int_clamped(src[j + kHalf] * id, -16, 15) + 16;
      dst[b].qs[j] = static_cast<std::uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      qh |= static_cast<std::uint32_t>(lo >> 4) << j;
      qh |= static_cast<std::uint32_t>(hi >> 4) << (j + kHalf);
    }
    store_qh(qh, dst[b].qh);
  }
}

void quantize_row_q5_1(const float* src, BlockQ5_1* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK5_1);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK5_1) {
    float min = 0.0f;
    float max = 0.0f;
    min_max(src, kQK5_1, &min, &max);
    const float d = round_to_fp16((max - min) / 31.0f);
    const float m = round_to_fp16(min);
    const float id = inverse_or_zero(d);
    dst[b].d = fp32_to_fp16(d);
    dst[b].m = fp32_to_fp16(m);
    std::uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int lo = nearest_int_clamped((src[j] - m) * id, 0, 31);
      const int hi = nearest_int_clamped((src[j + kHalf] - m) * id, 0, 31);
      dst[b].qs[j] = static_cast<std::uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      qh |= static_cast<std::uint32_t>(lo >> 4) << j;
      qh |= static_cast<std::uint32_t>(hi >> 4) << (j + kHalf);
    }
    store_qh(qh, dst[b].qh);
  }
}

void quantize_row_q8_0(const float* src, BlockQ8_0* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK8_0);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK8_0) {
    const float d = round_to_fp16(absmax(src, kQK8_0) / 127.0f);
    const float id = inverse_or_zero(d);
    dst[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) {
      dst[b].qs[j] = static_cast<std::int8_t>(nearest_int_clamped(src[j] * id, -127, 127));
    }
  }
}

void quantize_row_q8_1(const float* src, BlockQ8_1* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK8_1);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK8_1) {
    const float d = round_to_fp16(absmax(src, kQK8_1) / 127.0f);
    const float id = inverse_or_zero(d);
    int sum = 0;
    for (int j = 0; j < kQK8_1; ++j) {
      const int q = nearest_int_clamped(src[j] * id, -127, 127);
      dst[b].qs[j] = static_cast<std::int8_t>(q);
      sum += q;
    }
    dst[b].d = fp32_to_fp16(d);
    // From the stored d, so that kernels see s == d * sum(qs) up to the f16 rounding of s alone.
    dst[b].s = fp32_to_fp16(d * static_cast<float>(sum));
  }
}

}  // namespace parley
