// AVX-512 kernels over panel-packed weights: int8 dot products with VNNI (vpdpbusd) for the
// quantized types, FMA for the float types. One zmm lane per weight row of a 16-row panel; a tile
// is P panels x T tokens of accumulators held in registers for the whole input dimension.
//
// vpdpbusd multiplies unsigned by signed bytes, so the weights are made unsigned (4-bit quants
// already are; Q8_0 gets +128) and the offset is removed by starting each block's integer
// accumulator at -offset * sum(activation quants) (the packed activations carry minus the sums).
// GCC 12 flags the undefined-vector idiom inside its own AVX-512 intrinsics (_mm512_cvtph_ps and
// friends pass _mm512_undefined_ps() as the unused merge source) as maybe-uninitialized.
// (clang, as in the libFuzzer build, has no such warning and refuses the unknown group.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/matmul_kernels.h"

namespace parley::cpu::avx512 {
namespace {

// The tile loops (tokens, panels, groups) have compile-time trip counts; unrolled completely the
// accumulator arrays become registers, which GCC at -O2 does not do on its own.
#define PARLEY_UNROLL _Pragma("GCC unroll 32")

// acc += w (u8) . x (s8) per 32-bit lane, with the 4 bytes of x broadcast from memory ({1to16}).
// GCC 12 emits _mm512_dpbusd_epi32(acc, w, _mm512_set1_epi32(*p)) as a separate vpbroadcastd,
// and on Zen 4 those broadcasts cost a quarter of the vpdpbusd throughput (measured: 16
// vpdpbusd take 16.3 cycles with embedded broadcasts, 18-21 with separate ones).
inline __m512i dpbusd_bcast(__m512i acc, __m512i w, const void* x) {
  __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*static_cast<const std::int32_t*>(x)));
  return acc;
}
// The same for FMA: acc += w * x[0]. GCC merges broadcasts of one address into a vbroadcastss
// shared by the FMAs of several panels, and next to vcvtph2ps those cost ~15% of the FMA
// throughput (16 FMAs of a 2-panel x 8-token tile: 18.5 cycles, with embedded broadcasts 16.0).
inline __m512 fmadd_bcast(__m512 w, const float* x, __m512 acc) {
  __asm__("vfmadd231ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*x));
  return acc;
}
inline __m512i load512(const std::byte* p) { return _mm512_loadu_si512(p); }
inline __m512 load_f16x16(const std::byte* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

// Inlined so that the accumulators' address never escapes: otherwise GCC must assume that the
// memory operands of the asm above may read them, and keeps them in memory.
template <int P, int T>
__attribute__((always_inline)) inline void store_tile(const GemmArgs& a, std::int64_t panel, __m512 (&acc)[P][T]) {
  PARLEY_UNROLL for (int p = 0; p < P; ++p) {
    const std::int64_t row = (panel + p) * kPanelRows;
    const __mmask16 m = panel + p == a.n_panels - 1 ? static_cast<__mmask16>((1u << a.rows_last) - 1) : __mmask16{0xFFFF};
    const __m512 b = a.bias != nullptr ? _mm512_maskz_loadu_ps(m, a.bias + row) : _mm512_setzero_ps();
    PARLEY_UNROLL for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(a.y + t * a.ldy + row, m, _mm512_add_ps(acc[p][t], b));
  }
}

// ---- Float weights: F32, F16, BF16 ------------------------------------------------------------

template <TensorType kType>
inline __m512 load_w16(const std::byte* p) {
  if constexpr (kType == TensorType::kF32) {
    return _mm512_loadu_ps(p);
  } else if constexpr (kType == TensorType::kF16) {
    return load_f16x16(p);
  } else {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
}

template <TensorType kType>
struct FloatTile {
  // Up to 8 tokens two panels per pass (each converted weight vector feeds T FMAs, 2T
  // accumulators in registers); beyond, one panel with up to 24 tokens converts each weight vector
  // once per 24 FMAs. Activations always come as embedded broadcasts (fmadd_bcast).
  template <int T>
  static constexpr int max_panels() { return T == 1 ? 4 : T <= 8 ? 2 : 1; }
  static constexpr std::size_t kStride = kType == TensorType::kF32 ? 64 : 32;  // bytes per input
  static constexpr std::size_t kPrefetchBytes = 8192;

  template <int P, int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    // One accumulator per (panel, token) and the inputs in order, whatever P and T: a token's
    // output is then the same bits in any group and any panel pairing, so it does not depend on
    // how many tokens the batch held (serving-engine.md, "Seeds"). Splitting the inputs into two
    // interleaved sets where P * T < 4 (more independent FMA chains) would change the rounding
    // with the batch; those small tiles are only the last panels of a claim.
    constexpr int U = 1;
    const std::byte* w = a.w + panel * a.panel_bytes;
    const float* x = a.act.x;
    __m512 acc[U][P][T];
    PARLEY_UNROLL for (int u = 0; u < U; ++u)
      PARLEY_UNROLL for (int p = 0; p < P; ++p)
        PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[u][p][t] = _mm512_setzero_ps();
    // Inputs per 64-byte line of a panel; an iteration takes whole lines, and with more than one
    // token (compute-bound enough that the hardware prefetchers fall behind) prefetches the line
    // kPrefetchBytes ahead into L2.
    constexpr int kLine = static_cast<int>(64 / kStride);
    constexpr int kStep = kLine > U ? kLine : U;
    std::int64_t k = 0;
    for (; k + kStep <= a.n_in; k += kStep) {
      if constexpr (T > 1) {
        PARLEY_UNROLL for (int p = 0; p < P; ++p)
          PARLEY_UNROLL for (int l = 0; l < kStep; l += kLine)
            _mm_prefetch(reinterpret_cast<const char*>(w + p * a.panel_bytes + (k + l) * kStride + kPrefetchBytes), _MM_HINT_T1);
      }
      PARLEY_UNROLL for (int i = 0; i < kStep; ++i) {
        const int u = i % U;
        __m512 wv[P];
        PARLEY_UNROLL for (int p = 0; p < P; ++p) wv[p] = load_w16<kType>(w + p * a.panel_bytes + (k + i) * kStride);
        PARLEY_UNROLL for (int t = 0; t < T; ++t)
          PARLEY_UNROLL for (int p = 0; p < P; ++p) acc[u][p][t] = fmadd_bcast(wv[p], x + (k + i) * T + t, acc[u][p][t]);
      }
    }
    for (; k < a.n_in; ++k) {
      PARLEY_UNROLL for (int p = 0; p < P; ++p) {
        const __m512 wv = load_w16<kType>(w + p * a.panel_bytes + k * kStride);
        PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[0][p][t] = _mm512_fmadd_ps(wv, _mm512_set1_ps(x[k * T + t]), acc[0][p][t]);
      }
    }
    PARLEY_UNROLL for (int u = 1; u < U; ++u)
      PARLEY_UNROLL for (int p = 0; p < P; ++p)
        PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[0][p][t] = _mm512_add_ps(acc[0][p][t], acc[u][p][t]);
    store_tile<P, T>(a, panel, acc[0]);
  }
};

// ---- 32-element blocks: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 ----------------------------------------

template <TensorType kType>
struct B32Tile {
  // Decode takes four panels per pass (more independent chains and loads in flight per loop
  // iteration); 2-4 tokens two; 5-8 tokens one panel, its 8 int32 and 8 float accumulators in
  // registers, so that 8 tokens (the act tile) read each weight byte once. Every tile is bound by
  // vpdpbusd plus the two FP multiplies per block and token (vmulps, vfmadd), which share Zen 4's
  // FP0/FP1 with it: at most 8 / (8 + 2) of the int8 peak.
  template <int T>
  static constexpr int max_panels() { return T == 1 ? 4 : T <= 4 ? 2 : 1; }
  static constexpr bool kQ8 = kType == TensorType::kQ8_0;
  static constexpr bool kQ5 = kType == TensorType::kQ5_0 || kType == TensorType::kQ5_1;
  static constexpr bool kMin = kType == TensorType::kQ4_1 || kType == TensorType::kQ5_1;
  // Weight quant q stands for q - kOffset (after Q8_0's +128); 0 for the affine types.
  static constexpr int kShift = kQ8 ? 7 : kMin ? -1 : kQ5 ? 4 : 3;
  static constexpr std::size_t kQuant = kQ8 ? 512 : kQ5 ? 320 : 256;
  static constexpr std::size_t kScale = kMin ? 64 : 32;
  // With more than one token the loop is compute-heavy enough that the hardware prefetchers fall
  // behind (from DRAM or L3 alike: measured 30-40% below the same tile on L2-resident weights).
  // So both streams of each panel, its quants and its scales, are prefetched into L2 this many
  // blocks (8 KiB of quants) ahead; past the panel's last block, the scale stream continues into
  // the next panel's, which the hardware would only find after a few misses. Decode's light loop
  // does not need it (measured no gain).
  static constexpr std::int64_t kPrefetchBlocks = 8192 / kQuant;

  template <int P>
  static void prefetch_ahead(const std::byte* const (&q)[P], const std::byte* const (&s)[P], std::int64_t blk, std::int64_t nb,
                             std::size_t panel_bytes) {
    const std::int64_t ahead = blk + kPrefetchBlocks;
    PARLEY_UNROLL for (int p = 0; p < P; ++p) {
      PARLEY_UNROLL for (std::size_t l = 0; l < kQuant; l += 64)
        _mm_prefetch(reinterpret_cast<const char*>(q[p] + ahead * kQuant + l), _MM_HINT_T1);
      if ((blk * kScale) % 64 == 0) {
        const std::byte* sp = ahead < nb ? s[p] + ahead * kScale : s[p] + panel_bytes + (ahead - nb) * kScale;
        _mm_prefetch(reinterpret_cast<const char*>(sp), _MM_HINT_T1);
      }
    }
  }

  template <int P, int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::int64_t nb = a.n_in / 32;
    const std::byte* q[P];
    const std::byte* s[P];
    PARLEY_UNROLL for (int p = 0; p < P; ++p) {
      q[p] = a.w + (panel + p) * a.panel_bytes;
      s[p] = q[p] + nb * kQuant;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i c16 = _mm512_set1_epi8(0x10);
    const __m512i c80 = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512 acc[P][T];
    PARLEY_UNROLL for (int p = 0; p < P; ++p)
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();

    for (std::int64_t blk = 0; blk < nb; ++blk) {
      if constexpr (T > 1) prefetch_ahead<P>(q, s, blk, nb, a.panel_bytes);
      __m512i ia[P][T];
      PARLEY_UNROLL for (int t = 0; t < T; ++t) {
        __m512i init = _mm512_setzero_si512();
        if constexpr (kShift >= 0) init = _mm512_slli_epi32(_mm512_set1_epi32(a.act.nsum[blk * T + t]), kShift);
        PARLEY_UNROLL for (int p = 0; p < P; ++p) ia[p][t] = init;
      }
      const std::int8_t* xq = a.act.qs + blk * 32 * T;
      if constexpr (kQ8) {
        PARLEY_UNROLL for (int g = 0; g < 8; ++g) {
          __m512i v[P];
          PARLEY_UNROLL for (int p = 0; p < P; ++p) v[p] = _mm512_xor_si512(load512(q[p] + blk * kQuant + g * 64), c80);
          PARLEY_UNROLL for (int t = 0; t < T; ++t)
            PARLEY_UNROLL for (int p = 0; p < P; ++p) ia[p][t] = dpbusd_bcast(ia[p][t], v[p], xq + (g * T + t) * 4);
        }
      } else {
        __m512i hb[P];
        if constexpr (kQ5) {
          PARLEY_UNROLL for (int p = 0; p < P; ++p) hb[p] = load512(q[p] + blk * kQuant + 256);
        }
        PARLEY_UNROLL for (int j = 0; j < 4; ++j) {
          __m512i lo[P], hi[P];
          PARLEY_UNROLL for (int p = 0; p < P; ++p) {
            const __m512i v = load512(q[p] + blk * kQuant + j * 64);
            lo[p] = _mm512_and_si512(v, m4);
            hi[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            if constexpr (kQ5) {
              // Fifth bits: bit j of each byte for the low operand, bit 4 + j for the high one.
              const __mmask64 bl = _mm512_test_epi8_mask(hb[p], _mm512_set1_epi8(static_cast<char>(1 << j)));
              const __mmask64 bh = _mm512_test_epi8_mask(hb[p], _mm512_set1_epi8(static_cast<char>(16 << j)));
              lo[p] = _mm512_mask_add_epi8(lo[p], bl, lo[p], c16);
              hi[p] = _mm512_mask_add_epi8(hi[p], bh, hi[p], c16);
            }
          }
          PARLEY_UNROLL for (int t = 0; t < T; ++t)
            PARLEY_UNROLL for (int p = 0; p < P; ++p) {
              ia[p][t] = dpbusd_bcast(ia[p][t], lo[p], xq + (j * T + t) * 4);
              ia[p][t] = dpbusd_bcast(ia[p][t], hi[p], xq + ((4 + j) * T + t) * 4);
            }
        }
      }
      __m512 dw[P];
      PARLEY_UNROLL for (int p = 0; p < P; ++p) dw[p] = load_f16x16(s[p] + blk * kScale);
      PARLEY_UNROLL for (int t = 0; t < T; ++t) {
        const __m512 dx = _mm512_set1_ps(a.act.d[blk * T + t]);
        PARLEY_UNROLL for (int p = 0; p < P; ++p)
          acc[p][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(ia[p][t]), dx), dw[p], acc[p][t]);
      }
      if constexpr (kMin) {
        PARLEY_UNROLL for (int p = 0; p < P; ++p) {
          const __m512 m = load_f16x16(s[p] + blk * kScale + 32);
          PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[p][t] = _mm512_fmadd_ps(m, _mm512_set1_ps(a.act.s[blk * T + t]), acc[p][t]);
        }
      }
    }
    store_tile<P, T>(a, panel, acc);
  }
};

// ---- Q4_K: 8 sub-blocks of 32 with 6-bit scales and minimums ---------------------------------

struct Q4KTile {
  // Decode takes two panels at a time (more independent chains, broadcasts shared); batches one.
  template <int T>
  static constexpr int max_panels() { return T == 1 ? 2 : 1; }
  static constexpr std::size_t kQuant = 2048;
  static constexpr std::size_t kScale = 320;

  template <int P, int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::int64_t nsb = a.n_in / 256;
    const std::byte* q[P];
    const std::byte* s[P];
    PARLEY_UNROLL for (int p = 0; p < P; ++p) {
      q[p] = a.w + (panel + p) * a.panel_bytes;
      s[p] = q[p] + nsb * kQuant;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[P][T];
    PARLEY_UNROLL for (int p = 0; p < P; ++p)
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
    for (std::int64_t sb = 0; sb < nsb; ++sb) {
      const std::int8_t* xq = a.act.qs + sb * 256 * T;
      __m512i isum[P][T];
      PARLEY_UNROLL for (int p = 0; p < P; ++p)
        PARLEY_UNROLL for (int t = 0; t < T; ++t) isum[p][t] = _mm512_setzero_si512();
      // Not unrolled: GCC would hoist every chunk's products ahead of the scaling and spill them.
      for (int c = 0; c < 4; ++c) {
        __m512i lo[P][T], hi[P][T];
        PARLEY_UNROLL for (int p = 0; p < P; ++p)
          PARLEY_UNROLL for (int t = 0; t < T; ++t) lo[p][t] = hi[p][t] = _mm512_setzero_si512();
        PARLEY_UNROLL for (int j = 0; j < 8; ++j) {
          __m512i vl[P], vh[P];
          PARLEY_UNROLL for (int p = 0; p < P; ++p) {
            const __m512i v = load512(q[p] + sb * kQuant + (8 * c + j) * 64);
            vl[p] = _mm512_and_si512(v, m4);
            vh[p] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
          }
          PARLEY_UNROLL for (int t = 0; t < T; ++t)
            PARLEY_UNROLL for (int p = 0; p < P; ++p) {
              lo[p][t] = dpbusd_bcast(lo[p][t], vl[p], xq + ((16 * c + j) * T + t) * 4);
              hi[p][t] = dpbusd_bcast(hi[p][t], vh[p], xq + ((16 * c + 8 + j) * T + t) * 4);
            }
        }
        PARLEY_UNROLL for (int p = 0; p < P; ++p) {
          const std::byte* sc = s[p] + sb * kScale;
          const __m512i sl = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 64 + 32 * c)));
          const __m512i sh = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 80 + 32 * c)));
          PARLEY_UNROLL for (int t = 0; t < T; ++t)
            isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_add_epi32(_mm512_mullo_epi32(lo[p][t], sl), _mm512_mullo_epi32(hi[p][t], sh)));
        }
      }
      PARLEY_UNROLL for (int p = 0; p < P; ++p) {
        const std::byte* sc = s[p] + sb * kScale;
        __m512i mins[4];
        PARLEY_UNROLL for (int pr = 0; pr < 4; ++pr)
          mins[pr] = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sc + 192 + 32 * pr)));
        const __m512 d = load_f16x16(sc);
        const __m512 dmin = load_f16x16(sc + 32);
        PARLEY_UNROLL for (int t = 0; t < T; ++t) {
          __m512i macc = _mm512_setzero_si512();
          PARLEY_UNROLL for (int pr = 0; pr < 4; ++pr)
            macc = _mm512_dpwssd_epi32(macc, mins[pr], _mm512_set1_epi32(a.act.msum[(sb * 4 + pr) * T + t]));
          const __m512 dx = _mm512_set1_ps(a.act.d[sb * T + t]);
          acc[p][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(isum[p][t]), dx), d, acc[p][t]);
          acc[p][t] = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(macc), dx), dmin, acc[p][t]);
        }
      }
    }
    store_tile<P, T>(a, panel, acc);
  }
};

