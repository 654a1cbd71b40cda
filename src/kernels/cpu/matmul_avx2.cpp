// AVX2/FMA/F16C kernels over panel-packed weights (the baseline of the fast path) and the SIMD
// activation packers that both ISA levels use. A ymm lane holds one row, so a 16-row panel is two
// halves of 8 rows. Integer products use vpmaddubsw (unsigned x signed bytes -> int16 pairs) and
// vpmaddwd (int16 pairs -> int32, by ones or by the rows' sub-block scales). vpmaddubsw saturates
// at int16, which signed 8-bit weights could reach, so Q8_0 and Q6_K use the sign trick:
// |w| times x carrying w's sign.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/matmul_kernels.h"

namespace parley::cpu::avx2 {
namespace {

// The tile loops (tokens, panels, groups) have compile-time trip counts; unrolled completely the
// accumulator arrays become registers, which GCC at -O2 does not do on its own.
#define PARLEY_UNROLL _Pragma("GCC unroll 32")

inline std::int32_t load_i32(const void* p) {
  std::int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline __m256i bcast_i32(const void* p) { return _mm256_set1_epi32(load_i32(p)); }
inline __m256i load256(const std::byte* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i load128(const std::byte* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m256 load_f16x8(const std::byte* p) { return _mm256_cvtph_ps(load128(p)); }
inline __m256i dot_u8s8(__m256i u, __m256i s) { return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)); }
// A row's scale (a sign-extended int32 per lane) in both int16 halves of the lane, for vpmaddwd.
inline __m256i pair16(__m256i v) { return _mm256_blend_epi16(v, _mm256_slli_epi32(v, 16), 0xAA); }

// Stores the T tokens of one half panel (rows row .. row + 7).
template <int T>
void store_half(const GemmArgs& a, std::int64_t panel, int half, __m256 (&acc)[T]) {
  const std::int64_t row = panel * kPanelRows + 8 * half;
  const int valid = panel == a.n_panels - 1 ? a.rows_last - 8 * half : 8;
  if (valid <= 0) return;
  if (valid == 8) {
    const __m256 b = a.bias != nullptr ? _mm256_loadu_ps(a.bias + row) : _mm256_setzero_ps();
    PARLEY_UNROLL for (int t = 0; t < T; ++t) _mm256_storeu_ps(a.y + t * a.ldy + row, _mm256_add_ps(acc[t], b));
    return;
  }
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 b = a.bias != nullptr ? _mm256_maskload_ps(a.bias + row, mask) : _mm256_setzero_ps();
  PARLEY_UNROLL for (int t = 0; t < T; ++t) _mm256_maskstore_ps(a.y + t * a.ldy + row, mask, _mm256_add_ps(acc[t], b));
}

// ---- Float weights ---------------------------------------------------------------------------

template <TensorType kType>
inline __m256 load_w8(const std::byte* p) {
  if constexpr (kType == TensorType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else if constexpr (kType == TensorType::kF16) {
    return load_f16x8(p);
  } else {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
  }
}

template <TensorType kType>
struct FloatTile {
  static constexpr std::size_t kStride = kType == TensorType::kF32 ? 64 : 32;
  static constexpr std::size_t kHalf = kStride / 2;

  template <int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::byte* w = a.w + panel * a.panel_bytes;
    const float* x = a.act.x;
    __m256 acc[2][T];
    PARLEY_UNROLL for (int h = 0; h < 2; ++h)
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[h][t] = _mm256_setzero_ps();
    for (std::int64_t k = 0; k < a.n_in; ++k) {
      const __m256 w0 = load_w8<kType>(w + k * kStride);
      const __m256 w1 = load_w8<kType>(w + k * kStride + kHalf);
      PARLEY_UNROLL for (int t = 0; t < T; ++t) {
        const __m256 xv = _mm256_broadcast_ss(x + k * T + t);
        acc[0][t] = _mm256_fmadd_ps(w0, xv, acc[0][t]);
        acc[1][t] = _mm256_fmadd_ps(w1, xv, acc[1][t]);
      }
    }
    store_half<T>(a, panel, 0, acc[0]);
    store_half<T>(a, panel, 1, acc[1]);
  }
};

// ---- 32-element blocks ----------------------------------------------------------------------

template <TensorType kType>
struct B32Tile {
  static constexpr bool kQ8 = kType == TensorType::kQ8_0;
  static constexpr bool kQ5 = kType == TensorType::kQ5_0 || kType == TensorType::kQ5_1;
  static constexpr bool kMin = kType == TensorType::kQ4_1 || kType == TensorType::kQ5_1;
  static constexpr int kShift = kQ8 || kMin ? -1 : kQ5 ? 4 : 3;  // Q8_0 uses the sign trick: no offset
  static constexpr std::size_t kQuant = kQ8 ? 512 : kQ5 ? 320 : 256;
  static constexpr std::size_t kScale = kMin ? 64 : 32;

  template <int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::int64_t nb = a.n_in / 32;
    const std::byte* q = a.w + panel * a.panel_bytes;
    const std::byte* s = q + nb * kQuant;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i c10 = _mm256_set1_epi8(0x10);
    for (int h = 0; h < 2; ++h) {
      if (panel == a.n_panels - 1 && a.rows_last <= 8 * h) break;
      __m256 acc[T];
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
      for (std::int64_t blk = 0; blk < nb; ++blk) {
        const std::byte* qb = q + blk * kQuant + 32 * h;
        const std::int8_t* xq = a.act.qs + blk * 32 * T;
        __m256i ia[T];
        PARLEY_UNROLL for (int t = 0; t < T; ++t) {
          ia[t] = kShift >= 0 ? _mm256_slli_epi32(_mm256_set1_epi32(a.act.nsum[blk * T + t]), kShift < 0 ? 0 : kShift)
                              : _mm256_setzero_si256();
        }
        if constexpr (kQ8) {
          for (int g = 0; g < 8; ++g) {
            const __m256i v = load256(qb + g * 64);
            const __m256i av = _mm256_sign_epi8(v, v);
            PARLEY_UNROLL for (int t = 0; t < T; ++t)
              ia[t] = _mm256_add_epi32(ia[t], dot_u8s8(av, _mm256_sign_epi8(bcast_i32(xq + (g * T + t) * 4), v)));
          }
        } else {
          __m256i hb = _mm256_setzero_si256();
          if constexpr (kQ5) hb = load256(q + blk * kQuant + 256 + 32 * h);
          PARLEY_UNROLL for (int j = 0; j < 4; ++j) {
            const __m256i v = load256(qb + j * 64);
            __m256i lo = _mm256_and_si256(v, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            if constexpr (kQ5) {
              // Bit j of each byte -> bit 4 of the low operand, bit 4 + j -> bit 4 of the high one.
              const __m128i sl = _mm_cvtsi32_si128(4 - j);
              const __m128i sr = _mm_cvtsi32_si128(j);
              lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_sll_epi16(hb, sl), c10));
              hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_srl_epi16(hb, sr), c10));
            }
            PARLEY_UNROLL for (int t = 0; t < T; ++t) {
              // Two int16 products of at most 2 * 31 * 127 each still fit int16: add before widening.
              const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast_i32(xq + (j * T + t) * 4)),
                                                 _mm256_maddubs_epi16(hi, bcast_i32(xq + ((4 + j) * T + t) * 4)));
              ia[t] = _mm256_add_epi32(ia[t], _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
            }
          }
        }
        const __m256 dw = load_f16x8(s + blk * kScale + 16 * h);
        PARLEY_UNROLL for (int t = 0; t < T; ++t) {
          const __m256 dx = _mm256_set1_ps(a.act.d[blk * T + t]);
          acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(ia[t]), dx), dw, acc[t]);
        }
        if constexpr (kMin) {
          const __m256 m = load_f16x8(s + blk * kScale + 32 + 16 * h);
          PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(m, _mm256_set1_ps(a.act.s[blk * T + t]), acc[t]);
        }
      }
      store_half<T>(a, panel, h, acc);
    }
  }
};

