#include "obs/heap_memory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace parley {
namespace {

constexpr std::int64_t kMiB = 1 << 20;

// 32 MiB in 2 KiB chunks from the heap (not mmapped), every byte touched; then all but every 32nd
// freed, so that the free runs between the kept chunks (62 KiB each) cannot go back from the top
// of the heap: the pattern that makes a server's RSS creep.
class Fragmented {
 public:
  Fragmented() {
    chunks_.reserve(kChunks);
    for (int i = 0; i < kChunks; ++i) {
      void* p = std::malloc(kChunkBytes);
      std::memset(p, i & 0xff, kChunkBytes);
      chunks_.push_back(p);
    }
  }
  void free_most() {
    for (int i = 0; i < kChunks; ++i) {
      if (i % 32 != 0) {
        std::free(chunks_[i]);
        chunks_[i] = nullptr;
      }
    }
  }
  ~Fragmented() {
    for (void* p : chunks_) std::free(p);
  }

  static constexpr int kChunks = 16384;
  static constexpr std::size_t kChunkBytes = 2048;

 private:
  std::vector<void*> chunks_;
};

TEST(HeapMemory, CountsWhatIsInUseAndWhatIsHeldFree) {
  const Result<HeapStats> before = read_heap_stats();
  if (!before.ok()) GTEST_SKIP() << before.status().to_string();
  Fragmented f;
  const Result<HeapStats> full = read_heap_stats();
  ASSERT_TRUE(full.ok());
  EXPECT_GE(full->in_use_bytes - before->in_use_bytes, 32 * kMiB);
  f.free_most();
  const Result<HeapStats> holed = read_heap_stats();
  ASSERT_TRUE(holed.ok());
  EXPECT_LE(holed->in_use_bytes - before->in_use_bytes, 2 * kMiB);  // 512 chunks of 2 KiB kept
  EXPECT_GE(holed->free_bytes - before->free_bytes, 28 * kMiB);     // the holes, held by the arena
}

TEST(HeapMemory, TrimGivesTheFreePagesInsideTheHeapBack) {
  if (!read_heap_stats().ok()) GTEST_SKIP() << "not glibc's malloc (a sanitizer's)";
  Fragmented f;
  f.free_most();
  const TrimResult r = trim_heap();
  // ~31 MiB of holes of 62 KiB, each with 14-15 whole pages: most of it goes back.
  EXPECT_GE(r.released_bytes, 20 * kMiB);
  EXPECT_GE(r.seconds, 0.0);
  EXPECT_LT(trim_heap().released_bytes, 4 * kMiB);  // nothing much left to give back
}

TEST(HeapMemory, MetricsAreRenderedWithTheirValues) {
  MetricsRegistry r;
  add_heap_metrics(r);
  if (!read_heap_stats().ok()) GTEST_SKIP() << "not glibc's malloc (a sanitizer's)";
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE parley_malloc_in_use_bytes gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE parley_malloc_free_bytes gauge"), std::string::npos);
  EXPECT_EQ(text.find("parley_malloc_in_use_bytes 0\n"), std::string::npos);  // filled in at render
}

TEST(HeapTrimmer, TrimsOnItsIntervalAndCountsIt) {
  MetricsRegistry r;
  HeapTrimmer trimmer(r, std::chrono::milliseconds(5));
  for (int i = 0; i < 2000 && trimmer.trims() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(trimmer.trims(), 3);
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE parley_malloc_trims_total counter"), std::string::npos);
  EXPECT_EQ(text.find("parley_malloc_trims_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("parley_malloc_trim_seconds_total"), std::string::npos);
  EXPECT_NE(text.find("parley_malloc_trim_released_bytes_total"), std::string::npos);
}

TEST(HeapTrimmer, ZeroIntervalNeverTrims) {
  MetricsRegistry r;
  {
    HeapTrimmer trimmer(r, std::chrono::milliseconds(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(trimmer.trims(), 0);
  }
  EXPECT_NE(r.render().find("parley_malloc_trims_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace parley
