#include "kernels/cpu/matmul_pack.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "tensor/blocks.h"
#include "tensor/quantize.h"

namespace parley::cpu {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

constexpr PanelFormat kFormats[] = {
    {TensorType::kF32, 1, 16 * 4, 0},
    {TensorType::kF16, 1, 16 * 2, 0},
    {TensorType::kBF16, 1, 16 * 2, 0},
    {TensorType::kQ8_0, 32, 512, 32},
    {TensorType::kQ4_0, 32, 256, 32},
    {TensorType::kQ4_1, 32, 256, 64},
    {TensorType::kQ5_0, 32, 320, 32},
    {TensorType::kQ5_1, 32, 320, 64},
    {TensorType::kQ4_K, 256, 2048, 320},
    {TensorType::kQ6_K, 256, 3072, 288},
};

// Offset of byte b of row r in group g of a block's quant region: [g][r][b].
constexpr std::size_t lane(int g, int r, int b) { return static_cast<std::size_t>(g) * 64 + static_cast<std::size_t>(r) * 4 + b; }

void put16(std::byte* p, int r, std::uint16_t v) { std::memcpy(p + 2 * r, &v, 2); }
std::uint16_t get16(const std::byte* p, int r) {
  std::uint16_t v;
  std::memcpy(&v, p + 2 * r, 2);
  return v;
}
std::uint8_t& u8(std::byte* p, std::size_t i) { return reinterpret_cast<std::uint8_t*>(p)[i]; }
std::uint8_t u8(const std::byte* p, std::size_t i) { return reinterpret_cast<const std::uint8_t*>(p)[i]; }

// Fifth bits of a Q5 block, regrouped so byte b of a row's lane holds the bits of the elements
// that the kernel's operands j = 0..3 place in byte b (bits 0..3: 4j+b, bits 4..7: 16+4j+b).
std::uint32_t q5_regroup(std::uint32_t qh) {
  std::uint32_t out = 0;
  for (int b = 0; b < 4; ++b) {
    for (int j = 0; j < 4; ++j) {
      out |= ((qh >> (4 * j + b)) & 1u) << (8 * b + j);
      out |= ((qh >> (16 + 4 * j + b)) & 1u) << (8 * b + 4 + j);
    }
  }
  return out;
}
std::uint32_t q5_ungroup(std::uint32_t g) {
  std::uint32_t out = 0;
  for (int b = 0; b < 4; ++b) {
    for (int j = 0; j < 4; ++j) {
      out |= ((g >> (8 * b + j)) & 1u) << (4 * j + b);
      out |= ((g >> (8 * b + 4 + j)) & 1u) << (16 + 4 * j + b);
    }
  }
  return out;
}

// One block of one row, both directions. `q` is the block's quant region, `s` its scale region;
// `src` / `dst` the GGUF block.
template <typename Block>
void pack_b32(const Block& src, int r, std::byte* q, std::byte* s) {
  constexpr bool kQ8 = std::is_same_v<Block, BlockQ8_0>;
  if constexpr (kQ8) {
    for (int g = 0; g < 8; ++g)
      for (int b = 0; b < 4; ++b) u8(q, lane(g, r, b)) = static_cast<std::uint8_t>(src.qs[4 * g + b]);
  } else {
    for (int j = 0; j < 4; ++j)
      for (int b = 0; b < 4; ++b) u8(q, lane(j, r, b)) = src.qs[4 * j + b];
  }
  if constexpr (std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>) {
    std::uint32_t qh;
    std::memcpy(&qh, src.qh, 4);
    const std::uint32_t g = q5_regroup(qh);
    std::memcpy(q + 256 + 4 * r, &g, 4);
  }
  put16(s, r, src.d);
  if constexpr (std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>) put16(s + 32, r, src.m);
}

template <typename Block>
void unpack_b32(const std::byte* q, const std::byte* s, int r, Block& dst) {
  constexpr bool kQ8 = std::is_same_v<Block, BlockQ8_0>;
  if constexpr (kQ8) {
    for (int g = 0; g < 8; ++g)
      for (int b = 0; b < 4; ++b) dst.qs[4 * g + b] = static_cast<std::int8_t>(u8(q, lane(g, r, b)));
  } else {
    for (int j = 0; j < 4; ++j)
      for (int b = 0; b < 4; ++b) dst.qs[4 * j + b] = u8(q, lane(j, r, b));
  }
  if constexpr (std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>) {
    std::uint32_t g;
    std::memcpy(&g, q + 256 + 4 * r, 4);
    const std::uint32_t qh = q5_ungroup(g);
    std::memcpy(dst.qh, &qh, 4);
  }
  dst.d = get16(s, r);
  if constexpr (std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>) dst.m = get16(s + 32, r);
}

void pack_q4k(const BlockQ4K& src, int r, std::byte* q, std::byte* s) {
  for (int c = 0; c < 4; ++c)
    for (int j = 0; j < 8; ++j)
      for (int b = 0; b < 4; ++b) u8(q, lane(8 * c + j, r, b)) = src.qs[32 * c + 4 * j + b];
  put16(s, r, src.d);
  put16(s + 32, r, src.dmin);
  for (int sb = 0; sb < 8; ++sb) {
    std::uint8_t sc, m;
    get_scale_min_k4(sb, src.scales, &sc, &m);
    u8(s, 64 + 16 * sb + r) = sc;
    u8(s, 192 + 32 * (sb / 2) + 2 * r + sb % 2) = m;
  }
}

void unpack_q4k(const std::byte* q, const std::byte* s, int r, BlockQ4K& dst) {
  for (int c = 0; c < 4; ++c)
    for (int j = 0; j < 8; ++j)
      for (int b = 0; b < 4; ++b) dst.qs[32 * c + 4 * j + b] = u8(q, lane(8 * c + j, r, b));
  dst.d = get16(s, r);
  dst.dmin = get16(s + 32, r);
  std::uint8_t sc[8], m[8];
  for (int sb = 0; sb < 8; ++sb) {
    sc[sb] = u8(s, 64 + 16 * sb + r);
    m[sb] = u8(s, 192 + 32 * (sb / 2) + 2 * r + sb % 2);
  }
  // The inverse of get_scale_min_k4's 6-bit packing.
  for (int j = 0; j < 4; ++j) {
    dst.scales[j] = static_cast<std::uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    dst.scales[j + 4] = static_cast<std::uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    dst.scales[j + 8] = static_cast<std::uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
  }
}

void pack_q6k(const BlockQ6K& src, int r, std::byte* q, std::byte* s) {
  for (int h = 0; h < 2; ++h) {
    std::byte* qh = q + 1536 * h;
    for (int j = 0; j < 8; ++j) {
      for (int b = 0; b < 4; ++b) {
        u8(qh, lane(3 * j, r, b)) = src.ql[64 * h + 4 * j + b];
        u8(qh, lane(3 * j + 1, r, b)) = src.ql[64 * h + 32 + 4 * j + b];
        u8(qh, lane(3 * j + 2, r, b)) = src.qh[32 * h + 4 * j + b];
      }
    }
  }
  for (int sb = 0; sb < 16; ++sb) u8(s, 16 * sb + r) = static_cast<std::uint8_t>(src.scales[sb]);
  put16(s + 256, r, src.d);
}

void unpack_q6k(const std::byte* q, const std::byte* s, int r, BlockQ6K& dst) {
  for (int h = 0; h < 2; ++h) {
    const std::byte* qh = q + 1536 * h;
    for (int j = 0; j < 8; ++j) {
      for (int b = 0; b < 4; ++b) {
        dst.ql[64 * h + 4 * j + b] = u8(qh, lane(3 * j, r, b));
        dst.ql[64 * h + 32 + 4 * j + b] = u8(qh, lane(3 * j + 1, r, b));
        dst.qh[32 * h + 4 * j + b] = u8(qh, lane(3 * j + 2, r, b));
      }
    }
  }
  for (int sb = 0; sb < 16; ++sb) dst.scales[sb] = static_cast<std::int8_t>(u8(s, 16 * sb + r));
  dst.d = get16(s + 256, r);
}

// Visits every (row, block) of a panel with the GGUF block and the panel block's two regions.
template <typename Block, typename F>
void for_blocks(const PanelFormat& f, std::int64_t n_in, std::byte* panel, F&& fn) {
  const std::int64_t nb = n_in / f.block_k;
  std::byte* scales = panel + static_cast<std::size_t>(nb) * f.quant_bytes;
  for (std::int64_t i = 0; i < nb; ++i) fn(i, panel + i * f.quant_bytes, scales + i * f.scale_bytes);
}

template <typename Block, typename Pack>
void pack_blocks(const PanelFormat& f, const WeightView& w, std::int64_t row0, std::byte* panel, Pack pack) {
  for_blocks<Block>(f, w.n_in, panel, [&](std::int64_t i, std::byte* q, std::byte* s) {
    for (int r = 0; r < kPanelRows && row0 + r < w.n_out; ++r) {
      const auto* row = static_cast<const std::byte*>(w.data) + (row0 + r) * static_cast<std::int64_t>(w.row_bytes);
      pack(reinterpret_cast<const Block*>(row)[i], r, q, s);
    }
  });
}

template <typename Block, typename Unpack>
void unpack_blocks(const PanelFormat& f, const std::byte* panel, std::int64_t n_in, std::int64_t n_rows, std::byte* rows,
                   std::size_t row_bytes, Unpack unpack) {
  for_blocks<Block>(f, n_in, const_cast<std::byte*>(panel), [&](std::int64_t i, std::byte* q, std::byte* s) {
    for (int r = 0; r < n_rows; ++r) unpack(q, s, r, reinterpret_cast<Block*>(rows + r * row_bytes)[i]);
  });
}

template <typename T>
void pack_float(const WeightView& w, std::int64_t row0, std::byte* panel) {
  T* out = reinterpret_cast<T*>(panel);
  for (int r = 0; r < kPanelRows && row0 + r < w.n_out; ++r) {
    const T* row = reinterpret_cast<const T*>(static_cast<const std::byte*>(w.data) + (row0 + r) * static_cast<std::int64_t>(w.row_bytes));
    for (std::int64_t k = 0; k < w.n_in; ++k) out[k * kPanelRows + r] = row[k];
  }
}

template <typename T>
void unpack_float(const std::byte* panel, std::int64_t n_in, std::int64_t n_rows, std::byte* rows, std::size_t row_bytes) {
  const T* in = reinterpret_cast<const T*>(panel);
  for (int r = 0; r < n_rows; ++r) {
    T* row = reinterpret_cast<T*>(rows + r * row_bytes);
    for (std::int64_t k = 0; k < n_in; ++k) row[k] = in[k * kPanelRows + r];
  }
}

}  // namespace