// ---- Q4_K ----------------------------------------------------------------------------------------

struct Q4KTile {
  template <int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::int64_t nsb = a.n_in / 256;
    const std::byte* q = a.w + panel * a.panel_bytes;
    const std::byte* s = q + nsb * 2048;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int h = 0; h < 2; ++h) {
      if (panel == a.n_panels - 1 && a.rows_last <= 8 * h) break;
      __m256 acc[T];
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
      for (std::int64_t sb = 0; sb < nsb; ++sb) {
        const std::byte* qb = q + sb * 2048 + 32 * h;
        const std::byte* sc = s + sb * 320;
        const std::int8_t* xq = a.act.qs + sb * 256 * T;
        __m256i isum[T];
        PARLEY_UNROLL for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {  // rolled, as in Q6KTile
          // vpmaddwd by the sub-block scales instead of by ones applies them for free.
          const __m256i sl = pair16(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 64 + 32 * c + 8 * h))));
          const __m256i sh = pair16(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 80 + 32 * c + 8 * h))));
          for (int j = 0; j < 8; ++j) {
            const __m256i v = load256(qb + (8 * c + j) * 64);
            const __m256i vl = _mm256_and_si256(v, m4);
            const __m256i vh = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            PARLEY_UNROLL for (int t = 0; t < T; ++t) {
              const __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(vl, bcast_i32(xq + ((16 * c + j) * T + t) * 4)), sl);
              const __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(vh, bcast_i32(xq + ((16 * c + 8 + j) * T + t) * 4)), sh);
              isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(pl, ph));
            }
          }
        }
        const __m256 d = load_f16x8(sc + 16 * h);
        const __m256 dmin = load_f16x8(sc + 32 + 16 * h);
        PARLEY_UNROLL for (int t = 0; t < T; ++t) {
          __m256i macc = _mm256_setzero_si256();
          PARLEY_UNROLL for (int pr = 0; pr < 4; ++pr) {
            const __m256i mins = _mm256_cvtepu8_epi16(load128(sc + 192 + 32 * pr + 16 * h));
            macc = _mm256_add_epi32(macc, _mm256_madd_epi16(mins, _mm256_set1_epi32(a.act.msum[(sb * 4 + pr) * T + t])));
          }
          const __m256 dx = _mm256_set1_ps(a.act.d[sb * T + t]);
          acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(isum[t]), dx), d, acc[t]);
          acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(macc), dx), dmin, acc[t]);
        }
      }
      store_half<T>(a, panel, h, acc);
    }
  }
};