// ---- Q6_K: 16 sub-blocks of 16 with int8 scales, 6-bit quants stored as 4 + 2 bits --------------

struct Q6KTile {
  static constexpr std::size_t kPrefetchBytes = 4096;
  template <int T>
  static constexpr int max_panels() { return T == 1 ? 2 : 1; }
  static constexpr std::size_t kQuant = 3072;
  static constexpr std::size_t kScale = 288;

  template <int P, int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::int64_t nsb = a.n_in / 256;
    const std::byte* q[P];
    const std::byte* s[P];
    PARLEY_UNROLL for (int p = 0; p < P; ++p) {
      q[p] = a.w + (panel + p) * a.panel_bytes;
      s[p] = q[p] + nsb * kQuant;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i m30 = _mm512_set1_epi8(0x30);
    __m512 acc[P][T];
    PARLEY_UNROLL for (int p = 0; p < P; ++p)
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
    for (std::int64_t sb = 0; sb < nsb; ++sb) {
      const std::int8_t* xq = a.act.qs + sb * 256 * T;
      const std::int32_t* nsum = a.act.nsum + sb * 16 * T;
      __m512i isum[P][T];
      PARLEY_UNROLL for (int p = 0; p < P; ++p)
        PARLEY_UNROLL for (int t = 0; t < T; ++t) isum[p][t] = _mm512_setzero_si512();
      // Not unrolled: one pass holds 2 x T accumulators, and GCC would otherwise interleave passes.
      for (int h = 0; h < 2; ++h) {
        const std::size_t qh = static_cast<std::size_t>(sb) * kQuant + static_cast<std::size_t>(h) * 1536;
        if constexpr (T == 1) {
          // Decode: Q6_K's unpacking is long enough per byte that the out-of-order window covers
          // too little of the stream; prefetch 4 KiB ahead into L2 (measured +30% at one thread;
          // the same hurts the lighter kernels, which the hardware prefetcher keeps up with).
          PARLEY_UNROLL for (int p = 0; p < P; ++p)
            for (std::size_t l = 0; l < 1536; l += 64) _mm_prefetch(reinterpret_cast<const char*>(q[p] + qh + kPrefetchBytes + l), _MM_HINT_T1);
        }
        for (int jj = 0; jj < 2; ++jj) {
          // Operand pairs (i, i + 2) come from the same low-nibble line: l0 gives i = 0, 2 and l1
          // gives i = 1, 3 (sub-blocks 8h + 2i + jj), each started at -32 * its sum.
          for (int i0 = 0; i0 < 2; ++i0) {
            __m512i ia[2][P][T];
            PARLEY_UNROLL for (int k = 0; k < 2; ++k)
              PARLEY_UNROLL for (int t = 0; t < T; ++t) {
                const __m512i init = _mm512_slli_epi32(_mm512_set1_epi32(nsum[(8 * h + 2 * (i0 + 2 * k) + jj) * T + t]), 5);
                PARLEY_UNROLL for (int p = 0; p < P; ++p) ia[k][p][t] = init;
              }
            // High bits of operand i sit at bits 2i..2i+1 of hb: shift them to bits 4..5.
            const int shl = i0 == 0 ? 4 : 2;
            PARLEY_UNROLL for (int jl = 0; jl < 4; ++jl) {
              const int j = 4 * jj + jl;
              // (A & 0x0F) | B with B the two high bits already at bits 4..5.
              constexpr int kOr = 0xEC;
              __m512i v[2][P];
              PARLEY_UNROLL for (int p = 0; p < P; ++p) {
                const __m512i l = load512(q[p] + qh + (3 * j + i0) * 64);
                const __m512i hb = load512(q[p] + qh + (3 * j + 2) * 64);
                const __m512i h_lo = _mm512_and_si512(_mm512_sll_epi16(hb, _mm_cvtsi32_si128(shl)), m30);
                const __m512i h_hi = _mm512_and_si512(_mm512_srl_epi16(hb, _mm_cvtsi32_si128(4 - shl)), m30);
                v[0][p] = _mm512_ternarylogic_epi32(l, h_lo, m4, kOr);
                v[1][p] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), h_hi, m4, kOr);
              }
              PARLEY_UNROLL for (int t = 0; t < T; ++t)
                PARLEY_UNROLL for (int k = 0; k < 2; ++k)
                  PARLEY_UNROLL for (int p = 0; p < P; ++p)
                    ia[k][p][t] = dpbusd_bcast(ia[k][p][t], v[k][p], xq + ((32 * h + 8 * (i0 + 2 * k) + j) * T + t) * 4);
            }
            PARLEY_UNROLL for (int k = 0; k < 2; ++k) {
              const int sub = 8 * h + 2 * (i0 + 2 * k) + jj;
              PARLEY_UNROLL for (int p = 0; p < P; ++p) {
                const std::byte* sc = s[p] + sb * kScale;
                const __m512i scv = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16 * sub)));
                PARLEY_UNROLL for (int t = 0; t < T; ++t) isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_mullo_epi32(ia[k][p][t], scv));
              }
            }
          }
        }
      }
      PARLEY_UNROLL for (int p = 0; p < P; ++p) {
        const __m512 d = load_f16x16(s[p] + sb * kScale + 256);
        PARLEY_UNROLL for (int t = 0; t < T; ++t)
          acc[p][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(isum[p][t]), _mm512_set1_ps(a.act.d[sb * T + t])), d, acc[p][t]);
      }
    }
    store_tile<P, T>(a, panel, acc);
  }
};