const PanelFormat* panel_format(TensorType type) {
  for (const PanelFormat& f : kFormats)
    if (f.type == type) return &f;
  return nullptr;
}

std::size_t panel_bytes(const PanelFormat& f, std::int64_t n_in) {
  return static_cast<std::size_t>(n_in / f.block_k) * (f.quant_bytes + f.scale_bytes);
}

void pack_panel(const PanelFormat& f, const WeightView& w, std::int64_t row0, std::byte* panel) {
  CHECK(w.n_in % f.block_k == 0, "n_in {} is not a multiple of the block size {}", w.n_in, f.block_k);
  std::memset(panel, 0, panel_bytes(f, w.n_in));
  switch (f.type) {
    case TensorType::kF32: return pack_float<float>(w, row0, panel);
    case TensorType::kF16:
    case TensorType::kBF16: return pack_float<std::uint16_t>(w, row0, panel);
    case TensorType::kQ8_0: return pack_blocks<BlockQ8_0>(f, w, row0, panel, pack_b32<BlockQ8_0>);
    case TensorType::kQ4_0: return pack_blocks<BlockQ4_0>(f, w, row0, panel, pack_b32<BlockQ4_0>);
    case TensorType::kQ4_1: return pack_blocks<BlockQ4_1>(f, w, row0, panel, pack_b32<BlockQ4_1>);
    case TensorType::kQ5_0: return pack_blocks<BlockQ5_0>(f, w, row0, panel, pack_b32<BlockQ5_0>);
    case TensorType::kQ5_1: return pack_blocks<BlockQ5_1>(f, w, row0, panel, pack_b32<BlockQ5_1>);
    case TensorType::kQ4_K: return pack_blocks<BlockQ4K>(f, w, row0, panel, pack_q4k);
    case TensorType::kQ6_K: return pack_blocks<BlockQ6K>(f, w, row0, panel, pack_q6k);
    default: CHECK(false, "no panel layout for {}", tensor_type_name(f.type));
  }
}

