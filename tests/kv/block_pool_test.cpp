// The prefix index of BlockPool: keyed scope keys, verified hits, collisions, serials.
#include "kv/block_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace parley {
namespace {

constexpr std::int32_t kBlockSize = 4;

struct Fixture {
  BlockPool pool{8, kBlockSize};
  std::vector<std::int32_t> a{1, 2, 3, 4};
  std::vector<std::int32_t> b{5, 6, 7, 8};
  std::int32_t take() { return *pool.allocate(); }
};

TEST(BlockPool, ScopeKeysAreStablePerPoolSecretAcrossPoolsAndNeverShared) {
  BlockPool p1(4, kBlockSize), p2(4, kBlockSize);
  EXPECT_EQ(p1.scope_key("alice"), p1.scope_key("alice"));
  EXPECT_NE(p1.scope_key("alice"), p1.scope_key("bob"));
  EXPECT_NE(p1.scope_key(""), p1.scope_key("alice"));
  // Each pool draws its own secret: another process cannot compute this one's keys.
  EXPECT_NE(p1.scope_key("alice"), p2.scope_key("alice"));
  EXPECT_NE(p1.scope_key(""), kSharedScope);
}

TEST(BlockPool, AHitNeedsEqualTokensParentAndScope) {
  Fixture f;
  const BlockHash alice = f.pool.scope_key("alice");
  const std::int32_t blk = f.take();
  const std::optional<BlockSerial> s = f.pool.register_block(blk, {kRootSerial, alice, f.a});
  ASSERT_TRUE(s.has_value());
  EXPECT_NE(*s, kRootSerial);
  const std::optional<CachedBlock> hit = f.pool.lookup({kRootSerial, alice, f.a});
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->block, blk);
  EXPECT_EQ(hit->serial, *s);
  EXPECT_FALSE(f.pool.lookup({kRootSerial, alice, f.b}).has_value());
  EXPECT_FALSE(f.pool.lookup({*s, alice, f.a}).has_value());
  EXPECT_FALSE(f.pool.lookup({kRootSerial, f.pool.scope_key("bob"), f.a}).has_value());
  EXPECT_FALSE(f.pool.lookup({kRootSerial, kSharedScope, f.a}).has_value());
  EXPECT_EQ(f.pool.stats().lookups, 5);
  EXPECT_EQ(f.pool.stats().hits, 1);
}

TEST(BlockPool, ACollidingHashIsAMissAndTheLoserStaysUnregistered) {
  Fixture f;
  f.pool.set_hash_for_testing([](const BlockContent&) { return BlockHash{7}; });
  const std::int32_t x = f.take(), y = f.take();
  ASSERT_TRUE(f.pool.register_block(x, {kRootSerial, kSharedScope, f.a}).has_value());
  // Same index hash, other content: the lookup finds x's entry and refuses it.
  EXPECT_FALSE(f.pool.lookup({kRootSerial, kSharedScope, f.b}).has_value());
  EXPECT_EQ(f.pool.stats().collisions, 1);
  EXPECT_FALSE(f.pool.register_block(y, {kRootSerial, kSharedScope, f.b}).has_value());
  EXPECT_FALSE(f.pool.is_registered(y));
  EXPECT_EQ(f.pool.stats().collisions, 2);
  f.pool.release(y);  // unregistered: free, not cached
  EXPECT_EQ(f.pool.n_cached(), 0);
  EXPECT_EQ(f.pool.lookup({kRootSerial, kSharedScope, f.a})->block, x);  // x's entry is untouched
}

TEST(BlockPool, EqualContentTwiceKeepsOneEntryAndNamesItsSerial) {
  Fixture f;
  const std::int32_t x = f.take(), y = f.take();
  const auto sx = f.pool.register_block(x, {kRootSerial, kSharedScope, f.a});
  const auto sy = f.pool.register_block(y, {kRootSerial, kSharedScope, f.a});
  ASSERT_TRUE(sx.has_value() && sy.has_value());
  EXPECT_EQ(*sx, *sy);
  EXPECT_TRUE(f.pool.is_registered(x));
  EXPECT_FALSE(f.pool.is_registered(y));  // a private duplicate
}

TEST(BlockPool, SerialsAreNeverReusedSoAnEvictedParentOrphansItsChildren) {
  BlockPool pool(2, kBlockSize);
  const std::vector<std::int32_t> a{1, 2, 3, 4}, b{5, 6, 7, 8};
  const std::int32_t x = *pool.allocate(), y = *pool.allocate();
  const BlockSerial sx = *pool.register_block(x, {kRootSerial, kSharedScope, a});
  ASSERT_TRUE(pool.register_block(y, {sx, kSharedScope, b}).has_value());
  pool.release(x);
  pool.release(y);
  // x is evicted and its content registered again in a new block: a new serial.
  const std::int32_t z = *pool.allocate();
  EXPECT_EQ(z, x);
  const BlockSerial sz = *pool.register_block(z, {kRootSerial, kSharedScope, a});
  EXPECT_NE(sz, sx);
  EXPECT_FALSE(pool.lookup({sz, kSharedScope, b}).has_value());  // y hangs off the old serial
  EXPECT_TRUE(pool.lookup({sx, kSharedScope, b}).has_value());
}

}  // namespace
}  // namespace parley