// ---- Drivers ------------------------------------------------------------------------------------

template <typename Tile, int T>
void run_panels(const GemmArgs& a) {
  std::int64_t p = 0;
  if constexpr (Tile::template max_panels<T>() >= 4) {
    for (; p + 4 <= a.n_panels; p += 4) Tile::template run<4, T>(a, p);
  }
  if constexpr (Tile::template max_panels<T>() >= 2) {
    for (; p + 2 <= a.n_panels; p += 2) Tile::template run<2, T>(a, p);
  }
  for (; p < a.n_panels; ++p) Tile::template run<1, T>(a, p);
}

// Calls the tile instantiated for the group's token count (T .. kTile).
template <typename Tile, int T, int kTile>
void gemm_from(const GemmArgs& a) {
  if constexpr (T > kTile) {
    __builtin_trap();  // the dispatcher never forms larger groups than act_tile()
  } else {
    if (a.n_tokens == T) return run_panels<Tile, T>(a);
    gemm_from<Tile, T + 1, kTile>(a);
  }
}

template <typename Tile, int kTile>
void gemm(const GemmArgs& a) {
  gemm_from<Tile, 1, kTile>(a);
}

constexpr int kTileF32 = 24;
constexpr int kTileQ8 = 8;
constexpr int kTileQ8K = 4;

}  // namespace

