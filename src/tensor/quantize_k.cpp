// Reference quantizers of the K-quants. Two families share the fitting code here:
//   affine    (Q2_K, Q4_K, Q5_K): x ~ d*sc*q - dmin*m with q >= 0 and a non-negative minimum,
//   symmetric (Q3_K, Q6_K):       x ~ d*sc*q with signed q and signed sub-block scales.
// Each sub-block's float parameters are fitted first (weighted least squares over a grid of
// candidate scales, then a few rounds of requantize/refit), the sub-block parameters are then
// quantized against the super-block maximum, each integer parameter is nudged by +-1 where that
// lowers the error, and the quants are recomputed with the parameters exactly as stored. The
// weights favour large elements (a dot product feels their errors most) over a floor of the block
// RMS so that small elements still count.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tensor/quantize.h"
#include "tensor/quantize_internal.h"

namespace parley {

using detail::nearest_int_clamped;
using detail::round_to_fp16;
using detail::row_blocks;

namespace {

constexpr int kMaxSub = 16;      // sub-blocks per super-block, at most
constexpr int kMaxSubSize = 32;  // elements per sub-block, at most
// Candidate inverse scales are nmax / range * (1 + k * kGridStep) for |k| <= kGridSteps: +-25%,
// because for blocks this small the best scale often clips the extreme element or leaves it short.
constexpr int kGridSteps = 10;
constexpr float kGridStep = 0.025f;
constexpr int kRefineRounds = 4;
// Sums over a sub-block use this many independent accumulators (sub-blocks are multiples of 4):
// one serial chain of float adds would bound the speed by the add latency.
constexpr int kLanes = 4;

template <typename T>
T lane_sum(const T (&lanes)[kLanes]) {
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

void importance_weights(const float* x, int n, float* w) {
  float sum_x2 = 0.0f;
  for (int i = 0; i < n; ++i) sum_x2 += x[i] * x[i];
  const float floor = std::sqrt(sum_x2 / static_cast<float>(n));
  for (int i = 0; i < n; ++i) w[i] = floor + std::fabs(x[i]);
}

float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// ---- Affine fits --------------------------------------------------------------------------------

// x ~ scale * q + offset with q in 0..nmax; offset <= 0 because the formats store -offset as an
// unsigned minimum.
struct Affine {
  float scale = 0.0f;
  float offset = 0.0f;
};

// Weighted sums of one sub-block: the x-only ones are shared by every candidate, the others
// belong to one rounding of the quants. Double, because the error formula below cancels.
struct FitSums {
  double sw = 0, sx = 0, sxx = 0;
  double sq = 0, sqq = 0, sqx = 0;
};

// Rounds q = (x - origin) * iscale to 0..nmax and gathers the quant sums; the candidate search
// only needs these, not the quants themselves.
void round_and_sum(const float* x, const float* w, int n, int nmax, float origin, float iscale, FitSums* s) {
  double sq[kLanes] = {};
  double sqq[kLanes] = {};
  double sqx[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const double q = nearest_int_clamped((x[i + k] - origin) * iscale, 0, nmax);
      const double wq = w[i + k] * q;
      sq[k] += wq;
      sqq[k] += wq * q;
      sqx[k] += wq * x[i + k];
    }
  }
  s->sq = lane_sum(sq);
  s->sqq = lane_sum(sqq);
  s->sqx = lane_sum(sqx);
}

// Weighted squared error of scale * q + offset against x, from the sums alone.
double affine_sse(const FitSums& s, Affine a) {
  const double k = a.scale;
  const double b = a.offset;
  const double err = s.sxx - 2 * k * s.sqx - 2 * b * s.sx + k * k * s.sqq + 2 * k * b * s.sq + b * b * s.sw;
  return err > 0 ? err : 0;
}

// Weighted least-squares (scale, offset) for the rounded quants, with offset <= 0. False when the
// quants cannot determine a positive scale (all equal, or anti-correlated with x).
bool solve_affine(const FitSums& s, Affine* out) {
  const double det = s.sw * s.sqq - s.sq * s.sq;
  if (!(det > 0) || !(s.sqq > 0)) return false;
  double scale = (s.sw * s.sqx - s.sq * s.sx) / det;
  double offset = (s.sqq * s.sx - s.sq * s.sqx) / det;
  if (offset > 0) {  // the constrained optimum lies on the boundary
    offset = 0;
    scale = s.sqx / s.sqq;
  }
  if (!(scale > 0)) return false;
  out->scale = static_cast<float>(scale);
  out->offset = static_cast<float>(offset);
  return true;
}

// Best affine parameters for one sub-block of n elements.
Affine fit_affine(const float* x, const float* w, int n, int nmax) {
  float lo = 0.0f;  // clamped: the offset may not be positive
  float hi = x[0];
  FitSums s;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    s.sw += w[i];
    s.sx += static_cast<double>(w[i]) * x[i];
    s.sxx += static_cast<double>(w[i]) * x[i] * x[i];
  }
  if (!(hi > lo)) return Affine{0.0f, lo};  // constant block (or NaN): the minimum alone
  Affine best{(hi - lo) / static_cast<float>(nmax), lo};
  round_and_sum(x, w, n, nmax, best.offset, 1.0f / best.scale, &s);
  double best_err = affine_sse(s, best);
  for (int k = -kGridSteps; k <= kGridSteps; ++k) {
    const float iscale = static_cast<float>(nmax) * (1.0f + static_cast<float>(k) * kGridStep) / (hi - lo);
    round_and_sum(x, w, n, nmax, lo, iscale, &s);
    Affine cand;
    if (!solve_affine(s, &cand)) continue;
    const double err = affine_sse(s, cand);
    if (err < best_err) {
      best_err = err;
      best = cand;
    }
  }
  // Alternate rounding against the best fit and refitting; each half-step can only lower the error.
  for (int round = 0; round < kRefineRounds; ++round) {
    round_and_sum(x, w, n, nmax, best.offset, 1.0f / best.scale, &s);
    Affine cand;
    if (!solve_affine(s, &cand)) break;
    const double err = affine_sse(s, cand);
    if (!(err < best_err)) break;
    best_err = err;
    best = cand;
  }
  return best;
}

// One super-block of an affine K-quant after quantization, with parameters as stored.
struct AffineBlock {
  float d = 0.0f;
  float dmin = 0.0f;
  std::uint8_t sc[kMaxSub] = {};
  std::uint8_t m[kMaxSub] = {};
  std::uint8_t q[kQK_K] = {};
};

// Quants of one sub-block for stored integer parameters; returns the weighted error.
float requantize_affine(const float* x, const float* w, int n, int nmax, float d, float dmin, int sc, int m,
                        std::uint8_t* q) {
  const float scale = d * static_cast<float>(sc);
  const float min = dmin * static_cast<float>(m);
  const float inv = inverse_or_zero(scale);
  float terms[kMaxSubSize];
  for (int i = 0; i < n; ++i) {
    const int qi = nearest_int_clamped((x[i] + min) * inv, 0, nmax);
    q[i] = static_cast<std::uint8_t>(qi);
    const float diff = scale * static_cast<float>(qi) - min - x[i];
    terms[i] = w[i] * diff * diff;
  }
  float err[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) err[k] += terms[i + k];
  }
  return lane_sum(err);
}

