#include "policy/violation_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace parley::policy {
namespace {

using std::chrono::seconds;

class FakeClock {
 public:
  store::Clock clock() {
    return [this] { return now_; };
  }
  void advance(std::chrono::microseconds d) { now_ += d; }
  store::Time now() const { return now_; }

 private:
  store::Time now_{std::chrono::microseconds(1'750'000'000'000'000)};
};

AbuseConfig config() {
  AbuseConfig c;
  c.weights = {5, 1, 0.5, 0.5, 1, 0.2};
  c.half_life_s = 100;
  c.suspend_threshold = 10;
  c.suspend_s = 60;
  c.max_subjects = 64;
  return c;
}

TEST(ViolationTracker, ScoresDecayByHalfLife) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  t.record("a", ViolationKind::kFlagged, 4);
  EXPECT_DOUBLE_EQ(t.score("a"), 4);
  clock.advance(seconds(100));
  EXPECT_DOUBLE_EQ(t.score("a"), 2);
  clock.advance(seconds(200));
  EXPECT_DOUBLE_EQ(t.score("a"), 0.5);
  t.record("a", ViolationKind::kBlocked);  // + 5
  EXPECT_DOUBLE_EQ(t.score("a"), 5.5);
}

TEST(ViolationTracker, TheThresholdSuspendsUntilExpiry) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  ViolationOutcome o = t.record("a", ViolationKind::kBlocked);
  EXPECT_FALSE(o.suspension);
  o = t.record("a", ViolationKind::kBlocked);  // 10: the threshold
  ASSERT_TRUE(o.suspension);
  EXPECT_TRUE(o.newly_suspended);
  EXPECT_EQ(o.suspension->until, clock.now() + seconds(60));
  EXPECT_EQ(o.suspension->reason, ViolationKind::kBlocked);
  EXPECT_DOUBLE_EQ(o.suspension->score, 10);
  EXPECT_EQ(o.score, 0);
  // Still suspended a second before the end, not at the end.
  clock.advance(seconds(59));
  EXPECT_TRUE(t.suspended("a"));
  o = t.record("a", ViolationKind::kFlagged);
  EXPECT_FALSE(o.newly_suspended);
  EXPECT_TRUE(o.suspension);
  clock.advance(seconds(1));
  EXPECT_FALSE(t.suspended("a"));
  EXPECT_TRUE(t.active_suspensions().empty());
}

TEST(ViolationTracker, DecayedScoresDoNotReachTheThreshold) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  for (int i = 0; i < 100; ++i) {
    // 5 points every two half-lives: the score tends to 5 / (1 - 1/4) = 6.67 < 10.
    EXPECT_FALSE(t.record("a", ViolationKind::kBlocked).suspension) << i;
    clock.advance(seconds(200));
  }
}

TEST(ViolationTracker, TheReasonIsTheLargestContribution) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  ViolationOutcome o;
  for (int i = 0; i < 20 && !o.suspension; ++i) o = t.record("ip", ViolationKind::kRateLimited);
  ASSERT_TRUE(o.suspension);
  EXPECT_EQ(o.suspension->reason, ViolationKind::kRateLimited);
}

TEST(ViolationTracker, AnAdminLiftsASuspension) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  t.record("a", ViolationKind::kBlocked, 2);
  ASSERT_TRUE(t.suspended("a"));
  EXPECT_TRUE(t.lift("a"));
  EXPECT_FALSE(t.suspended("a"));
  EXPECT_EQ(t.score("a"), 0);
  EXPECT_FALSE(t.lift("a"));
  EXPECT_FALSE(t.lift("nobody"));
}

TEST(ViolationTracker, SubjectsAreIsolated) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  t.record(subject_of_user("u1"), ViolationKind::kBlocked, 3);
  EXPECT_TRUE(t.suspended(subject_of_user("u1")));
  for (const std::string& other : {subject_of_user("u2"), subject_of_address("u1"), std::string("u1"),
                                   subject_of_user("u1 "), subject_of_user("U1")}) {
    EXPECT_FALSE(t.suspended(other)) << other;
    EXPECT_EQ(t.score(other), 0) << other;
  }
  t.record(subject_of_user("u2"), ViolationKind::kFlagged);
  EXPECT_EQ(t.score(subject_of_user("u2")), 1);
}

TEST(ViolationTracker, MemoryIsBoundedAndSuspensionsOutliveEviction) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  t.record("bad", ViolationKind::kBlocked, 2);
  for (int i = 0; i < 10000; ++i) t.record("s" + std::to_string(i), ViolationKind::kFlagged);
  EXPECT_LE(t.tracked_subjects(), 64u);
  EXPECT_TRUE(t.suspended("bad"));
}

TEST(ViolationTracker, RestoredSuspensionsApply) {
  FakeClock clock;
  ViolationTracker t(config(), clock.clock());
  t.restore(Suspension{"x", clock.now() + seconds(30), ViolationKind::kFailedLogin, 12, clock.now()});
  t.restore(Suspension{"old", clock.now() - seconds(1), ViolationKind::kBlocked, 12, clock.now()});
  ASSERT_TRUE(t.suspended("x"));
  EXPECT_EQ(t.suspended("x")->reason, ViolationKind::kFailedLogin);
  EXPECT_FALSE(t.suspended("old"));
}

TEST(ViolationTracker, DisabledRecordsNothing) {
  FakeClock clock;
  AbuseConfig c = config();
  c.enabled = false;
  ViolationTracker t(c, clock.clock());
  EXPECT_FALSE(t.record("a", ViolationKind::kBlocked, 100).suspension);
  EXPECT_EQ(t.score("a"), 0);
}

TEST(ViolationTracker, ConcurrentRecordsLoseNothing) {
  FakeClock clock;
  AbuseConfig c = config();
  c.suspend_threshold = 1e12;
  c.half_life_s = 1e9;
  ViolationTracker t(c, clock.clock());
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 1000; ++i) t.record(i % 2 ? "shared" : "own" + std::to_string(k), ViolationKind::kFlagged);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_DOUBLE_EQ(t.score("shared"), 2000);
  for (int k = 0; k < 4; ++k) EXPECT_DOUBLE_EQ(t.score("own" + std::to_string(k)), 500);
}

}  // namespace
}  // namespace parley::policy
