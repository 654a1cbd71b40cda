#include "gateway/work_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace parley {
namespace {

TEST(WorkPool, RunsTasksAndRefusesBeyondItsQueue) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> ran{0};
  {
    WorkPool pool("test-pool", 1, 2);
    const auto blocker = [&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return release; });
      ++ran;
    };
    ASSERT_TRUE(pool.try_submit(blocker));
    // The one thread is (or soon is) busy; two may wait, the next is refused at once.
    while (pool.queued() != 0) std::this_thread::yield();
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
    EXPECT_FALSE(pool.try_submit([&] { ++ran; }));
    EXPECT_EQ(pool.queued(), 2u);
    {
      std::lock_guard<std::mutex> lock(mu);
      release = true;
    }
    cv.notify_all();
  }  // the destructor runs what was queued
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkPool, ATaskThatThrowsDoesNotKillTheThread) {
  std::atomic<int> ran{0};
  {
    WorkPool pool("test-pool", 1, 8);
    EXPECT_TRUE(pool.try_submit([] { throw std::runtime_error("boom"); }));
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 1);
}

TEST(WorkPool, PostQueuesBeyondTheBoundAndRunsInlineAfterShutdown) {
  WorkPool pool("test-pool", 1, 2);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool started = false;
  ASSERT_TRUE(pool.try_submit([&] {
    std::unique_lock<std::mutex> lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  }));
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started; });  // the only thread is busy now
  }
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  EXPECT_FALSE(pool.try_submit([&] { ++ran; }));  // two are waiting: full
  pool.post([&] { ++ran; });                    // must-run work is queued anyway
  EXPECT_EQ(pool.pending(), 4u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 3);
  // After shutdown: try_submit refuses, post runs on the caller.
  EXPECT_FALSE(pool.try_submit([&] { ++ran; }));
  pool.post([&] { ++ran; });
  EXPECT_EQ(ran.load(), 4);
}

}  // namespace
}  // namespace parley
