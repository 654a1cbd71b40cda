#include "base/periodic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace parley {
namespace {

using std::chrono::milliseconds;

TEST(Periodic, RunsTheTaskEveryPeriod) {
  std::atomic<int> runs{0};
  {
    Periodic p(milliseconds(2), [&] { ++runs; });
    for (int i = 0; i < 5000 && runs.load() < 5; ++i) std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_GE(runs.load(), 5);
}

TEST(Periodic, NoRunAfterItIsDestroyed) {
  std::atomic<int> runs{0};
  {
    Periodic p(milliseconds(1), [&] { ++runs; });
  }
  const int at_end = runs.load();
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(runs.load(), at_end);
}

TEST(Periodic, ZeroPeriodNeverRuns) {
  std::atomic<int> runs{0};
  {
    Periodic p(milliseconds(0), [&] { ++runs; });
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(runs.load(), 0);
}

TEST(Periodic, ALongPeriodDoesNotDelayItsEnd) {
  std::atomic<int> runs{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    Periodic p(std::chrono::hours(1), [&] { ++runs; });
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::minutes(1));  // a hang, not a timing
  EXPECT_EQ(runs.load(), 0);
}

TEST(Periodic, TheDestructorWaitsForARunInProgress) {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  {
    Periodic p(milliseconds(1), [&] {
      if (started.exchange(true)) return;
      std::this_thread::sleep_for(milliseconds(50));
      finished = true;
    });
    while (!started.load()) std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_TRUE(finished.load());
}

}  // namespace
}  // namespace parley
