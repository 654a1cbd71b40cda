// KvCache: bytes per token for each KV type, what it refuses, and copy-on-write of Q8_0 blocks.
#include "kv/kv_cache.h"

#include <gtest/gtest.h>

#include <cstring>

#include "kernels/backend.h"

namespace parley {
namespace {

// TinyLlama's shape: 22 layers, 4 KV heads of 64.
KvLayout tiny_llama(TensorType type) {
  return KvLayout{22, 4, 64, 16, 8, type};
}

TEST(KvCache, BytesPerTokenPerType) {
  // K and V, every layer: 2 * 22 * 256 values.
  EXPECT_EQ(tiny_llama(TensorType::kF32).bytes_per_token(), 2 * 22 * 256 * 4);
  EXPECT_EQ(tiny_llama(TensorType::kF16).bytes_per_token(), 2 * 22 * 256 * 2);  // 22528
  // Q8_0: 34 bytes per 32 values, 53% of F16.
  EXPECT_EQ(tiny_llama(TensorType::kQ8_0).bytes_per_token(), 2 * 22 * 256 / 32 * 34);  // 11968
  EXPECT_EQ(tiny_llama(TensorType::kQ8_0).row_bytes(), 4 * 2 * 34);
}

TEST(KvCache, PoolOfQ8BlocksIsAllocatedAtItsSize) {
  auto backend = create_backend("reference");
  ASSERT_TRUE(backend.ok());
  const KvLayout layout = tiny_llama(TensorType::kQ8_0);
  auto cache = KvCache::create(**backend, layout);
  ASSERT_TRUE(cache.ok()) << cache.status().to_string();
  EXPECT_EQ((*cache)->view().type, TensorType::kQ8_0);
  EXPECT_EQ((*cache)->view().slot_bytes(), layout.row_bytes());
  EXPECT_EQ((*cache)->view().head_row_bytes(), 2 * 34);
  EXPECT_EQ(layout.total_bytes(), layout.bytes_per_token() * 8 * 16);
}

TEST(KvCache, Q8NeedsHeadSizeMultipleOf32) {
  auto backend = create_backend("reference");
  ASSERT_TRUE(backend.ok());
  const auto bad = KvCache::create(**backend, KvLayout{2, 2, 48, 16, 4, TensorType::kQ8_0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(KvCache::create(**backend, KvLayout{2, 2, 48, 16, 4, TensorType::kF16}).ok());
  EXPECT_FALSE(KvCache::create(**backend, KvLayout{2, 2, 64, 16, 4, TensorType::kQ4_0}).ok());
}

TEST(KvCache, CopyBlockCopiesQ8BlocksWhole) {
  auto backend = create_backend("reference");
  ASSERT_TRUE(backend.ok());
  const KvLayout layout{2, 2, 64, 4, 3, TensorType::kQ8_0};
  auto cache = KvCache::create(**backend, layout);
  ASSERT_TRUE(cache.ok());
  const KvCacheView& kv = (*cache)->view();
  // Slots 0..3 are block 0: write distinct rows there in layer 1, then copy block 0 to block 2.
  std::vector<float> k(4 * 128), v(4 * 128);
  for (std::size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<float>(i % 97) - 48.0f;
    v[i] = static_cast<float>(i % 89) * 0.5f;
  }
  const std::int32_t slots[] = {0, 1, 2, 3};
  (*backend)->kv_write(kv, 1, k.data(), v.data(), slots, 4);
  (*cache)->copy_block(0, 2);
  const auto block_bytes = static_cast<std::size_t>(kv.slot_bytes() * 4);
  for (void* const* base : {kv.k, kv.v}) {
    const auto* p = static_cast<const std::byte*>(base[1]);
    EXPECT_EQ(std::memcmp(p, p + 2 * block_bytes, block_bytes), 0);
  }
}

}  // namespace
}  // namespace parley
