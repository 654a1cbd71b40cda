// The attention tile kernel (AVX2/FMA/F16C): flash-attention style, with online softmax.
//
// The tile's M queries (query m is row m / n_heads, head m % n_heads) walk the keys in chunks of
// up to kChunk positions. Per chunk:
//   1. the chunk's keys and values are gathered from their blocks into contiguous F32 rows: each
//      F16 element is converted once and then used by all M queries (the row-at-a-time path
//      converted every key once per query head);
//   2. s[j][m] = k_j . q_m with the queries held transposed and pre-scaled (qt[d][m] =
//      q_m[d] * scale): a ymm holds 8 queries, a key element is a broadcast, so no horizontal sums;
//   3. online softmax, a ymm of queries at a time: the running max mx and sum l per query,
//      p[j][m] = exp(s[j][m] - mx_new), and alpha = exp(mx_old - mx_new), the factor that moves
//      what was accumulated under the old max to the new one. Keys after a row's position get
//      p = 0 (causal), so no score buffer as long as the context is needed;
//   4. o[m][:] = alpha[m] * o[m][:] + sum_j p[j][m] * v_j, a ymm over head dimensions.
// At the end out[m] = o[m] / l[m].
//
// No std:: templates here: an instantiation compiled with AVX2 could be the one the linker keeps
// for code that runs on older processors (see kernels/CMakeLists.txt).
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/exp_avx2.h"
#include "kernels/cpu/q8_avx2.h"

namespace parley::cpu::avx2 {
namespace {

using parley::avx2::exp256_nonpositive;

// The tile loops have compile-time trip counts; unrolled completely the accumulator arrays become
// registers, which GCC at -O2 does not do on its own.
#define PARLEY_UNROLL _Pragma("GCC unroll 32")

constexpr std::int64_t kLanes = 8;
// Keys per step: two blocks of 16. More keys per step means fewer loads and stores of the
// accumulators o per key; the chunk's scores, keys and values (3 * 32 * 64 floats for 64 queries
// of head_dim 64) stay in L1.
constexpr std::int64_t kChunk = 32;
// Dimensions per partial dot product (see qk_tile).
constexpr std::int64_t kDotSlice = 16;

constexpr std::int64_t round_up(std::int64_t n, std::int64_t m) { return (n + m - 1) / m * m; }
constexpr std::int64_t min64(std::int64_t a, std::int64_t b) { return a < b ? a : b; }

// Tiles of fewer queries than this compute with the keys in the lanes (narrow_chunk): with
// queries in the lanes most of each ymm would be padding.
constexpr std::int64_t kNarrowBelow = 4;
constexpr bool narrow(std::int64_t n_queries) {
  return n_queries < kNarrowBelow;
}

// Byte offsets of the tile's arrays in the scratch, each 64-byte aligned.
struct Layout {
  std::int64_t mp = 0;  // queries rounded up to whole ymm (the extra lanes are zero queries)
  std::size_t qt = 0, o = 0, s = 0, kf = 0, kt = 0, vf = 0, mx = 0, l = 0, alpha = 0, lim = 0, total = 0;
};

Layout layout(std::int64_t n_queries, std::int64_t head_dim) {
  Layout a;
  a.mp = round_up(n_queries, kLanes);
  std::size_t at = 0;
  const auto take = [&](std::int64_t floats) {
    const std::size_t r = at;
    at += static_cast<std::size_t>(round_up(floats * 4, 64));
    return r;
  };
  a.qt = take(head_dim * a.mp);  // [head_dim, mp]
  a.o = take(a.mp * head_dim);   // [mp, head_dim]
  a.s = take(kChunk * a.mp);     // [kChunk, mp]
  a.kf = take(kChunk * head_dim);
  // [head_dim, kChunk], used by narrow tiles only but always there: the scratch a plan sizes for
  // its largest tile then serves its smaller ones too.
  a.kt = take(head_dim * kChunk);
  a.vf = take(kChunk * head_dim);
  a.mx = take(a.mp);
  a.l = take(a.mp);
  a.alpha = take(a.mp);
  a.lim = take(a.mp);  // int32: the number of keys each query sees
  a.total = at;
  return a;
}

// slots[j] = the cache slot of position j0 + j, for j < n: one division per chunk, not one per key
// (a 64-bit idiv costs more than converting the key).
void chunk_slots(std::int64_t* slots, const AttentionTile& t, std::int64_t j0, std::int64_t n) {
  std::int64_t block = j0 / t.block_size;
  std::int64_t offset = j0 - block * t.block_size;
  for (std::int64_t j = 0; j < n; ++j) {
    slots[j] = static_cast<std::int64_t>(t.block_table[block]) * t.block_size + offset;
    if (++offset == t.block_size) {
      offset = 0;
      ++block;
    }
  }
}

// kf, vf [n, head_dim] = the K and V rows of the slots, as F32. A plain loop of independent loads
// keeps many cache misses in flight; reading the keys inside the dot products instead was slower
// (tried for decode), as there each miss holds up a chain of FMAs and the window fills.
template <bool kF16>
void gather(float* kf, float* vf, const AttentionTile& t, const std::int64_t* slots, std::int64_t n) {
  using Elem = std::conditional_t<kF16, std::uint16_t, float>;
  for (std::int64_t j = 0; j < n; ++j) {
    const auto* ks = reinterpret_cast<const Elem*>(static_cast<const char*>(t.k) + slots[j] * t.kv_stride);
    const auto* vs = reinterpret_cast<const Elem*>(static_cast<const char*>(t.v) + slots[j] * t.kv_stride);
    float* kd = kf + j * t.head_dim;
    float* vd = vf + j * t.head_dim;
    for (std::int64_t d = 0; d < t.head_dim; d += kLanes) {
      if constexpr (kF16) {
        _mm256_store_ps(kd + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ks + d))));
        _mm256_store_ps(vd + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vs + d))));
      } else {
        _mm256_store_ps(kd + d, _mm256_loadu_ps(ks + d));
        _mm256_store_ps(vd + d, _mm256_loadu_ps(vs + d));
      }
    }
  }
}

