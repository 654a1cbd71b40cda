// DiskKvTier: bit-exact round trips, verification, restart, LRU bound, torn/foreign files, and a
// full disk.
#include "kv/disk_kv_tier.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

namespace parley {
namespace {

constexpr std::size_t kBlockBytes = 4096 + 40;
constexpr std::int32_t kBlockSize = 4;

class DiskKvTierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / ("parley_tier_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DiskKvTierOptions options(std::uint64_t max_bytes = 1 << 30, std::string_view model = "m") const {
    DiskKvTierOptions o;
    o.dir = dir_;
    o.max_bytes = max_bytes;
    o.root = tier_root(tier_hash(std::as_bytes(std::span(model.data(), model.size()))), "test/1x1x1/4");
    o.block_bytes = kBlockBytes;
    o.block_size = kBlockSize;
    return o;
  }
  std::unique_ptr<DiskKvTier> open(const DiskKvTierOptions& o) {
    auto t = DiskKvTier::open(o);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return t.ok() ? std::move(*t) : nullptr;
  }
  // Block `i` of a chain under `scope`: its tokens, bytes and TierBlock.
  struct Blk {
    std::vector<std::int32_t> tokens;
    std::vector<std::byte> bytes;
    TierBlock meta;
  };
  static Blk block(const TierDigest& root, int i, const TierDigest& scope = tier_scope_id("alice")) {
    Blk b;
    for (int k = 0; k < kBlockSize; ++k) b.tokens.push_back(100 * i + k);
    std::mt19937 rng(static_cast<unsigned>(i));
    for (std::size_t k = 0; k < kBlockBytes; ++k) b.bytes.push_back(static_cast<std::byte>(rng()));
    b.meta.parent = root;
    b.meta.scope = scope;
    b.meta.tokens = b.tokens;
    b.meta.key = tier_block_digest(root, scope, b.tokens);
    return b;
  }
  std::string file_of(const DiskKvTier& t, const TierDigest& key) const {
    return t.path() + "/" + tier_hex(key) + ".kvb";
  }