// ---- Q6_K ----------------------------------------------------------------------------------------

struct Q6KTile {
  template <int T>
  static void run(const GemmArgs& a, std::int64_t panel) {
    const std::int64_t nsb = a.n_in / 256;
    const std::byte* q = a.w + panel * a.panel_bytes;
    const std::byte* s = q + nsb * 3072;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    const __m256i c32 = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; ++h) {
      if (panel == a.n_panels - 1 && a.rows_last <= 8 * h) break;
      __m256 acc[T];
      PARLEY_UNROLL for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
      for (std::int64_t sb = 0; sb < nsb; ++sb) {
        const std::byte* sc = s + sb * 288;
        const std::int8_t* xq = a.act.qs + sb * 256 * T;
        __m256i isum[T];
        PARLEY_UNROLL for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
        // The two outer loops stay rolled: unrolled, GCC interleaves them and spills.
        for (int hh = 0; hh < 2; ++hh) {
          const std::byte* qh = q + sb * 3072 + hh * 1536 + 32 * h;
          for (int j = 0; j < 8; ++j) {
            const __m256i l0 = load256(qh + (3 * j) * 64);
            const __m256i l1 = load256(qh + (3 * j + 1) * 64);
            const __m256i hb = load256(qh + (3 * j + 2) * 64);
            __m256i v[4];
            v[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
            v[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
            v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m30));
            v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
            PARLEY_UNROLL for (int i = 0; i < 4; ++i) {
              const __m256i w = _mm256_sub_epi8(v[i], c32);  // -32..31
              const __m256i aw = _mm256_sign_epi8(w, w);
              const int sub = 8 * hh + 2 * i + j / 4;
              const __m256i scv = pair16(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 16 * sub + 8 * h))));
              PARLEY_UNROLL for (int t = 0; t < T; ++t) {
                const __m256i xs = _mm256_sign_epi8(bcast_i32(xq + ((32 * hh + 8 * i + j) * T + t) * 4), w);
                isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, xs), scv));
              }
            }
          }
        }
        const __m256 d = load_f16x8(sc + 256 + 16 * h);
        PARLEY_UNROLL for (int t = 0; t < T; ++t)
          acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_set1_ps(a.act.d[sb * T + t])), d, acc[t]);
      }
      store_half<T>(a, panel, h, acc);
    }
  }
};

template <typename Tile, int T>
void run_panels(const GemmArgs& a) {
  for (std::int64_t p = 0; p < a.n_panels; ++p) Tile::template run<T>(a, p);
}

template <typename Tile, int kTile>
void gemm(const GemmArgs& a) {
  static_assert(kTile <= 6);
  switch (a.n_tokens) {
    case 1: return run_panels<Tile, 1>(a);
    case 2: if constexpr (kTile >= 2) return run_panels<Tile, 2>(a); break;
    case 3: if constexpr (kTile >= 3) return run_panels<Tile, 3>(a); break;
    case 4: if constexpr (kTile >= 4) return run_panels<Tile, 4>(a); break;
    case 5: if constexpr (kTile >= 5) return run_panels<Tile, 5>(a); break;
    case 6: if constexpr (kTile >= 6) return run_panels<Tile, 6>(a); break;
    default: break;
  }
  __builtin_trap();
}

constexpr int kTileF32 = 6;
constexpr int kTileQ8 = 4;
constexpr int kTileQ8K = 4;

// ---- Activation packing -----------------------------------------------------------------------

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Quantizes 32 values with the multiplier inv; stores the 8 four-byte groups `stride` bytes
// apart and returns the 16-sums in sums[0], sums[1].
void quant32(const float* x, __m256 inv, std::int8_t* out, std::int64_t stride, int* sums) {
  __m256i q[4];
  PARLEY_UNROLL for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), inv));
  sums[0] = hsum_i32(_mm256_add_epi32(q[0], q[1]));
  sums[1] = hsum_i32(_mm256_add_epi32(q[2], q[3]));
  const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
  const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
  const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), p8);
  PARLEY_UNROLL for (int g = 0; g < 8; ++g) std::memcpy(out + g * stride, &lanes[g], 4);
}