// The same for Q8_0 rows: each block's 32 values are scaled once here and serve every query.
void gather_q8_0(float* kf, float* vf, const AttentionTile& t, const std::int64_t* slots, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) {
    parley::avx2::q8_0_row_to_f32(kf + j * t.head_dim, static_cast<const unsigned char*>(t.k) + slots[j] * t.kv_stride,
                                  t.head_dim);
    parley::avx2::q8_0_row_to_f32(vf + j * t.head_dim, static_cast<const unsigned char*>(t.v) + slots[j] * t.kv_stride,
                                  t.head_dim);
  }
}

// Asks for the K and V rows of the slots to be brought into the cache while the current chunk
// is computed: a decode step reads them from memory, block by scattered block.
void prefetch(const AttentionTile& t, const std::int64_t* slots, std::int64_t n) {
  const std::int64_t row_bytes = t.elem == KvElem::kQ8_0
                                     ? t.head_dim / parley::avx2::kQ8Block * parley::avx2::kQ8BlockBytes
                                     : t.head_dim * (t.elem == KvElem::kF16 ? 2 : 4);
  for (std::int64_t j = 0; j < n; ++j) {
    const char* k = static_cast<const char*>(t.k) + slots[j] * t.kv_stride;
    const char* v = static_cast<const char*>(t.v) + slots[j] * t.kv_stride;
    for (std::int64_t b = 0; b < row_bytes; b += 64) {
      _mm_prefetch(k + b, _MM_HINT_T0);
      _mm_prefetch(v + b, _MM_HINT_T0);
    }
  }
}