  std::string dir_;
};

TEST_F(DiskKvTierTest, RoundTripIsBitExactFromTheQueueAndFromDisk) {
  auto t = open(options());
  const Blk b = block(t->root(), 1);
  ASSERT_TRUE(t->store(b.meta, b.bytes));
  std::vector<std::byte> out(kBlockBytes);
  ASSERT_TRUE(t->contains(b.meta.key));
  ASSERT_TRUE(t->load(b.meta, out));  // queued or written: either way the same bytes
  EXPECT_EQ(out, b.bytes);
  t->flush();
  std::fill(out.begin(), out.end(), std::byte{0});
  ASSERT_TRUE(t->load(b.meta, out));
  EXPECT_EQ(out, b.bytes);
  const KvTierStats s = t->stats();
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.bytes_written, static_cast<std::int64_t>(kBlockBytes));
  EXPECT_EQ(s.blocks, 1);
  struct stat st {};
  ASSERT_EQ(::stat(file_of(*t, b.meta.key).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(t->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(DiskKvTierTest, LoadVerifiesTokensScopeAndParent) {
  auto t = open(options());
  const Blk b = block(t->root(), 1);
  ASSERT_TRUE(t->store(b.meta, b.bytes));
  t->flush();
  std::vector<std::byte> out(kBlockBytes);
  Blk other = b;
  other.tokens[0] += 1;
  other.meta.tokens = other.tokens;
  EXPECT_FALSE(t->load(other.meta, out));  // same key, other tokens
  TierBlock bob = b.meta;
  bob.scope = tier_scope_id("bob");
  EXPECT_FALSE(t->load(bob, out));  // same key, other scope
  TierBlock orphan = b.meta;
  orphan.parent[0] ^= 1;
  EXPECT_FALSE(t->load(orphan, out));
  EXPECT_GE(t->stats().rejected, 1);
}

TEST_F(DiskKvTierTest, ScopesGiveDifferentKeys) {
  const TierDigest root = options().root;
  EXPECT_NE(block(root, 1, tier_scope_id("alice")).meta.key, block(root, 1, tier_scope_id("bob")).meta.key);
  EXPECT_NE(block(root, 1, tier_scope_id("alice")).meta.key, block(root, 1, kSharedTierScope).meta.key);
  EXPECT_NE(tier_scope_id(""), kSharedTierScope);
  auto t = open(options());
  const Blk a = block(t->root(), 1, tier_scope_id("alice"));
  ASSERT_TRUE(t->store(a.meta, a.bytes));
  t->flush();
  EXPECT_FALSE(t->contains(block(t->root(), 1, tier_scope_id("bob")).meta.key));
}

TEST_F(DiskKvTierTest, SurvivesARestart) {
  const Blk b = block(options().root, 1);
  const Blk c = block(b.meta.key, 2);
  {
    auto t = open(options());
    ASSERT_TRUE(t->store(b.meta, b.bytes));
    ASSERT_TRUE(t->store(c.meta, c.bytes));
  }  // the destructor writes what is queued
  auto t = open(options());
  EXPECT_EQ(t->stats().blocks, 2);
  std::vector<std::byte> out(kBlockBytes);
  ASSERT_TRUE(t->load(c.meta, out));
  EXPECT_EQ(out, c.bytes);
  ASSERT_TRUE(t->load(b.meta, out));
  EXPECT_EQ(out, b.bytes);
}

TEST_F(DiskKvTierTest, CorruptTruncatedAndForeignFilesAreNeverUsed) {
  const Blk b = block(options().root, 1), c = block(options().root, 2), d = block(options().root, 3);
  std::string path_b, path_c, path_d;
  {
    auto t = open(options());
    for (const Blk* x : {&b, &c, &d}) ASSERT_TRUE(t->store(x->meta, x->bytes));
    t->flush();
    path_b = file_of(*t, b.meta.key);
    path_c = file_of(*t, c.meta.key);
    path_d = file_of(*t, d.meta.key);
  }
  {  // a flipped payload byte: the header is fine, the checksum is not
    std::fstream f(path_b, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(400);
    f.put('\x5a');
  }
  std::filesystem::resize_file(path_c, std::filesystem::file_size(path_c) - 10);  // torn
  // A foreign file: another model's block under this model's directory.
  {
    auto other = open(options(1 << 30, "another model"));
    const Blk x = block(other->root(), 7);
    ASSERT_TRUE(other->store(x.meta, x.bytes));
    other->flush();
    std::filesystem::copy_file(file_of(*other, x.meta.key),
                               std::filesystem::path(path_d).parent_path() / (tier_hex(x.meta.key) + ".kvb"));
  }
  std::ofstream(std::filesystem::path(path_d).parent_path() / "junk.kvb.tmp123") << "partial";
  auto t = open(options());
  EXPECT_EQ(t->stats().blocks, 2);    // b (bad payload, not checked until read) and d
  EXPECT_GE(t->stats().rejected, 3);  // torn, foreign, temporary
  std::vector<std::byte> out(kBlockBytes);
  EXPECT_FALSE(t->load(b.meta, out));
  EXPECT_FALSE(t->contains(b.meta.key));
  EXPECT_FALSE(std::filesystem::exists(path_b));
  EXPECT_FALSE(t->load(c.meta, out));
  ASSERT_TRUE(t->load(d.meta, out));
  EXPECT_EQ(out, d.bytes);
}

TEST_F(DiskKvTierTest, StaysWithinItsBoundLeastRecentlyUsedFirst) {
  const std::uint64_t file = sizeof(std::int32_t) * kBlockSize + kBlockBytes + 152 + 32;
  auto t = open(options(3 * file));
  std::vector<Blk> blocks;
  for (int i = 0; i < 3; ++i) {
    blocks.push_back(block(t->root(), i));
    ASSERT_TRUE(t->store(blocks.back().meta, blocks.back().bytes));
    t->flush();
  }
  std::vector<std::byte> out(kBlockBytes);
  ASSERT_TRUE(t->load(blocks[0].meta, out));  // 0 is now the most recently used
  for (int i = 3; i < 5; ++i) {
    blocks.push_back(block(t->root(), i));
    ASSERT_TRUE(t->store(blocks.back().meta, blocks.back().bytes));
    t->flush();
  }
  const KvTierStats s = t->stats();
  EXPECT_EQ(s.blocks, 3);
  EXPECT_EQ(s.evictions, 2);
  EXPECT_LE(static_cast<std::uint64_t>(s.bytes), 3 * file);
  EXPECT_TRUE(t->contains(blocks[0].meta.key));
  EXPECT_FALSE(t->contains(blocks[1].meta.key));
  EXPECT_FALSE(t->contains(blocks[2].meta.key));
  EXPECT_TRUE(t->contains(blocks[4].meta.key));
}

TEST_F(DiskKvTierTest, AFullDiskDropsBlocksAndRecovers) {
  auto t = open(options());
  // A file size limit makes every write past it fail (EFBIG), as a full disk does (ENOSPC).
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Blk b = block(t->root(), 1);
  ASSERT_TRUE(t->store(b.meta, b.bytes));
  t->flush();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_EQ(t->stats().write_errors, 1);
  EXPECT_FALSE(t->contains(b.meta.key));
  std::vector<std::byte> out(kBlockBytes);
  EXPECT_FALSE(t->load(b.meta, out));
  for (const auto& e : std::filesystem::directory_iterator(t->path())) ADD_FAILURE() << "left behind: " << e.path();
  ASSERT_TRUE(t->store(b.meta, b.bytes));  // room again
  t->flush();
  EXPECT_TRUE(t->load(b.meta, out));
}

// A writer that falls behind (a slow disk) fills the queue: store() then drops the block at once,
// counts it, and never waits; what was queued is still served and written.
TEST_F(DiskKvTierTest, AFullWriteQueueDropsBlocksWithoutWaiting) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int held = 0;
  DiskKvTierOptions o = options();
  o.max_queue_bytes = 2 * kBlockBytes;
  o.before_write = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++held;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  auto t = open(o);
  const Blk b1 = block(t->root(), 1), b2 = block(t->root(), 2), b3 = block(t->root(), 3);
  ASSERT_TRUE(t->store(b1.meta, b1.bytes));
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return held == 1; });  // the writer holds b1: it still counts in the queue
  }
  ASSERT_TRUE(t->store(b2.meta, b2.bytes));
  // Full: b3 is dropped on this thread while the writer is held (were store() to wait, this test
  // would never end).
  EXPECT_FALSE(t->store(b3.meta, b3.bytes));
  EXPECT_FALSE(t->contains(b3.meta.key));
  KvTierStats st = t->stats();
  EXPECT_EQ(st.write_drops, 1);
  EXPECT_EQ(st.stored, 2);
  std::vector<std::byte> out(kBlockBytes);
  ASSERT_TRUE(t->load(b2.meta, out));  // served from the queue
  EXPECT_EQ(out, b2.bytes);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  t->flush();
  st = t->stats();
  EXPECT_EQ(st.blocks, 2);
  EXPECT_EQ(st.write_drops, 1);
  ASSERT_TRUE(t->store(b3.meta, b3.bytes));  // room again
  t->flush();
  ASSERT_TRUE(t->load(b3.meta, out));
  EXPECT_EQ(out, b3.bytes);
}

}  // namespace
}  // namespace parley
