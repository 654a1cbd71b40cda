#include "gateway/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace parley {
namespace {

TEST(TaskPool, RunsTasksOnItsThreadsAndDrainsAtShutdown) {
  std::atomic<int> ran{0};
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{false};
  {
    TaskPool pool(2, 100);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(pool.try_post([&] {
        if (std::this_thread::get_id() == caller) on_caller = true;
        ++ran;
      }));
    }
  }  // the destructor runs what is queued
  EXPECT_EQ(ran.load(), 50);
  EXPECT_FALSE(on_caller.load());
}

TEST(TaskPool, TryPostRefusesBeyondTheBoundButPostDoesNot) {
  TaskPool pool(1, 2);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool started = false;
  ASSERT_TRUE(pool.try_post([&] {
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
  EXPECT_TRUE(pool.try_post([&] { ++ran; }));
  EXPECT_TRUE(pool.try_post([&] { ++ran; }));
  EXPECT_FALSE(pool.try_post([&] { ++ran; }));  // two are waiting: full
  pool.post([&] { ++ran; });                    // must-run work is queued anyway
  EXPECT_EQ(pool.pending(), 4u);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 3);
  // After shutdown: try_post refuses, post runs on the caller.
  EXPECT_FALSE(pool.try_post([&] { ++ran; }));
  pool.post([&] { ++ran; });
  EXPECT_EQ(ran.load(), 4);
}

TEST(TaskPool, ATaskThatThrowsDoesNotStopThePool) {
  std::atomic<int> ran{0};
  {
    TaskPool pool(1, 10);
    ASSERT_TRUE(pool.try_post([] { throw std::runtime_error("bug"); }));
    ASSERT_TRUE(pool.try_post([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace parley
