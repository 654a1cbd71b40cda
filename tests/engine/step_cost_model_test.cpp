// The step cost model: converges on a linear cost, ignores outliers, follows a machine that
// changes speed, never predicts a negative cost.
#include "engine/step_cost_model.h"

#include <gtest/gtest.h>

#include "base/rng.h"

namespace parley {
namespace {

// A "machine": 40 ms per step, 5 ms per token, 2 ms per 10^4 attention pairs.
double machine(const StepShape& s, double scale = 1.0) {
  return scale * (0.040 + 0.005 * static_cast<double>(s.n_prefill + s.n_decode) + 0.002 * s.attention / 1e4);
}

// Steps as an engine makes them: a few streams at growing positions, prompt chunks of varied size.
StepShape random_step(Rng& rng, int i) {
  StepShape s;
  const auto n_decode = static_cast<int>(rng.below(8));
  for (int d = 0; d < n_decode; ++d) s.add_decode(static_cast<std::int64_t>(100 + rng.below(1500)));
  if (i % 3 != 0)
    s.add_prefill(static_cast<std::int64_t>(rng.below(1500)), static_cast<std::int64_t>(1 + rng.below(200)));
  if (s.empty()) s.add_decode(10);
  return s;
}

TEST(StepCostModel, IsNotReadyBeforeEnoughStepsAndPredictsNothing) {
  StepCostModel m({.min_samples = 8});
  StepShape s;
  s.add_prefill(0, 10);
  for (int i = 0; i < 7; ++i) m.observe(s, 0.1);
  EXPECT_FALSE(m.ready());
  EXPECT_EQ(m.predict(s), 0.0);
  m.observe(s, 0.1);
  EXPECT_TRUE(m.ready());
  EXPECT_NEAR(m.predict(s), 0.1, 1e-9);
}

TEST(StepCostModel, ConvergesToALinearCost) {
  StepCostModel m;
  Rng rng(1);
  for (int i = 0; i < 200; ++i) {
    const StepShape s = random_step(rng, i);
    m.observe(s, machine(s));
  }
  ASSERT_TRUE(m.ready());
  const auto& c = m.coefficients();
  EXPECT_NEAR(c[0], 0.040, 1e-6);
  EXPECT_NEAR(c[1], 0.005, 1e-8);
  EXPECT_NEAR(c[2], 0.005, 1e-7);
  EXPECT_NEAR(c[3], 0.002, 1e-8);
  EXPECT_LT(m.error(), 1e-6);
  StepShape probe;
  probe.add_decode(900);
  probe.add_prefill(700, 48);
  EXPECT_NEAR(m.predict(probe), machine(probe), 1e-6);
}

TEST(StepCostModel, IgnoresOutliers) {
  StepCostModel m;
  Rng rng(2);
  for (int i = 0; i < 300; ++i) {
    const StepShape s = random_step(rng, i);
    // 1 step in 10 is stalled by something else on the machine: 3x to 10x as long.
    const double t = rng.below(10) == 0 ? machine(s) * static_cast<double>(3 + rng.below(8)) : machine(s);
    m.observe(s, t);
  }
  EXPECT_GT(m.n_outliers(), 0);
  StepShape probe;
  probe.add_decode(900);
  probe.add_prefill(700, 48);
  EXPECT_NEAR(m.predict(probe), machine(probe), 0.02 * machine(probe));
}

TEST(StepCostModel, FollowsAMachineThatSlowsDown) {
  StepCostModel m({.window = 64});
  Rng rng(3);
  for (int i = 0; i < 100; ++i) {
    const StepShape s = random_step(rng, i);
    m.observe(s, machine(s));
  }
  // Something else now takes half the machine: every step takes twice as long. After a window's
  // worth of steps the model has forgotten the fast machine.
  for (int i = 0; i < 64; ++i) {
    const StepShape s = random_step(rng, i);
    m.observe(s, machine(s, 2.0));
  }
  StepShape probe;
  probe.add_prefill(0, 64);
  EXPECT_NEAR(m.predict(probe), machine(probe, 2.0), 1e-6);
  EXPECT_EQ(m.n_observed(), 164);
}

TEST(StepCostModel, CoefficientsAreNeverNegative) {
  // Bigger steps measured as shorter (noise on a busy machine): an unconstrained fit would give a
  // negative cost per token, and a step with more tokens would look cheaper.
  StepCostModel m;
  for (int i = 0; i < 32; ++i) {
    StepShape s;
    s.add_prefill(0, 1 + i);
    m.observe(s, 0.2 - 0.001 * i);
  }
  for (const double c : m.coefficients()) EXPECT_GE(c, 0.0);
  StepShape small, big;
  small.add_prefill(0, 1);
  big.add_prefill(0, 100);
  EXPECT_GE(m.predict(big), m.predict(small));
}

TEST(StepCostModel, RemembersTheLargestPromptCountOfItsWindow) {
  StepCostModel m({.window = 8});
  StepShape s;
  s.add_prefill(0, 300);
  m.observe(s, 1.0);
  EXPECT_EQ(m.max_prefill_seen(), 300);
  StepShape d;
  d.add_decode(5);
  for (int i = 0; i < 8; ++i) m.observe(d, 0.05);
  EXPECT_EQ(m.max_prefill_seen(), 0);  // out of the window
}

TEST(StepCostModel, IgnoresNonsenseTimings) {
  StepCostModel m({.min_samples = 1});
  StepShape s;
  s.add_decode(1);
  m.observe(s, -1.0);
  m.observe(s, std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(m.ready());
  EXPECT_EQ(m.n_observed(), 0);
}

}  // namespace
}  // namespace parley