void unpack_panel(const PanelFormat& f, const std::byte* panel, std::int64_t n_in, std::int64_t n_rows, std::byte* rows,
                  std::size_t row_bytes) {
  switch (f.type) {
    case TensorType::kF32: return unpack_float<float>(panel, n_in, n_rows, rows, row_bytes);
    case TensorType::kF16:
    case TensorType::kBF16: return unpack_float<std::uint16_t>(panel, n_in, n_rows, rows, row_bytes);
    case TensorType::kQ8_0: return unpack_blocks<BlockQ8_0>(f, panel, n_in, n_rows, rows, row_bytes, unpack_b32<BlockQ8_0>);
    case TensorType::kQ4_0: return unpack_blocks<BlockQ4_0>(f, panel, n_in, n_rows, rows, row_bytes, unpack_b32<BlockQ4_0>);
    case TensorType::kQ4_1: return unpack_blocks<BlockQ4_1>(f, panel, n_in, n_rows, rows, row_bytes, unpack_b32<BlockQ4_1>);
    case TensorType::kQ5_0: return unpack_blocks<BlockQ5_0>(f, panel, n_in, n_rows, rows, row_bytes, unpack_b32<BlockQ5_0>);
    case TensorType::kQ5_1: return unpack_blocks<BlockQ5_1>(f, panel, n_in, n_rows, rows, row_bytes, unpack_b32<BlockQ5_1>);
    case TensorType::kQ4_K: return unpack_blocks<BlockQ4K>(f, panel, n_in, n_rows, rows, row_bytes, unpack_q4k);
    case TensorType::kQ6_K: return unpack_blocks<BlockQ6K>(f, panel, n_in, n_rows, rows, row_bytes, unpack_q6k);
    default: CHECK(false, "no panel layout for {}", tensor_type_name(f.type));
  }
}

