// KvCache: the memory of a paged key/value cache, allocated on a backend. Per layer, K and V each
// hold [n_blocks, block_size, n_kv_heads, head_dim] elements (F16 by default; Q8_0 halves it, F32
// for tests; see KvCacheView in kernels/backend.h for the Q8_0 layout). It
// knows a KvLayout, never a model; which blocks belong to which sequence is the business of the
// block tables (kv/block_table.h) and, later, the block pool with prefix caching.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "kernels/backend.h"

namespace parley {

struct KvLayout {
  std::int64_t n_layers = 0;
  std::int64_t n_kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t block_size = 16;  // tokens per block
  std::int64_t n_blocks = 0;
  TensorType type = TensorType::kF16;

  std::int64_t tokens_capacity() const { return n_blocks * block_size; }
  // Bytes of K (or of V) for one token of one layer: n_kv_heads * head_dim elements of `type`
  // (for Q8_0, head_dim / 32 blocks of 34 bytes per head).
  std::int64_t row_bytes() const;
  // Bytes of K and V for one token across all layers.
  std::int64_t bytes_per_token() const;
  std::int64_t total_bytes() const { return bytes_per_token() * tokens_capacity(); }
};

class KvCache {
 public:
  // Allocates the cache on `backend` (which must outlive it). Fails on an invalid layout.
  static Result<std::unique_ptr<KvCache>> create(Backend& backend, const KvLayout& layout);
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  const KvLayout& layout() const { return layout_; }
  // What the kernels see; valid while the cache lives.
  const KvCacheView& view() const { return view_; }
  // Copies the K and V of every layer of block `src` to block `dst` (copy-on-write).
  void copy_block(std::int32_t src, std::int32_t dst);
  // The bytes of one block (K then V of every layer, layer by layer), for a lower tier
  // (kv/kv_tier.h): read_block gathers them into host memory, write_block puts them back.
  std::size_t block_bytes() const;
  void read_block(std::int32_t block, std::span<std::byte> out) const;
  void write_block(std::int32_t block, std::span<const std::byte> in);

 private:
  KvCache(Backend& backend, const KvLayout& layout) : backend_(backend), layout_(layout) {}
  Backend& backend_;
  KvLayout layout_;
  std::vector<void*> k_;
  std::vector<void*> v_;
  KvCacheView view_;
};

}  // namespace parley