// Integer parameters and quants of every sub-block for the given stored multipliers. Each
// sub-block also tries its parameters +-1, because rounding scale and minimum separately ignores
// how they trade off.
void quantize_affine_params(const float* x, const float* w, const Affine* fits, int sub_size, int nmax,
                            int param_max, float d, float dmin, AffineBlock* out) {
  const int n_sub = static_cast<int>(kQK_K) / sub_size;
  const float inv_d = inverse_or_zero(d);
  const float inv_dmin = inverse_or_zero(dmin);
  std::uint8_t q_try[kMaxSubSize];
  for (int j = 0; j < n_sub; ++j) {
    const float* xs = x + j * sub_size;
    const float* ws = w + j * sub_size;
    std::uint8_t* qs = out->q + j * sub_size;
    const int sc0 = nearest_int_clamped(fits[j].scale * inv_d, 0, param_max);
    const int m0 = nearest_int_clamped(-fits[j].offset * inv_dmin, 0, param_max);
    int best_sc = sc0;
    int best_m = m0;
    float best_err = requantize_affine(xs, ws, sub_size, nmax, d, dmin, sc0, m0, qs);
    for (int sc = std::max(sc0 - 1, 0); sc <= std::min(sc0 + 1, param_max); ++sc) {
      for (int m = std::max(m0 - 1, 0); m <= std::min(m0 + 1, param_max); ++m) {
        if (sc == sc0 && m == m0) continue;
        const float err = requantize_affine(xs, ws, sub_size, nmax, d, dmin, sc, m, q_try);
        if (err < best_err) {
          best_err = err;
          best_sc = sc;
          best_m = m;
        }
      }
    }
    if (best_sc != sc0 || best_m != m0) requantize_affine(xs, ws, sub_size, nmax, d, dmin, best_sc, best_m, qs);
    out->sc[j] = static_cast<std::uint8_t>(best_sc);
    out->m[j] = static_cast<std::uint8_t>(best_m);
  }
  out->d = d;
  out->dmin = dmin;
}