// out[i * ldo + j] = in[j * ldi + i] for an 8 x 8 block.
void transpose8x8(const float* in, std::int64_t ldi, float* out, std::int64_t ldo) {
  __m256 r[8];
  PARLEY_UNROLL for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(in + j * ldi);
  __m256 a[8], b[8];
  PARLEY_UNROLL for (int j = 0; j < 4; ++j) {
    a[2 * j] = _mm256_unpacklo_ps(r[2 * j], r[2 * j + 1]);
    a[2 * j + 1] = _mm256_unpackhi_ps(r[2 * j], r[2 * j + 1]);
  }
  PARLEY_UNROLL for (int j = 0; j < 2; ++j) {
    b[4 * j] = _mm256_shuffle_ps(a[4 * j], a[4 * j + 2], 0x44);
    b[4 * j + 1] = _mm256_shuffle_ps(a[4 * j], a[4 * j + 2], 0xEE);
    b[4 * j + 2] = _mm256_shuffle_ps(a[4 * j + 1], a[4 * j + 3], 0x44);
    b[4 * j + 3] = _mm256_shuffle_ps(a[4 * j + 1], a[4 * j + 3], 0xEE);
  }
  PARLEY_UNROLL for (int j = 0; j < 4; ++j) {
    _mm256_storeu_ps(out + j * ldo, _mm256_permute2f128_ps(b[j], b[4 + j], 0x20));
    _mm256_storeu_ps(out + (4 + j) * ldo, _mm256_permute2f128_ps(b[j], b[4 + j], 0x31));
  }
}

float absmax(const float* x, std::int64_t n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (std::int64_t i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  return hmax(m);
}

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

void pack_act(ActKind kind, const float* x, std::int64_t ldx, std::int64_t n_in, int n, std::byte* base, int tile) {
  const ActGroup g = act_group_at(kind, base, n_in, tile, n);
  if (kind == ActKind::kF32) {
    auto* out = const_cast<float*>(g.x);
    std::int64_t k = 0;
    for (; k + 8 <= n_in; k += 8) {
      int t = 0;
      for (; t + 8 <= n; t += 8) transpose8x8(x + t * ldx + k, ldx, out + k * n + t, n);
      for (; t < n; ++t)
        PARLEY_UNROLL for (int i = 0; i < 8; ++i) out[(k + i) * n + t] = x[t * ldx + k + i];
    }
    for (; k < n_in; ++k)
      for (int t = 0; t < n; ++t) out[k * n + t] = x[t * ldx + k];
    return;
  }
  auto* qs = const_cast<std::int8_t*>(g.qs);
  auto* d = const_cast<float*>(g.d);
  auto* nsum = const_cast<std::int32_t*>(g.nsum);
  const std::int64_t stride = 4 * n;  // bytes between a token's consecutive four-byte groups
  const std::int64_t bk = kind == ActKind::kQ8 ? 32 : 256;
  PARLEY_UNROLL for (int t = 0; t < n; ++t) {
    const float* xt = x + t * ldx;
    for (std::int64_t b = 0; b < n_in / bk; ++b) {
      const float amax = absmax(xt + b * bk, bk);
      const float scale = amax / 127.0f;
      const __m256 inv = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
      d[b * n + t] = scale;
      int sums[16];
      for (std::int64_t c = 0; c < bk / 32; ++c)
        quant32(xt + b * bk + 32 * c, inv, qs + ((b * bk + 32 * c) / 4) * stride + 4 * t, stride, sums + 2 * c);
      if (kind == ActKind::kQ8) {
        const int sum = sums[0] + sums[1];
        nsum[b * n + t] = -sum;
        const_cast<float*>(g.s)[b * n + t] = scale * static_cast<float>(sum);
      } else {
        PARLEY_UNROLL for (int i = 0; i < 16; ++i) nsum[(b * 16 + i) * n + t] = -sums[i];
        PARLEY_UNROLL for (int p = 0; p < 4; ++p) {
          const auto lo = static_cast<std::uint16_t>(static_cast<std::int16_t>(sums[4 * p] + sums[4 * p + 1]));
          const auto hi = static_cast<std::uint16_t>(static_cast<std::int16_t>(sums[4 * p + 2] + sums[4 * p + 3]));
          const_cast<std::int32_t*>(g.msum)[(b * 4 + p) * n + t] = static_cast<std::int32_t>(lo | (static_cast<std::uint32_t>(hi) << 16));
        }
      }
    }
  }
}

}  // namespace parley::cpu::avx2
