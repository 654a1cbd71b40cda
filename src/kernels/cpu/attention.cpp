#include "kernels/cpu/attention.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/ops_avx2.h"

namespace parley::cpu {
namespace {

// Work below this many query-key pairs times head_dim runs on the calling thread: waking the team
// costs more.
constexpr double kParallelMin = 1 << 14;
// Queries per tile: each key and value converted to F32 serves them all, while the tile's
// transposed queries and accumulators (2 x queries x head_dim floats: 32 KiB) stay in L1/L2.
constexpr std::int64_t kTileFloats = 4096;
constexpr std::int64_t kTileQueriesMin = 8;
constexpr std::int64_t kTileQueriesMax = 64;

struct Item {
  std::int32_t seq = 0;
  std::int32_t kv_head = 0;
  std::int32_t head0 = 0;  // first query head
  std::int32_t n_heads = 0;
  std::int32_t row0 = 0;  // first row, counted from the sequence's first
  std::int32_t n_rows = 0;
  double cost = 0;  // query-key pairs
};

// One query (row b of the batch at position pos, head h) against keys 0 .. pos, a vector over
// head_dim: the path for head sizes the tile kernel does not take (not a multiple of 8). Every
// other query takes the tile kernel, whatever the tile's size: a query's output is then the same
// bits in whichever tile it lands, so it does not depend on how its prompt was chunked or what
// else the batch held (a seeded request gives the same tokens on a busy machine).
void attend_row(float* out, const float* q, const KvCacheView& kv, int layer, const AttentionSeq& s,
                const AttentionParams& p, std::int64_t b, std::int64_t pos, std::int64_t h, float* scores) {
  const std::int64_t n_keys = pos + 1;
  const std::int64_t kvh = h / (p.n_head / p.n_kv_heads);
  const std::int64_t stride = kv.n_kv_heads * kv.head_dim;
  const float* qh = q + (b * p.n_head + h) * p.head_dim;
  float* oh = out + (b * p.n_head + h) * p.head_dim;
  if (kv.type == TensorType::kQ8_0) {
    parley::avx2::dot_q8_0_rows(scores, qh, static_cast<const std::byte*>(kv.k[layer]) + kvh * kv.head_row_bytes(),
                                s.block_table, kv.block_size, kv.slot_bytes(), n_keys, p.head_dim, p.scale);
  } else if (kv.type == TensorType::kF16) {
    parley::avx2::dot_f16_rows(scores, qh, static_cast<const fp16_t*>(kv.k[layer]) + kvh * p.head_dim, s.block_table,
                               kv.block_size, stride, n_keys, p.head_dim, p.scale);
  } else {
    parley::avx2::dot_f32_rows(scores, qh, static_cast<const float*>(kv.k[layer]) + kvh * p.head_dim, s.block_table,
                               kv.block_size, stride, n_keys, p.head_dim, p.scale);
  }
  const float mx = parley::avx2::max_of(scores, n_keys);
  const float inv = 1.0f / parley::avx2::exp_shift_sum(scores, n_keys, mx);
  for (std::int64_t j = 0; j < n_keys; ++j) scores[j] *= inv;
  std::memset(oh, 0, static_cast<std::size_t>(p.head_dim) * sizeof(float));
  if (kv.type == TensorType::kQ8_0) {
    parley::avx2::axpy_q8_0_rows(oh, scores, static_cast<const std::byte*>(kv.v[layer]) + kvh * kv.head_row_bytes(),
                                 s.block_table, kv.block_size, kv.slot_bytes(), n_keys, p.head_dim);
  } else if (kv.type == TensorType::kF16) {
    parley::avx2::axpy_f16_rows(oh, scores, static_cast<const fp16_t*>(kv.v[layer]) + kvh * p.head_dim, s.block_table,
                                kv.block_size, stride, n_keys, p.head_dim);
  } else {
    parley::avx2::axpy_f32_rows(oh, scores, static_cast<const float*>(kv.v[layer]) + kvh * p.head_dim, s.block_table,
                                kv.block_size, stride, n_keys, p.head_dim);
  }
}

}  // namespace

void attention(ThreadPool& pool, MatmulScratch& scratch, float* out, const float* q, const KvCacheView& kv, int layer,
               std::span<const AttentionSeq> seqs, const AttentionParams& p) {
  const std::int64_t group = p.n_head / p.n_kv_heads;
  const bool tiles = p.head_dim % 8 == 0;
  const int n_threads = pool.size();

  // Tile shape: rows x heads queries.
  std::int64_t heads = group;
  std::int64_t rows =
      std::max<std::int64_t>(1, std::clamp(kTileFloats / p.head_dim, kTileQueriesMin, kTileQueriesMax) / group);
  const auto count = [&] {
    std::int64_t n = 0;
    for (const AttentionSeq& s : seqs) n += (s.n_rows + rows - 1) / rows;
    return n * p.n_kv_heads * (group / heads);
  };
  // At least two items per thread, by splitting rows; and at least one by splitting the group's
  // heads (a decode step of one sequence with few KV heads), which costs reuse of the keys.
  while (rows > 1 && count() < 2 * n_threads) rows = (rows + 1) / 2;
  while (heads % 2 == 0 && count() < n_threads) heads /= 2;

  std::vector<Item> items;
  items.reserve(static_cast<std::size_t>(count()));
  std::int64_t max_ctx = 0;
  double total = 0;
  for (std::size_t si = 0; si < seqs.size(); ++si) {
    const AttentionSeq& s = seqs[si];
    max_ctx = std::max<std::int64_t>(max_ctx, s.pos_begin + s.n_rows);
    for (std::int64_t r0 = 0; r0 < s.n_rows; r0 += rows) {
      const std::int64_t nr = std::min<std::int64_t>(rows, s.n_rows - r0);
      // Keys seen by the tile's rows: (pos + 1) for pos = pos_begin + r0 .. + nr - 1.
      const double keys =
          static_cast<double>(nr) * static_cast<double>(s.pos_begin + r0) + static_cast<double>(nr * (nr + 1) / 2);
      for (std::int64_t g = 0; g < p.n_kv_heads; ++g) {
        for (std::int64_t h = 0; h < group; h += heads) {
          items.push_back({static_cast<std::int32_t>(si), static_cast<std::int32_t>(g),
                           static_cast<std::int32_t>(g * group + h), static_cast<std::int32_t>(heads),
                           static_cast<std::int32_t>(r0), static_cast<std::int32_t>(nr),
                           keys * static_cast<double>(heads)});
          total += keys * static_cast<double>(heads);
        }
      }
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.cost > b.cost; });

  // Per thread: the tile kernel's arrays, or the row path's scores.
  const std::size_t tile_bytes = tiles ? avx2::attention_tile_scratch(rows * heads, p.head_dim) : 0;
  const std::size_t row_bytes = static_cast<std::size_t>(max_ctx) * sizeof(float);
  const std::size_t per_thread = (std::max(tile_bytes, row_bytes) + 63) / 64 * 64;
  std::byte* base = scratch.get(per_thread * static_cast<std::size_t>(n_threads));

  const KvElem elem = kv.type == TensorType::kQ8_0  ? KvElem::kQ8_0
                      : kv.type == TensorType::kF16 ? KvElem::kF16
                                                    : KvElem::kF32;
  const auto run = [&](int thread, const Item& it) {
    std::byte* mine = base + per_thread * static_cast<std::size_t>(thread);
    const AttentionSeq& s = seqs[static_cast<std::size_t>(it.seq)];
    if (!tiles) {
      for (std::int64_t r = it.row0; r < it.row0 + it.n_rows; ++r) {
        for (std::int64_t h = it.head0; h < it.head0 + it.n_heads; ++h) {
          attend_row(out, q, kv, layer, s, p, s.row_begin + r, s.pos_begin + r, h, reinterpret_cast<float*>(mine));
        }
      }
      return;
    }
    AttentionTile t;
    const std::int64_t at = ((s.row_begin + it.row0) * p.n_head + it.head0) * p.head_dim;
    t.out = out + at;
    t.q = q + at;
    t.row_stride = p.n_head * p.head_dim;
    t.n_rows = it.n_rows;
    t.n_heads = it.n_heads;
    t.head_dim = p.head_dim;
    t.first_pos = s.pos_begin + it.row0;
    const auto kv_at = static_cast<std::size_t>(it.kv_head * kv.head_row_bytes());
    t.k = static_cast<const std::byte*>(kv.k[layer]) + kv_at;
    t.v = static_cast<const std::byte*>(kv.v[layer]) + kv_at;
    t.elem = elem;
    t.kv_stride = kv.slot_bytes();
    t.block_table = s.block_table;
    t.block_size = kv.block_size;
    t.scale = p.scale;
    avx2::attention_tile(t, mine);
  };

  if (total * static_cast<double>(p.head_dim) < kParallelMin || n_threads == 1) {
    for (const Item& it : items) run(0, it);
    return;
  }
  // Items are claimed one at a time, largest first: all threads finish within one small item.
  std::atomic<std::size_t> next{0};
  pool.run([&](int thread) {
    for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < items.size();
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      run(thread, items[i]);
    }
  });
}

}  // namespace parley::cpu