void quantize_affine_block(const float* x, int sub_size, int nmax, int param_max, AffineBlock* out) {
  const int n_sub = static_cast<int>(kQK_K) / sub_size;
  float w[kQK_K];
  importance_weights(x, static_cast<int>(kQK_K), w);
  Affine fits[kMaxSub];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < n_sub; ++j) {
    fits[j] = fit_affine(x + j * sub_size, w + j * sub_size, sub_size, nmax);
    max_scale = std::max(max_scale, fits[j].scale);
    max_min = std::max(max_min, -fits[j].offset);
  }
  const float d = round_to_fp16(max_scale / static_cast<float>(param_max));
  const float dmin = round_to_fp16(max_min / static_cast<float>(param_max));
  quantize_affine_params(x, w, fits, sub_size, nmax, param_max, d, dmin, out);
}

// The 12-byte scale/min packing of Q4_K and Q5_K (inverse of get_scale_min_k4).
void pack_scale_min_k4(const std::uint8_t* sc, const std::uint8_t* m, std::uint8_t* scales) {
  for (int j = 0; j < 4; ++j) {
    scales[j] = sc[j];
    scales[j + 4] = m[j];
  }
  for (int j = 4; j < 8; ++j) {
    scales[j + 4] = static_cast<std::uint8_t>((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
    scales[j - 4] = static_cast<std::uint8_t>(scales[j - 4] | ((sc[j] >> 4) << 6));
    scales[j] = static_cast<std::uint8_t>(scales[j] | ((m[j] >> 4) << 6));
  }
}

// ---- Symmetric fits -----------------------------------------------------------------------------

// Best signed scale for x ~ scale * q with q in -nmax..nmax-1.
float fit_symmetric(const float* x, const float* w, int n, int nmax) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (!(amax > 0.0f)) return 0.0f;
  // For fixed quants the best scale is sum(w x q) / sum(w q^2), leaving an error of
  // sum(w x^2) - sum(w x q)^2 / sum(w q^2): maximizing the last term picks the candidate.
  auto score = [&](float iscale, float* scale) {
    float sxq_lanes[kLanes] = {};
    float sqq_lanes[kLanes] = {};
    for (int i = 0; i < n; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) {
        const auto q = static_cast<float>(nearest_int_clamped(iscale * x[i + k], -nmax, nmax - 1));
        const float wq = w[i + k] * q;
        sxq_lanes[k] += wq * x[i + k];
        sqq_lanes[k] += wq * q;
      }
    }
    const float sxq = lane_sum(sxq_lanes);
    const float sqq = lane_sum(sqq_lanes);
    *scale = sqq > 0.0f ? sxq / sqq : 0.0f;
    return sqq > 0.0f ? sxq * sxq / sqq : 0.0f;
  };
  float best_scale = 0.0f;
  float best_score = -1.0f;
  for (int k = -kGridSteps; k <= kGridSteps; ++k) {
    // The largest element lands on the negative end, which has the extra level.
    const float iscale = -static_cast<float>(nmax) * (1.0f + static_cast<float>(k) * kGridStep) / max;
    float scale = 0.0f;
    const float s = score(iscale, &scale);
    if (s > best_score) {
      best_score = s;
      best_scale = scale;
    }
  }
  for (int round = 0; round < kRefineRounds && best_scale != 0.0f; ++round) {
    float scale = 0.0f;
    const float s = score(1.0f / best_scale, &scale);
    if (!(s > best_score)) break;
    best_score = s;
    best_scale = scale;
  }
  return best_scale;
}