// s[j][m] = sum_d kf[j][d] * qt[d][m] for JN keys and MV ymm of queries (pointers at the first).
// The sum runs in slices of kDotSlice dimensions, each from zero, added up in s: one chain of
// head_dim rounding steps on a growing sum loses about 3x the accuracy of the row path's 8 lanes.
template <int JN, int MV>
void qk_tile(float* s, const float* kf, const float* qt, std::int64_t head_dim, std::int64_t mp) {
  for (std::int64_t d0 = 0; d0 < head_dim; d0 += kDotSlice) {
    __m256 acc[JN][MV];
    PARLEY_UNROLL for (int j = 0; j < JN; ++j)
      PARLEY_UNROLL for (int v = 0; v < MV; ++v) acc[j][v] = _mm256_setzero_ps();
    for (std::int64_t d = d0; d < min64(d0 + kDotSlice, head_dim); ++d) {
      __m256 qv[MV];
      PARLEY_UNROLL for (int v = 0; v < MV; ++v) qv[v] = _mm256_load_ps(qt + d * mp + kLanes * v);
      PARLEY_UNROLL for (int j = 0; j < JN; ++j) {
        const __m256 kb = _mm256_broadcast_ss(kf + j * head_dim + d);
        PARLEY_UNROLL for (int v = 0; v < MV; ++v) acc[j][v] = _mm256_fmadd_ps(kb, qv[v], acc[j][v]);
      }
    }
    PARLEY_UNROLL for (int j = 0; j < JN; ++j) {
      PARLEY_UNROLL for (int v = 0; v < MV; ++v) {
        float* dst = s + j * mp + kLanes * v;
        _mm256_store_ps(dst, d0 == 0 ? acc[j][v] : _mm256_add_ps(_mm256_load_ps(dst), acc[j][v]));
      }
    }
  }
}

// All nb keys against MV ymm of queries.
template <int MV>
void qk_columns(float* s, const float* kf, const float* qt, std::int64_t nb, std::int64_t head_dim, std::int64_t mp) {
  // With one ymm of queries (decode with 8 heads per KV head) 4 keys would give 4 accumulators,
  // too few to cover the FMA latency: take 8.
  constexpr int kWide = MV == 1 ? 8 : 4;
  std::int64_t j = 0;
  for (; j + kWide <= nb; j += kWide) qk_tile<kWide, MV>(s + j * mp, kf + j * head_dim, qt, head_dim, mp);
  if constexpr (kWide == 8) {
    if (j + 4 <= nb) {
      qk_tile<4, MV>(s + j * mp, kf + j * head_dim, qt, head_dim, mp);
      j += 4;
    }
  }
  for (; j < nb; ++j) qk_tile<1, MV>(s + j * mp, kf + j * head_dim, qt, head_dim, mp);
}

// Columns of 3 ymm of queries (12 accumulators), the rest in columns of 2 (4 = 2 + 2, not 3 + 1:
// one column has too few accumulators per load).
void qk(float* s, const float* kf, const float* qt, std::int64_t nb, std::int64_t head_dim, std::int64_t mp) {
  for (std::int64_t m = 0; m < mp;) {
    const std::int64_t left = (mp - m) / kLanes;
    if (left >= 3 && left != 4) {
      qk_columns<3>(s + m, kf, qt + m, nb, head_dim, mp);
      m += 3 * kLanes;
    } else if (left >= 2) {
      qk_columns<2>(s + m, kf, qt + m, nb, head_dim, mp);
      m += 2 * kLanes;
    } else {
      qk_columns<1>(s + m, kf, qt + m, nb, head_dim, mp);
      m += kLanes;
    }
  }
}

// ---- Narrow tiles (1-3 queries): 8 keys in the lanes --------------------------------------------
//
// The same operations per (query, key) as the tile path above, in the same order, so the same
// bits: a query's output does not depend on the tile it lands in, and so not on how its prompt was
// chunked or batched (serving-engine.md, "Seeds and batch invariance"). With queries in the lanes
// most of each ymm would be padding.

