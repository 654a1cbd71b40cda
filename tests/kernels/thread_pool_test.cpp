#include "kernels/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace parley {
namespace {

TEST(ThreadPool, EveryThreadRunsEachCallOnce) {
  for (const int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    EXPECT_EQ(pool.size(), n);
    for (int call = 0; call < 2000; ++call) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      pool.run([&](int t) { hits[static_cast<std::size_t>(t)].fetch_add(1); });
      for (int t = 0; t < n; ++t) ASSERT_EQ(hits[static_cast<std::size_t>(t)].load(), 1) << n << " threads, call " << call;
    }
  }
}

// Gaps longer than the spin period put the workers to sleep; a wake-up must never be lost.
TEST(ThreadPool, WakesSleepingWorkers) {
  ThreadPool pool(3);
  std::atomic<int> total{0};
  for (int call = 0; call < 60; ++call) {
    std::this_thread::sleep_for(std::chrono::microseconds(call % 3 == 0 ? 1000 : 150 + 10 * call));
    pool.run([&](int) { total.fetch_add(1); });
  }
  EXPECT_EQ(total.load(), 180);
}

TEST(ThreadPool, ParallelForCoversTheRangeInGrains) {
  ThreadPool pool(3);
  for (const std::int64_t n : {0, 1, 15, 16, 17, 1000}) {
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
    pool.parallel_for(n, 16, [&](std::int64_t b, std::int64_t e) {
      EXPECT_EQ(b % 16, 0);
      for (std::int64_t i = b; i < e; ++i) seen[static_cast<std::size_t>(i)].fetch_add(1);
    });
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)].load(), 1) << n;
  }
}

}  // namespace
}  // namespace parley