// ---- Packed activations -------------------------------------------------------------------

namespace {
struct ActParts {
  std::size_t qs = 0, d = 0, nsum = 0, s = 0, msum = 0, x = 0, total = 0;
};

ActParts act_parts(ActKind kind, std::int64_t n_in, int tile) {
  const auto n = static_cast<std::size_t>(n_in);
  const auto t = static_cast<std::size_t>(tile);
  ActParts p;
  if (kind == ActKind::kF32) {
    p.total = align_up(n * t * 4);
    return p;
  }
  std::size_t at = align_up(n * t);  // qs at 0
  const std::size_t nb = kind == ActKind::kQ8 ? n / 32 : n / 256;
  p.d = at;
  at += align_up(nb * t * 4);
  p.nsum = at;
  at += align_up((kind == ActKind::kQ8 ? n / 32 : n / 16) * t * 4);
  if (kind == ActKind::kQ8) {
    p.s = at;
    at += align_up(nb * t * 4);
  } else {
    p.msum = at;
    at += align_up(n / 64 * t * 4);
  }
  p.total = at;
  return p;
}
}  // namespace

std::size_t act_group_bytes(ActKind kind, std::int64_t n_in, int tile) { return act_parts(kind, n_in, tile).total; }

ActGroup act_group_at(ActKind kind, std::byte* base, std::int64_t n_in, int tile, int /*n*/) {
  const ActParts p = act_parts(kind, n_in, tile);
  ActGroup g;
  if (kind == ActKind::kF32) {
    g.x = reinterpret_cast<const float*>(base);
    return g;
  }
  g.qs = reinterpret_cast<const std::int8_t*>(base);
  g.d = reinterpret_cast<const float*>(base + p.d);
  g.nsum = reinterpret_cast<const std::int32_t*>(base + p.nsum);
  if (kind == ActKind::kQ8) g.s = reinterpret_cast<const float*>(base + p.s);
  else g.msum = reinterpret_cast<const std::int32_t*>(base + p.msum);
  return g;
}

void pack_act_scalar(ActKind kind, const float* x, std::int64_t ldx, std::int64_t n_in, int n, std::byte* base, int tile) {
  ActGroup g = act_group_at(kind, base, n_in, tile, n);
  if (kind == ActKind::kF32) {
    auto* out = const_cast<float*>(g.x);
    for (int t = 0; t < n; ++t)
      for (std::int64_t k = 0; k < n_in; ++k) out[k * n + t] = x[t * ldx + k];
    return;
  }
  auto* qs = const_cast<std::int8_t*>(g.qs);
  auto* d = const_cast<float*>(g.d);
  auto* nsum = const_cast<std::int32_t*>(g.nsum);
  const std::int64_t bk = kind == ActKind::kQ8 ? 32 : 256;
  for (int t = 0; t < n; ++t) {
    const float* xt = x + t * ldx;
    for (std::int64_t b = 0; b < n_in / bk; ++b) {
      float amax = 0.0f;
      for (std::int64_t i = 0; i < bk; ++i) amax = std::max(amax, std::fabs(xt[b * bk + i]));
      const float scale = amax / 127.0f;
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      d[b * n + t] = scale;
      int sum16[16] = {};
      for (std::int64_t i = 0; i < bk; ++i) {
        const std::int64_t k = b * bk + i;
        const int q = static_cast<int>(std::nearbyint(xt[k] * inv));
        qs[(k / 4) * n * 4 + t * 4 + k % 4] = static_cast<std::int8_t>(q);
        sum16[i / 16] += q;
      }
      if (kind == ActKind::kQ8) {
        const int sum = sum16[0] + sum16[1];
        nsum[b * n + t] = -sum;
        const_cast<float*>(g.s)[b * n + t] = scale * static_cast<float>(sum);
      } else {
        for (int s = 0; s < 16; ++s) nsum[(b * 16 + s) * n + t] = -sum16[s];
        for (int p = 0; p < 4; ++p) {
          const auto lo = static_cast<std::uint16_t>(static_cast<std::int16_t>(sum16[4 * p] + sum16[4 * p + 1]));
          const auto hi = static_cast<std::uint16_t>(static_cast<std::int16_t>(sum16[4 * p + 2] + sum16[4 * p + 3]));
          const_cast<std::int32_t*>(g.msum)[(b * 4 + p) * n + t] = static_cast<std::int32_t>(lo | (static_cast<std::uint32_t>(hi) << 16));
        }
      }
    }
  }
}

}  // namespace parley::cpu