// Dimensions d .. d + 7 of a K or V row, as F32: the same values gather() and gather_q8_0() store.
template <KvElem E>
inline __m256 row8(const unsigned char* row, std::int64_t d) {
  if constexpr (E == KvElem::kQ8_0) {
    const unsigned char* block = row + d / parley::avx2::kQ8Block * parley::avx2::kQ8BlockBytes;
    return parley::avx2::q8_0_part(block, parley::avx2::q8_0_scale(block), static_cast<int>(d % 32 / kLanes));
  } else if constexpr (E == KvElem::kF16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * d)));
  } else {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + d);
  }
}

// kt [head_dim, kChunk] = the K rows transposed 8 x 8 in registers, keys n .. kChunk zero.
template <KvElem E>
void gather_keys_narrow(float* kt, const AttentionTile& t, const std::int64_t* slots, std::int64_t n) {
  const auto* k = static_cast<const unsigned char*>(t.k);
  for (std::int64_t j = 0; j < kChunk; j += kLanes) {
    for (std::int64_t d = 0; d < t.head_dim; d += kLanes) {
      __m256 r[8];
      PARLEY_UNROLL for (int i = 0; i < 8; ++i) {
        r[i] = j + i < n ? row8<E>(k + slots[j + i] * t.kv_stride, d) : _mm256_setzero_ps();
      }
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* dst = kt + d * kChunk + j;
      _mm256_store_ps(dst + 0 * kChunk, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_store_ps(dst + 1 * kChunk, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_store_ps(dst + 2 * kChunk, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_store_ps(dst + 3 * kChunk, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_store_ps(dst + 4 * kChunk, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_store_ps(dst + 5 * kChunk, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_store_ps(dst + 6 * kChunk, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_store_ps(dst + 7 * kChunk, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    if (j + kLanes >= n) {
      // The remaining groups hold no key: zero them once.
      for (std::int64_t d = 0; d < t.head_dim; ++d) {
        for (std::int64_t jj = j + kLanes; jj < kChunk; ++jj) kt[d * kChunk + jj] = 0.0f;
      }
      break;
    }
  }
}

// qk() and softmax_chunk() for the nq real queries of a narrow tile: the scores of a query over the
// chunk's keys (lanes), its running max, sum and alpha, and its p written into s [nb, mp] for pv().
// Per key: the FMA chain of each slice of kDotSlice dimensions, the slices added in order (qk_tile);
// the max over the keys it sees, exp(x - max) of those and 0 for the others, summed one key after
// the other from 0, and l = l * alpha + sum with one rounding (softmax_chunk).
void narrow_chunk(float* s, float* mx, float* l, float* alpha, const std::int32_t* lim, const float* kt,
                  const float* qt, std::int64_t nq, std::int64_t j0, std::int64_t nb, std::int64_t head_dim,
                  std::int64_t mp) {
  constexpr int kGroups = static_cast<int>(kChunk / kLanes);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (std::int64_t m = 0; m < nq; ++m) {
    __m256 sum[kGroups];
    PARLEY_UNROLL for (int g = 0; g < kGroups; ++g) sum[g] = _mm256_setzero_ps();
    for (std::int64_t d0 = 0; d0 < head_dim; d0 += kDotSlice) {
      __m256 acc[kGroups];
      PARLEY_UNROLL for (int g = 0; g < kGroups; ++g) acc[g] = _mm256_setzero_ps();
      for (std::int64_t d = d0; d < min64(d0 + kDotSlice, head_dim); ++d) {
        const __m256 qb = _mm256_broadcast_ss(qt + d * mp + m);
        PARLEY_UNROLL for (int g = 0; g < kGroups; ++g) {
          acc[g] = _mm256_fmadd_ps(_mm256_load_ps(kt + d * kChunk + kLanes * g), qb, acc[g]);
        }
      }
      PARLEY_UNROLL for (int g = 0; g < kGroups; ++g) sum[g] = d0 == 0 ? acc[g] : _mm256_add_ps(sum[g], acc[g]);
    }
    const std::int64_t seen = lim[m] - j0;
    const std::int64_t nv = seen < 0 ? 0 : seen > nb ? nb : seen;  // keys of the chunk it sees
    alignas(32) float x[kChunk];
    PARLEY_UNROLL for (int g = 0; g < kGroups; ++g) _mm256_store_ps(x + kLanes * g, sum[g]);
    float block_max = -INFINITY;
    for (std::int64_t j = 0; j < nv; ++j) block_max = x[j] > block_max ? x[j] : block_max;
    const float old_max = mx[m];
    const float new_max = block_max > old_max ? block_max : old_max;
    const float a = _mm256_cvtss_f32(exp256_nonpositive(_mm256_set1_ps(old_max - new_max)));
    const __m256 vmax = _mm256_set1_ps(new_max);
    const __m256i vnv = _mm256_set1_epi32(static_cast<int>(nv));
    PARLEY_UNROLL for (int g = 0; g < kGroups; ++g) {
      const __m256 e = exp256_nonpositive(_mm256_sub_ps(_mm256_load_ps(x + kLanes * g), vmax));
      const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(kLanes * g));
      _mm256_store_ps(x + kLanes * g, _mm256_and_ps(e, _mm256_castsi256_ps(_mm256_cmpgt_epi32(vnv, idx))));
    }
    float total = 0.0f;
    for (std::int64_t j = 0; j < nb; ++j) {
      total += x[j];
      s[j * mp + m] = x[j];
    }
    mx[m] = new_max;
    alpha[m] = a;
    l[m] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(l[m]), _mm_set_ss(a), _mm_set_ss(total)));
  }
}

// pv() for the MN (1-3) queries of a narrow tile and DV ymm of dimensions from d, reading the V rows
// straight from the cache: the same operations per (query, dimension) in the same order as
// pv_tile(), without a gathered copy of V.
template <KvElem E, int MN, int DV>
void pv_narrow_tile(float* o, const float* p, const AttentionTile& t, const std::int64_t* slots, const float* alpha,
                    std::int64_t nb, std::int64_t mp, std::int64_t d) {
  const auto* v = static_cast<const unsigned char*>(t.v);
  __m256 acc[MN][DV];
  PARLEY_UNROLL for (int i = 0; i < MN; ++i) {
    const __m256 a = _mm256_broadcast_ss(alpha + i);
    PARLEY_UNROLL for (int u = 0; u < DV; ++u) {
      acc[i][u] = _mm256_mul_ps(a, _mm256_load_ps(o + i * t.head_dim + d + kLanes * u));
    }
  }
  for (std::int64_t j = 0; j < nb; ++j) {
    const unsigned char* row = v + slots[j] * t.kv_stride;
    __m256 vv[DV];
    PARLEY_UNROLL for (int u = 0; u < DV; ++u) vv[u] = row8<E>(row, d + kLanes * u);
    PARLEY_UNROLL for (int i = 0; i < MN; ++i) {
      const __m256 pb = _mm256_broadcast_ss(p + j * mp + i);
      PARLEY_UNROLL for (int u = 0; u < DV; ++u) acc[i][u] = _mm256_fmadd_ps(pb, vv[u], acc[i][u]);
    }
  }
  PARLEY_UNROLL for (int i = 0; i < MN; ++i) PARLEY_UNROLL for (int u = 0; u < DV; ++u)
      _mm256_store_ps(o + i * t.head_dim + d + kLanes * u, acc[i][u]);
}

template <KvElem E, int MN>
void pv_narrow_rows(float* o, const float* p, const AttentionTile& t, const std::int64_t* slots, const float* alpha,
                    std::int64_t nb, std::int64_t mp) {
  std::int64_t d = 0;
  for (; d + 4 * kLanes <= t.head_dim; d += 4 * kLanes) pv_narrow_tile<E, MN, 4>(o, p, t, slots, alpha, nb, mp, d);
  switch ((t.head_dim - d) / kLanes) {
    case 3:
      pv_narrow_tile<E, MN, 3>(o, p, t, slots, alpha, nb, mp, d);
      break;
    case 2:
      pv_narrow_tile<E, MN, 2>(o, p, t, slots, alpha, nb, mp, d);
      break;
    case 1:
      pv_narrow_tile<E, MN, 1>(o, p, t, slots, alpha, nb, mp, d);
      break;
    default:
      break;
  }
}

// One chunk of a narrow tile: K gathered transposed, scores and softmax, then p.v.
template <KvElem E>
void narrow_step(float* o, float* s, float* kt, float* mx, float* l, float* alpha, const std::int32_t* lim,
                 const float* qt, const AttentionTile& t, const std::int64_t* slots, std::int64_t nq, std::int64_t j0,
                 std::int64_t nb, std::int64_t mp) {
  gather_keys_narrow<E>(kt, t, slots, nb);
  narrow_chunk(s, mx, l, alpha, lim, kt, qt, nq, j0, nb, t.head_dim, mp);
  switch (nq) {
    case 1:
      pv_narrow_rows<E, 1>(o, s, t, slots, alpha, nb, mp);
      break;
    case 2:
      pv_narrow_rows<E, 2>(o, s, t, slots, alpha, nb, mp);
      break;
    default:
      pv_narrow_rows<E, 3>(o, s, t, slots, alpha, nb, mp);
      break;
  }
}

// Online softmax over the chunk of keys j0 .. j0 + nb: s becomes p, mx and l move on, alpha is
// the factor for the accumulators. `causal`: some query of the tile must not see some key of the
// chunk (lim[m] = the number of keys query m sees).
void softmax_chunk(float* s, float* mx, float* l, float* alpha, const std::int32_t* lim, std::int64_t j0,
                   std::int64_t nb, std::int64_t mp, bool causal) {
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
  for (std::int64_t m = 0; m < mp; m += kLanes) {
    const __m256i lv = _mm256_load_si256(reinterpret_cast<const __m256i*>(lim + m));
    __m256 block_max = neg_inf;
    for (std::int64_t j = 0; j < nb; ++j) {
      float* sj = s + j * mp + m;
      __m256 x = _mm256_load_ps(sj);
      if (causal) {
        const __m256 visible = _mm256_castsi256_ps(_mm256_cmpgt_epi32(lv, _mm256_set1_epi32(static_cast<int>(j0 + j))));
        x = _mm256_blendv_ps(neg_inf, x, visible);
        _mm256_store_ps(sj, x);
      }
      block_max = _mm256_max_ps(block_max, x);
    }
    // Every query sees key 0, in the first chunk: from then on the max is finite.
    const __m256 old_max = _mm256_load_ps(mx + m);
    const __m256 new_max = _mm256_max_ps(old_max, block_max);
    const __m256 a = exp256_nonpositive(_mm256_sub_ps(old_max, new_max));
    _mm256_store_ps(mx + m, new_max);
    _mm256_store_ps(alpha + m, a);
    __m256 sum = _mm256_setzero_ps();
    for (std::int64_t j = 0; j < nb; ++j) {
      float* sj = s + j * mp + m;
      const __m256 x = _mm256_load_ps(sj);
      __m256 e = exp256_nonpositive(_mm256_sub_ps(x, new_max));
      // exp256_nonpositive(-inf) is ~1e-38, not 0: a hidden key must weigh exactly nothing.
      if (causal) e = _mm256_and_ps(e, _mm256_cmp_ps(x, neg_inf, _CMP_NEQ_OQ));
      _mm256_store_ps(sj, e);
      sum = _mm256_add_ps(sum, e);
    }
    _mm256_store_ps(l + m, _mm256_fmadd_ps(_mm256_load_ps(l + m), a, sum));
  }
}

// o[m][:] = alpha[m] * o[m][:] + sum_j p[j][m] * vf[j][:] for MN queries and DV ymm of dimensions
// (pointers at the first).
template <int MN, int DV>
void pv_tile(float* o, const float* p, const float* vf, const float* alpha, std::int64_t nb, std::int64_t head_dim,
             std::int64_t mp) {
  __m256 acc[MN][DV];
  PARLEY_UNROLL for (int i = 0; i < MN; ++i) {
    const __m256 a = _mm256_broadcast_ss(alpha + i);
    PARLEY_UNROLL for (int v = 0; v < DV; ++v) {
      acc[i][v] = _mm256_mul_ps(a, _mm256_load_ps(o + i * head_dim + kLanes * v));
    }
  }
  for (std::int64_t j = 0; j < nb; ++j) {
    __m256 vv[DV];
    PARLEY_UNROLL for (int v = 0; v < DV; ++v) vv[v] = _mm256_load_ps(vf + j * head_dim + kLanes * v);
    PARLEY_UNROLL for (int i = 0; i < MN; ++i) {
      const __m256 pb = _mm256_broadcast_ss(p + j * mp + i);
      PARLEY_UNROLL for (int v = 0; v < DV; ++v) acc[i][v] = _mm256_fmadd_ps(pb, vv[v], acc[i][v]);
    }
  }
  PARLEY_UNROLL for (int i = 0; i < MN; ++i)
    PARLEY_UNROLL for (int v = 0; v < DV; ++v) _mm256_store_ps(o + i * head_dim + kLanes * v, acc[i][v]);
}

// All nq queries for DV ymm of dimensions.
template <int DV>
void pv_rows(float* o, const float* p, const float* vf, const float* alpha, std::int64_t nq, std::int64_t nb,
             std::int64_t head_dim, std::int64_t mp) {
  std::int64_t m = 0;
  for (; m + 3 <= nq; m += 3) pv_tile<3, DV>(o + m * head_dim, p + m, vf, alpha + m, nb, head_dim, mp);
  if (nq - m == 2) pv_tile<2, DV>(o + m * head_dim, p + m, vf, alpha + m, nb, head_dim, mp);
  if (nq - m == 1) pv_tile<1, DV>(o + m * head_dim, p + m, vf, alpha + m, nb, head_dim, mp);
}

void pv(float* o, const float* p, const float* vf, const float* alpha, std::int64_t nq, std::int64_t nb,
        std::int64_t head_dim, std::int64_t mp) {
  std::int64_t d = 0;
  for (; d + 4 * kLanes <= head_dim; d += 4 * kLanes) pv_rows<4>(o + d, p, vf + d, alpha, nq, nb, head_dim, mp);
  switch ((head_dim - d) / kLanes) {
    case 3: pv_rows<3>(o + d, p, vf + d, alpha, nq, nb, head_dim, mp); break;
    case 2: pv_rows<2>(o + d, p, vf + d, alpha, nq, nb, head_dim, mp); break;
    case 1: pv_rows<1>(o + d, p, vf + d, alpha, nq, nb, head_dim, mp); break;
    default: break;
  }
}

}  // namespace

std::size_t attention_tile_scratch(std::int64_t n_queries, std::int64_t head_dim) {
  return layout(n_queries, head_dim).total;
}

void attention_tile(const AttentionTile& t, std::byte* scratch) {
  const std::int64_t nq = t.n_rows * t.n_heads;
  const std::int64_t hd = t.head_dim;
  const Layout lay = layout(nq, hd);
  const std::int64_t mp = lay.mp;
  float* qt = reinterpret_cast<float*>(scratch + lay.qt);
  float* o = reinterpret_cast<float*>(scratch + lay.o);
  float* s = reinterpret_cast<float*>(scratch + lay.s);
  float* kf = reinterpret_cast<float*>(scratch + lay.kf);
  float* kt = reinterpret_cast<float*>(scratch + lay.kt);
  float* vf = reinterpret_cast<float*>(scratch + lay.vf);
  float* mx = reinterpret_cast<float*>(scratch + lay.mx);
  float* l = reinterpret_cast<float*>(scratch + lay.l);
  float* alpha = reinterpret_cast<float*>(scratch + lay.alpha);
  auto* lim = reinterpret_cast<std::int32_t*>(scratch + lay.lim);

  // Queries transposed and scaled. The padding lanes are zero queries that see every key: their
  // scores are 0, finite, and their outputs are never stored.
  for (std::int64_t m = 0; m < mp; ++m) {
    if (m < nq) {
      const float* src = t.q + (m / t.n_heads) * t.row_stride + (m % t.n_heads) * hd;
      for (std::int64_t d = 0; d < hd; ++d) qt[d * mp + m] = src[d] * t.scale;
      lim[m] = static_cast<std::int32_t>(t.first_pos + m / t.n_heads + 1);
    } else {
      for (std::int64_t d = 0; d < hd; ++d) qt[d * mp + m] = 0.0f;
      lim[m] = static_cast<std::int32_t>(t.first_pos + t.n_rows);
    }
    mx[m] = -INFINITY;
    l[m] = 0.0f;
  }
  std::memset(o, 0, static_cast<std::size_t>(mp * hd) * sizeof(float));

  const std::int64_t n_keys = t.first_pos + t.n_rows;  // the last row's
  const std::int64_t seen_by_all = t.first_pos + 1;    // the first row's
  std::int64_t slots[2][kChunk];                       // the chunk's and the next one's
  chunk_slots(slots[0], t, 0, min64(kChunk, n_keys));
  for (std::int64_t j0 = 0, c = 0; j0 < n_keys; j0 += kChunk, c ^= 1) {
    const std::int64_t nb = min64(kChunk, n_keys - j0);
    if (j0 + kChunk < n_keys) {
      const std::int64_t next = min64(kChunk, n_keys - j0 - kChunk);
      chunk_slots(slots[c ^ 1], t, j0 + kChunk, next);
      prefetch(t, slots[c ^ 1], next);
    }
    if (narrow(nq)) {
      if (t.elem == KvElem::kQ8_0) {
        narrow_step<KvElem::kQ8_0>(o, s, kt, mx, l, alpha, lim, qt, t, slots[c], nq, j0, nb, mp);
      } else if (t.elem == KvElem::kF16) {
        narrow_step<KvElem::kF16>(o, s, kt, mx, l, alpha, lim, qt, t, slots[c], nq, j0, nb, mp);
      } else {
        narrow_step<KvElem::kF32>(o, s, kt, mx, l, alpha, lim, qt, t, slots[c], nq, j0, nb, mp);
      }
      continue;
    }
    if (t.elem == KvElem::kQ8_0) {
      gather_q8_0(kf, vf, t, slots[c], nb);
    } else if (t.elem == KvElem::kF16) {
      gather<true>(kf, vf, t, slots[c], nb);
    } else {
      gather<false>(kf, vf, t, slots[c], nb);
    }
    qk(s, kf, qt, nb, hd, mp);
    softmax_chunk(s, mx, l, alpha, lim, j0, nb, mp, j0 + nb > seen_by_all);
    pv(o, s, vf, alpha, nq, nb, hd, mp);
  }

  for (std::int64_t m = 0; m < nq; ++m) {
    const __m256 inv = _mm256_set1_ps(1.0f / l[m]);
    float* dst = t.out + (m / t.n_heads) * t.row_stride + (m % t.n_heads) * hd;
    for (std::int64_t d = 0; d < hd; d += kLanes) {
      _mm256_storeu_ps(dst + d, _mm256_mul_ps(_mm256_load_ps(o + m * hd + d), inv));
    }
  }
}

}  // namespace parley::cpu::avx2