struct SymmetricBlock {
  float d = 0.0f;
  int sc[kMaxSub] = {};
  int q[kQK_K] = {};
};

float requantize_symmetric(const float* x, const float* w, int n, int nmax, float ds, int* q) {
  const float inv = inverse_or_zero(ds);
  float err[kLanes] = {};
  for (int i = 0; i < n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      q[i + k] = nearest_int_clamped(x[i + k] * inv, -nmax, nmax - 1);
      const float diff = ds * static_cast<float>(q[i + k]) - x[i + k];
      err[k] += w[i + k] * diff * diff;
    }
  }
  return lane_sum(err);
}

// 16 sub-blocks of 16; the signed sub-block scales are stored in scale_lo..-scale_lo-1.
void quantize_symmetric_block(const float* x, int nmax, int scale_lo, SymmetricBlock* out) {
  constexpr int kSub = 16;
  float w[kQK_K];
  importance_weights(x, static_cast<int>(kQK_K), w);
  float scales[kSub];
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kSub; ++j) {
    scales[j] = fit_symmetric(x + kSub * j, w + kSub * j, kSub, nmax);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max = scales[j];
    }
  }
  out->d = round_to_fp16(max / static_cast<float>(scale_lo));
  const float inv_d = inverse_or_zero(out->d);
  const int scale_hi = -scale_lo - 1;
  int q_try[kSub];
  for (int j = 0; j < kSub; ++j) {
    const float* xs = x + kSub * j;
    const float* ws = w + kSub * j;
    int* qs = out->q + kSub * j;
    const int sc0 = nearest_int_clamped(scales[j] * inv_d, scale_lo, scale_hi);
    int best_sc = sc0;
    float best_err = requantize_symmetric(xs, ws, kSub, nmax, out->d * static_cast<float>(sc0), qs);
    for (int sc = std::max(sc0 - 1, scale_lo); sc <= std::min(sc0 + 1, scale_hi); ++sc) {
      if (sc == sc0) continue;
      const float err = requantize_symmetric(xs, ws, kSub, nmax, out->d * static_cast<float>(sc), q_try);
      if (err < best_err) {
        best_err = err;
        best_sc = sc;
      }
    }
    if (best_sc != sc0) requantize_symmetric(xs, ws, kSub, nmax, out->d * static_cast<float>(best_sc), qs);
    out->sc[j] = best_sc;
  }
}

}  // namespace

// ---- Affine types -------------------------------------------------------------------------------

void quantize_row_q2_k(const float* src, BlockQ2K* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  AffineBlock blk;
  for (std::int64_t b = 0; b < nb; ++b, src += kQK_K) {
    quantize_affine_block(src, 16, 3, 15, &blk);
    BlockQ2K& out = dst[b];
    out.d = fp32_to_fp16(blk.d);
    out.dmin = fp32_to_fp16(blk.dmin);
    for (int j = 0; j < 16; ++j) out.scales[j] = static_cast<std::uint8_t>(blk.sc[j] | (blk.m[j] << 4));
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; ++l) {
        int byte = 0;
        for (int s = 0; s < 4; ++s) byte |= blk.q[128 * h + 32 * s + l] << (2 * s);
        out.qs[32 * h + l] = static_cast<std::uint8_t>(byte);
      }
    }
  }
}

void quantize_row_q4_k(const float* src, BlockQ4K* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  AffineBlock blk;
  for (std::int64_t b = 0; b < nb; ++b, src += kQK_K) {
    quantize_affine_block(src, 32, 15, 63, &blk);
    BlockQ4K& out = dst[b];
    out.d = fp32_to_fp16(blk.d);
    out.dmin = fp32_to_fp16(blk.dmin);
    pack_scale_min_k4(blk.sc, blk.m, out.scales);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        out.qs[32 * c + l] = static_cast<std::uint8_t>(blk.q[64 * c + l] | (blk.q[64 * c + 32 + l] << 4));
      }
    }
  }
}

