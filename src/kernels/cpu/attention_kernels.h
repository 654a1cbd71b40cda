// The tile kernel of the CPU attention (attention.h plans the tiles and runs them on the pool).
// attention_avx2.cpp is compiled with -mavx2 -mfma -mf16c; call it only after cpu_features()
// confirms those instruction sets. Internal to kernels/cpu.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::cpu {

// How the cache stores an element (kernels/backend.h).
enum class KvElem { kF32, kF16, kQ8_0 };

// A tile of queries that share their keys and values: `n_rows` consecutive rows of one sequence
// times `n_heads` consecutive query heads of one KV head's group. Row r of the tile is the token
// at position first_pos + r and attends to the keys at positions 0 .. first_pos + r.
struct AttentionTile {
  float* out = nullptr;         // row 0, first head: [n_rows, row_stride], heads head_dim apart
  const float* q = nullptr;     // laid out like out
  std::int64_t row_stride = 0;  // floats from one row to the next in q and out
  std::int64_t n_rows = 0;
  std::int64_t n_heads = 0;
  std::int64_t head_dim = 0;  // a multiple of 8
  std::int64_t first_pos = 0;
  // The layer's K and V at this KV head: position j's row starts slot(j) * kv_stride bytes into
  // k and v, slot(j) = block_table[j / block_size] * block_size + j % block_size.
  const void* k = nullptr;
  const void* v = nullptr;
  KvElem elem = KvElem::kF16;
  std::int64_t kv_stride = 0;  // bytes
  const std::int32_t* block_table = nullptr;
  std::int64_t block_size = 0;
  float scale = 1.0f;
};

namespace avx2 {

// Bytes of scratch attention_tile() needs for a tile of n_queries = n_rows * n_heads queries.
std::size_t attention_tile_scratch(std::int64_t n_queries, std::int64_t head_dim);
// Computes the tile's outputs. `scratch`: attention_tile_scratch() bytes, 64-byte aligned.
void attention_tile(const AttentionTile& t, std::byte* scratch);

}  // namespace avx2
}  // namespace parley::cpu
