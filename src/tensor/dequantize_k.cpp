// Dequantization of the K-quant super-blocks (Q2_K .. Q6_K, Q8_K). Each loop walks the bytes in
// storage order, so the element index is built from (half, bit group, byte); the layouts are
// described in tensor/blocks.h.
//
// Float order, which the tests reproduce: a sub-block's scale is formed first (d * scale, and
// dmin * min), then multiplied by the quant. With f16 d and scales of at most 8 bits every product
// is exact anyway; only the final subtraction of the minimum rounds.
#include <cstdint>

#include "tensor/quantize.h"
#include "tensor/quantize_internal.h"

namespace parley {

using detail::row_blocks;

void dequantize_row_q2_k(const BlockQ2K* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b) {
    const BlockQ2K& blk = src[b];
    const float d = fp16_to_fp32(blk.d);
    const float dmin = fp16_to_fp32(blk.dmin);
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* qs = blk.qs + 32 * h;
      for (int s = 0; s < 4; ++s) {
        // Bytes 0..15 and 16..31 of this bit group belong to consecutive 16-element sub-blocks.
        for (int half16 = 0; half16 < 2; ++half16) {
          const int sub = 8 * h + 2 * s + half16;
          const float dl = d * static_cast<float>(blk.scales[sub] & 0xF);
          const float ml = dmin * static_cast<float>(blk.scales[sub] >> 4);
          for (int l = 16 * half16; l < 16 * half16 + 16; ++l) {
            *dst++ = dl * static_cast<float>((qs[l] >> (2 * s)) & 3) - ml;
          }
        }
      }
    }
  }
}

void dequantize_row_q3_k(const BlockQ3K* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b) {
    const BlockQ3K& blk = src[b];
    const float d = fp16_to_fp32(blk.d);
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* qs = blk.qs + 32 * h;
      for (int s = 0; s < 4; ++s) {
        const int mask = 1 << (4 * h + s);
        for (int half16 = 0; half16 < 2; ++half16) {
          const int sub = 8 * h + 2 * s + half16;
          const float dl = d * static_cast<float>(get_scale_q3_k(sub, blk.scales));
          for (int l = 16 * half16; l < 16 * half16 + 16; ++l) {
            const int q = ((qs[l] >> (2 * s)) & 3) - ((blk.hmask[l] & mask) ? 0 : 4);
            *dst++ = dl * static_cast<float>(q);
          }
        }
      }
    }
  }
}

void dequantize_row_q4_k(const BlockQ4K* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b) {
    const BlockQ4K& blk = src[b];
    const float d = fp16_to_fp32(blk.d);
    const float dmin = fp16_to_fp32(blk.dmin);
    for (int c = 0; c < 4; ++c) {
      const std::uint8_t* qs = blk.qs + 32 * c;
      std::uint8_t sc = 0;
      std::uint8_t m = 0;
      get_scale_min_k4(2 * c, blk.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = dmin * static_cast<float>(m);
      get_scale_min_k4(2 * c + 1, blk.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(qs[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(qs[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_k(const BlockQ5K* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b) {
    const BlockQ5K& blk = src[b];
    const float d = fp16_to_fp32(blk.d);
    const float dmin = fp16_to_fp32(blk.dmin);
    for (int c = 0; c < 4; ++c) {
      const std::uint8_t* qs = blk.qs + 32 * c;
      std::uint8_t sc = 0;
      std::uint8_t m = 0;
      get_scale_min_k4(2 * c, blk.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = dmin * static_cast<float>(m);
      get_scale_min_k4(2 * c + 1, blk.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = dmin * static_cast<float>(m);
      const int bit1 = 2 * c;
      const int bit2 = 2 * c + 1;
      for (int l = 0; l < 32; ++l) {
        const int q = (qs[l] & 0xF) | (((blk.qh[l] >> bit1) & 1) << 4);
        *dst++ = d1 * static_cast<float>(q) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int q = (qs[l] >> 4) | (((blk.qh[l] >> bit2) & 1) << 4);
        *dst++ = d2 * static_cast<float>(q) - m2;
      }
    }
  }
}

void dequantize_row_q6_k(const BlockQ6K* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK_K) {
    const BlockQ6K& blk = src[b];
    const float d = fp16_to_fp32(blk.d);
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = blk.ql + 64 * h;
      const std::uint8_t* qh = blk.qh + 32 * h;
      float* y = dst + 128 * h;
      for (int l = 0; l < 32; ++l) {
        // The four elements sharing qh[l] lie 32 apart, in sub-blocks 8h + l/16 + {0, 2, 4, 6}.
        const int sub = 8 * h + l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = (d * static_cast<float>(blk.scales[sub + 0])) * static_cast<float>(q1);
        y[l + 32] = (d * static_cast<float>(blk.scales[sub + 2])) * static_cast<float>(q2);
        y[l + 64] = (d * static_cast<float>(blk.scales[sub + 4])) * static_cast<float>(q3);
        y[l + 96] = (d * static_cast<float>(blk.scales[sub + 6])) * static_cast<float>(q4);
      }
    }
  }
}

void dequantize_row_q8_k(const BlockQ8K* src, float* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b, dst += kQK_K) {
    for (int j = 0; j < kQK_K; ++j) dst[j] = src[b].d * static_cast<float>(src[b].qs[j]);
  }
}

}  // namespace parley