void quantize_row_q5_k(const float* src, BlockQ5K* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  AffineBlock blk;
  for (std::int64_t b = 0; b < nb; ++b, src += kQK_K) {
    quantize_affine_block(src, 32, 31, 63, &blk);
    BlockQ5K& out = dst[b];
    out.d = fp32_to_fp16(blk.d);
    out.dmin = fp32_to_fp16(blk.dmin);
    pack_scale_min_k4(blk.sc, blk.m, out.scales);
    std::fill(std::begin(out.qh), std::end(out.qh), std::uint8_t{0});
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = blk.q[64 * c + l];
        const int hi = blk.q[64 * c + 32 + l];
        out.qs[32 * c + l] = static_cast<std::uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        out.qh[l] = static_cast<std::uint8_t>(out.qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

// ---- Symmetric types ----------------------------------------------------------------------------

void quantize_row_q3_k(const float* src, BlockQ3K* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  SymmetricBlock blk;
  for (std::int64_t b = 0; b < nb; ++b, src += kQK_K) {
    quantize_symmetric_block(src, 4, -32, &blk);
    BlockQ3K& out = dst[b];
    out.d = fp32_to_fp16(blk.d);
    std::fill(std::begin(out.scales), std::end(out.scales), std::uint8_t{0});
    for (int j = 0; j < 16; ++j) {
      const int u = blk.sc[j] + 32;  // 0..63
      const int low = u & 0xF;
      out.scales[j % 8] = static_cast<std::uint8_t>(out.scales[j % 8] | (j < 8 ? low : low << 4));
      out.scales[8 + j % 4] = static_cast<std::uint8_t>(out.scales[8 + j % 4] | ((u >> 4) << (2 * (j / 4))));
    }
    std::fill(std::begin(out.hmask), std::end(out.hmask), std::uint8_t{0});
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; ++l) {
        int byte = 0;
        for (int s = 0; s < 4; ++s) {
          const int u = blk.q[128 * h + 32 * s + l] + 4;  // 0..7: bit 2 is the "no -4" flag
          byte |= (u & 3) << (2 * s);
          out.hmask[l] = static_cast<std::uint8_t>(out.hmask[l] | ((u >> 2) << (4 * h + s)));
        }
        out.qs[32 * h + l] = static_cast<std::uint8_t>(byte);
      }
    }
  }
}

void quantize_row_q6_k(const float* src, BlockQ6K* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  SymmetricBlock blk;
  for (std::int64_t b = 0; b < nb; ++b, src += kQK_K) {
    quantize_symmetric_block(src, 32, -128, &blk);
    BlockQ6K& out = dst[b];
    out.d = fp32_to_fp16(blk.d);
    for (int j = 0; j < 16; ++j) out.scales[j] = static_cast<std::int8_t>(blk.sc[j]);
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 32; ++l) {
        const int u0 = blk.q[128 * h + l] + 32;
        const int u1 = blk.q[128 * h + l + 32] + 32;
        const int u2 = blk.q[128 * h + l + 64] + 32;
        const int u3 = blk.q[128 * h + l + 96] + 32;
        out.ql[64 * h + l] = static_cast<std::uint8_t>((u0 & 0xF) | ((u2 & 0xF) << 4));
        out.ql[64 * h + l + 32] = static_cast<std::uint8_t>((u1 & 0xF) | ((u3 & 0xF) << 4));
        out.qh[32 * h + l] =
            static_cast<std::uint8_t>((u0 >> 4) | ((u1 >> 4) << 2) | ((u2 >> 4) << 4) | ((u3 >> 4) << 6));
      }
    }
  }
}

// ---- Activations --------------------------------------------------------------------------------

void quantize_row_q8_k(const float* src, BlockQ8K* dst, std::int64_t n) {
  const std::int64_t nb = row_blocks(n, kQK_K);
  for (std::int64_t b = 0; b < nb; ++b, src += kQK_K) {
    float amax = 0.0f;
    for (int j = 0; j < kQK_K; ++j) amax = std::fmax(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = inverse_or_zero(d);
    dst[b].d = d;
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) {
        const int q = nearest_int_clamped(src[j] * id, -127, 127);
        dst[b].qs[j] = static_cast<std::int8_t>(q);
        sum += q;
      }
      dst[b].bsums[g] = static_cast<std::int16_t>(sum);
    }
  }
}

}  // namespace parley