int act_tile(ActKind kind) {
  switch (kind) {
    case ActKind::kF32: return kTileF32;
    case ActKind::kQ8: return kTileQ8;
    case ActKind::kQ8K: return kTileQ8K;
  }
  return 1;
}

GemmFn gemm_kernel(TensorType type) {
  switch (type) {
    case TensorType::kF32: return gemm<FloatTile<TensorType::kF32>, kTileF32>;
    case TensorType::kF16: return gemm<FloatTile<TensorType::kF16>, kTileF32>;
    case TensorType::kBF16: return gemm<FloatTile<TensorType::kBF16>, kTileF32>;
    case TensorType::kQ8_0: return gemm<B32Tile<TensorType::kQ8_0>, kTileQ8>;
    case TensorType::kQ4_0: return gemm<B32Tile<TensorType::kQ4_0>, kTileQ8>;
    case TensorType::kQ4_1: return gemm<B32Tile<TensorType::kQ4_1>, kTileQ8>;
    case TensorType::kQ5_0: return gemm<B32Tile<TensorType::kQ5_0>, kTileQ8>;
    case TensorType::kQ5_1: return gemm<B32Tile<TensorType::kQ5_1>, kTileQ8>;
    case TensorType::kQ4_K: return gemm<Q4KTile, kTileQ8K>;
    case TensorType::kQ6_K: return gemm<Q6KTile, kTileQ8K>;
    default: return nullptr;
  }
}

}  // namespace parley::cpu::avx512
