// The scheduler's policy, driven with a fake machine and a fake clock (scheduler_sim.h): the
// latency target, fair shares of every step between tenants, the per-tenant bound on prompts in
// prefill, priority classes, room taken for newcomers, no starvation.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include "engine_rig.h"
#include "scheduler_sim.h"

namespace parley {
namespace {

using testing::SchedulerSim;

constexpr double kTarget = 0.250;

SchedulerConfig flood_config() {
  return {.max_batch_tokens = 512, .max_running = 64, .target_step_s = kTarget, .max_prefill_per_tenant = 2};
}

std::vector<Sequence*> flood(SchedulerSim& sim, const std::string& tenant, int n, int prompt, int out) {
  std::vector<Sequence*> v;
  for (int i = 0; i < n; ++i) v.push_back(sim.add(tenant, prompt, out));
  return v;
}

bool all_finished(const SchedulerSim& sim, const std::vector<Sequence*>& v) {
  return std::all_of(v.begin(), v.end(), [&](const Sequence* s) { return sim.finished(s); });
}

TEST(Scheduler, StepsStayWithinTheLatencyTargetOnceTheModelIsReady) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 8, 1500, 16);
  sim.run_until([&] { return all_finished(sim, a); });
  ASSERT_TRUE(all_finished(sim, a));
  std::size_t checked = 0;
  for (std::size_t i = 0; i < sim.steps().size(); ++i) {
    if (i < 16) continue;  // warming up: the model is fitted after 8 steps, then explores
    EXPECT_LE(sim.steps()[i].seconds, kTarget + 1e-9) << "step " << i;
    ++checked;
  }
  EXPECT_GT(checked, 100u);
  // The steps are full, not timid: most take at least 80% of the target.
  int full = 0;
  for (const auto& s : sim.steps()) full += s.seconds >= 0.8 * kTarget ? 1 : 0;
  EXPECT_GT(full, static_cast<int>(sim.steps().size() * 8 / 10));
  EXPECT_LT(sim.cost().error(), 1e-4);
}

TEST(Scheduler, ANewShortPromptIsPrefilledInTheNextStepDuringAFlood) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 8, 1500, 16);
  for (int i = 0; i < 40; ++i) sim.step();  // A's prompts are mid-prefill, some of A streams
  Sequence* b = sim.add("B", 40, 8);
  const auto r = sim.step();
  EXPECT_EQ(r.prefill("B"), 40);  // the whole short prompt, in the very next step
  ASSERT_EQ(sim.trace(b).token_times.size(), 1u);
  EXPECT_LE(sim.ttft(b), kTarget + 1e-9);
  EXPECT_GT(r.prefill("A"), 0);  // A keeps what is left
  sim.run_until([&] { return sim.finished(b); });
  EXPECT_LE(sim.max_itl(b), kTarget + 1e-9);
  sim.run_until([&] { return all_finished(sim, a); });
  EXPECT_TRUE(all_finished(sim, a));
}

TEST(Scheduler, ATenantReadsAtMostMaxPrefillPerTenantPromptsAtOnce) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 8, 700, 4);
  while (!all_finished(sim, a)) {
    sim.step();
    int in_prefill = 0;
    for (const Sequence* s : sim.scheduler().running()) in_prefill += s->decoding() ? 0 : 1;
    ASSERT_LE(in_prefill, 2);
    ASSERT_LE(sim.steps().back().prompts("A"), 2);
  }
}

TEST(Scheduler, DecodesAreInEveryStep) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 6, 900, 24);
  std::map<const Sequence*, std::size_t> first_token_step;
  sim.run_until([&] { return all_finished(sim, a); });
  // Every stream got a token in every step from its first token to its last.
  for (const Sequence* s : a) {
    const auto& times = sim.trace(s).token_times;
    ASSERT_EQ(times.size(), 24u);
    std::size_t k = 0;
    double t = 0;
    for (const auto& step : sim.steps()) {
      t += step.seconds;
      if (t < times.front() - 1e-12) continue;
      if (k == times.size()) break;
      EXPECT_NEAR(t, times[k], 1e-9) << "stream skipped a step";
      ++k;
    }
    EXPECT_EQ(k, times.size());
  }
}

TEST(Scheduler, TwoFloodersShareEachStepEvenly) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 4, 1500, 8);
  const auto c = flood(sim, "C", 4, 1500, 8);
  std::int64_t ta = 0, tc = 0;
  for (int i = 0; i < 120; ++i) {
    const auto r = sim.step();
    ta += r.prefill("A");
    tc += r.prefill("C");
    // Within a couple of quanta of each other at every step.
    ASSERT_LE(std::abs(ta - tc), 48) << "step " << i;
  }
  EXPECT_GT(ta, 1000);
}

TEST(Scheduler, SeveralTenantsShareTheStepsAndEveryNewcomerStartsAtOnce) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 4, 1500, 8);
  const auto c = flood(sim, "C", 4, 1500, 8);
  const auto d = flood(sim, "D", 2, 1500, 8);
  for (int i = 0; i < 40; ++i) sim.step();
  // Three tenants mid-prefill; two newcomers with short prompts arrive together.
  Sequence* b = sim.add("B", 40, 8);
  Sequence* e = sim.add("E", 24, 8);
  // Both start in the next step (sharing the prompt tokens that fit the target between them
  // before any flooder gets more), and both have their first token one step later at most.
  const auto r = sim.step();
  EXPECT_GT(r.prefill("B"), 0);
  EXPECT_GT(r.prefill("E"), 0);
  EXPECT_EQ(r.prefill("A") + r.prefill("C") + r.prefill("D"), 0);
  sim.step();
  EXPECT_GE(sim.ttft(b), 0);
  EXPECT_GE(sim.ttft(e), 0);
  EXPECT_LE(sim.ttft(b), 2 * kTarget + 1e-9);
  EXPECT_LE(sim.ttft(e), 2 * kTarget + 1e-9);
  // The three flooders keep sharing what is left: none of them is shut out for long.
  std::map<std::string, int> idle, worst;
  for (int i = 0; i < 60; ++i) {
    const auto step = sim.step();
    for (const char* t : {"A", "C", "D"}) {
      idle[t] = step.prefill(t) > 0 ? 0 : idle[t] + 1;
      worst[t] = std::max(worst[t], idle[t]);
    }
  }
  for (const char* t : {"A", "C", "D"}) EXPECT_LE(worst[t], 3) << t;
  sim.run_until([&] { return all_finished(sim, a) && all_finished(sim, c) && all_finished(sim, d); });
  EXPECT_TRUE(all_finished(sim, a) && all_finished(sim, c) && all_finished(sim, d));
  EXPECT_LE(sim.max_itl(b), kTarget + 1e-9);
  EXPECT_LE(sim.max_itl(e), kTarget + 1e-9);
}

TEST(Scheduler, TheCostModelConvergesToTheMachineAndFollowsItWhenItSlowsDown) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 8, 1500, 64);
  for (int i = 0; i < 60; ++i) sim.step();
  const auto& c = sim.cost().coefficients();
  EXPECT_NEAR(c[0], sim.machine.c0, 1e-6);
  EXPECT_NEAR(c[1], sim.machine.c_token, 1e-7);
  EXPECT_NEAR(c[3], sim.machine.c_attn, 1e-6);
  const std::int64_t prefill_fast = sim.steps().back().n_prefill;
  // The machine gets twice as slow per token (another process took a core): within a window
  // of steps the model has followed, and steps are back under the target with fewer tokens.
  sim.machine.c_token *= 2;
  for (int i = 0; i < 200 && !all_finished(sim, a); ++i) sim.step();
  EXPECT_NEAR(sim.cost().coefficients()[1], sim.machine.c_token, 1e-6);
  for (std::size_t i = sim.steps().size() - 20; i < sim.steps().size(); ++i) {
    EXPECT_LE(sim.steps()[i].seconds, kTarget + 1e-9) << i;
  }
  EXPECT_LT(sim.steps().back().n_prefill, prefill_fast);
}

TEST(Scheduler, TheFlooderKeepsProgressingUnderAStreamOfShortChats) {
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 4, 1500, 8);
  for (int i = 0; i < 16; ++i) sim.step();  // the cost model warms up
  Sequence* b = sim.add("B", 40, 8);
  int since_a = 0, worst_gap = 0;
  for (int i = 0; i < 20000 && !all_finished(sim, a); ++i) {
    const auto r = sim.step();
    if (sim.finished(b)) b = sim.add("B", 40, 8);  // the next chat at once
    const bool a_progressed =
        std::any_of(r.seqs.begin(), r.seqs.end(), [](const Sequence* s) { return s->request.tenant == "A"; });
    since_a = a_progressed ? 0 : since_a + 1;
    worst_gap = std::max(worst_gap, since_a);
    if (!sim.trace(b).token_times.empty()) {
      EXPECT_LE(sim.max_itl(b), kTarget + 1e-9);
    }
  }
  EXPECT_TRUE(all_finished(sim, a));
  EXPECT_EQ(worst_gap, 0);  // A computed something in every single step
}

TEST(Scheduler, TokensGoToTheTenantWithLessRecentService) {
  SchedulerSim sim({.max_batch_tokens = 64, .max_running = 64, .max_prefill_per_tenant = 2});
  const auto a = flood(sim, "A", 2, 400, 2);
  for (int i = 0; i < 4; ++i) sim.step();
  EXPECT_NEAR(sim.scheduler().service("A"), 256, 10);
  sim.add("B", 100, 2);
  const auto r = sim.step();
  // B has no recent service: it takes every quantum until it has as much as A, i.e. the whole
  // step here.
  EXPECT_EQ(r.prefill("B"), 64);
  EXPECT_EQ(r.prefill("A"), 0);
}

TEST(Scheduler, PromptsProgressEvenWhenTheDecodesAloneExceedTheTarget) {
  SchedulerConfig c = flood_config();
  c.target_step_s = 0.030;  // below the machine's fixed cost: no step can meet it
  c.min_prefill_tokens = 16;
  SchedulerSim sim(c);
  const auto a = flood(sim, "A", 4, 300, 8);
  sim.run_until([&] { return all_finished(sim, a); });
  EXPECT_TRUE(all_finished(sim, a));
  // The fake machine's fixed cost is worth 10 tokens (0.040 s / 0.004 s): a step computes at
  // least min_step_work (2.5) times that, about 25 tokens, and no more (the target is exceeded
  // anyway).
  for (std::size_t i = 16; i < sim.steps().size(); ++i) {
    const auto& s = sim.steps()[i];
    if (s.n_prefill > 0) {
      EXPECT_LE(s.n_prefill + s.n_decode, 27) << i;
    }
  }
}

TEST(Scheduler, OnABusyMachineStepsKeepTheirSizeInsteadOfShrinkingToFixedCost) {
  // The machine slows down fivefold (other processes took the cores): the target can no longer
  // be met by any useful step. Steps keep computing about min_step_work times the tokens their
  // fixed cost is worth, so throughput falls with the machine, not below it.
  SchedulerSim sim(flood_config());
  const auto a = flood(sim, "A", 8, 1500, 64);
  for (int i = 0; i < 40; ++i) sim.step();
  sim.machine.c0 *= 5;
  sim.machine.c_token *= 5;
  sim.machine.c_attn *= 5;
  for (int i = 0; i < 200; ++i) sim.step();
  // 2.5 x (0.2 s / 0.02 s) = 25 tokens, on average (the floor fades while steps held at it do
  // not tell the costs apart, and comes back when they do).
  std::int64_t tokens = 0;
  for (std::size_t i = sim.steps().size() - 100; i < sim.steps().size(); ++i) {
    tokens += sim.steps()[i].n_prefill + sim.steps()[i].n_decode;
  }
  EXPECT_GE(tokens, 100 * 20);
  // Without the floor, a step would hold min_prefill_tokens and its decodes only.
  SchedulerConfig c = flood_config();
  c.min_step_work = 0;
  SchedulerSim timid(c);
  const auto b = flood(timid, "A", 8, 1500, 64);
  for (int i = 0; i < 40; ++i) timid.step();
  timid.machine.c0 *= 5;
  timid.machine.c_token *= 5;
  timid.machine.c_attn *= 5;
  for (int i = 0; i < 200; ++i) timid.step();
  EXPECT_LE(timid.steps().back().n_prefill, 16);
}

TEST(Scheduler, BatchWorkOnlyFillsCapacityInteractiveWorkLeaves) {
  SchedulerSim sim(flood_config());
  std::vector<Sequence*> x;
  for (int i = 0; i < 4; ++i) x.push_back(sim.add("X", 600, 32, Priority::kBatch));
  for (int i = 0; i < 30; ++i) sim.step();
  EXPECT_GT(sim.steps().back().n_prefill + sim.steps().back().n_decode, 0);  // idle capacity: batch runs
  const auto a = flood(sim, "A", 6, 1500, 16);
  const std::size_t waiting_batch = sim.scheduler().n_waiting(Priority::kBatch);
  while (!all_finished(sim, a)) {
    const auto r = sim.step();
    // No batch request starts while interactive ones wait, and steps keep the target.
    if (sim.scheduler().n_waiting(Priority::kInteractive) > 0) {
      EXPECT_GE(sim.scheduler().n_waiting(Priority::kBatch), waiting_batch);
    }
    EXPECT_LE(r.seconds, kTarget + 1e-9);
  }
  // Then the batch work completes: it waited, it was not dropped.
  sim.run_until([&] { return all_finished(sim, x); });
  EXPECT_TRUE(all_finished(sim, x));
}

TEST(Scheduler, BatchDecodesGiveWayWhenTheStepIsFull) {
  SchedulerSim sim(flood_config());
  Sequence* x = sim.add("X", 20, 1000, Priority::kBatch);
  for (int i = 0; i < 20; ++i) sim.step();
  ASSERT_TRUE(x->decoding());
  flood(sim, "A", 4, 1500, 4);
  int skipped = 0;
  for (int i = 0; i < 60; ++i) {
    const auto r = sim.step();
    const bool has_x = std::find(r.seqs.begin(), r.seqs.end(), x) != r.seqs.end();
    if (i >= 1 && !has_x) ++skipped;
    EXPECT_LE(r.seconds, kTarget + 1e-9);
  }
  EXPECT_GT(skipped, 0);  // the interactive prompts filled the steps; the batch stream waited
}

TEST(Scheduler, AnInteractiveRequestTakesTheRoomOfABatchOne) {
  SchedulerConfig c = flood_config();
  c.max_running = 2;
  SchedulerSim sim(c);
  Sequence* x1 = sim.add("X", 20, 1000, Priority::kBatch);
  Sequence* x2 = sim.add("X", 20, 1000, Priority::kBatch);
  for (int i = 0; i < 12; ++i) sim.step();
  ASSERT_TRUE(x1->decoding() && x2->decoding());
  Sequence* b = sim.add("B", 30, 4);
  const auto r = sim.step();
  EXPECT_EQ(r.prefill("B"), 30);
  EXPECT_EQ(x2->status, SeqStatus::kWaiting);  // the latest batch arrival yielded
  EXPECT_EQ(x2->preemptions, 1);
  sim.run_until([&] { return sim.finished(b); });
  EXPECT_EQ(sim.trace(b).token_times.size(), 4u);
}

TEST(Scheduler, ANewcomerTakesTheRoomOfAHeavierTenantsPausedPrompt) {
  SchedulerConfig c = flood_config();
  c.max_running = 2;
  c.target_step_s = 0;  // budget only: 512 tokens a step
  c.max_batch_tokens = 64;
  SchedulerSim sim(c);
  const auto a = flood(sim, "A", 2, 1000, 4);
  for (int i = 0; i < 3; ++i) sim.step();  // both of A's prompts are mid-prefill, holding the slots
  Sequence* b = sim.add("B", 30, 4);
  const auto r = sim.step();
  EXPECT_EQ(r.prefill("B"), 30);
  EXPECT_EQ(a[1]->status, SeqStatus::kWaiting);  // paused: preempted at a chunk boundary
  sim.run_until([&] { return all_finished(sim, a) && sim.finished(b); });
  EXPECT_TRUE(all_finished(sim, a));
}

TEST(Scheduler, APreemptedPromptResumesFromThePrefixCache) {
  SchedulerConfig c = flood_config();
  c.max_running = 1;
  c.target_step_s = 0;
  c.max_batch_tokens = 64;
  SchedulerSim sim(c);
  Sequence* a = sim.add("A", 1000, 2);
  for (int i = 0; i < 5; ++i) sim.step();  // 320 tokens computed
  sim.add("B", 20, 1);
  sim.step();
  ASSERT_EQ(a->status, SeqStatus::kWaiting);
  std::int64_t a_tokens = 0;
  sim.run_until([&] { return sim.finished(a); });
  for (std::size_t i = 6; i < sim.steps().size(); ++i) a_tokens += sim.steps()[i].prefill("A");
  // Only what was not in full cached blocks is computed again (the last partial block at most).
  EXPECT_LE(a_tokens, 1000 + 2 - 320 + 16);
}

// The whole engine under a flood, on the fake runner (which checks every block table through its
// simulated cache) with a fake clock that each forward pass advances by the fake machine's cost:
// the newcomer's first token comes within one step of the target, and every output, paused,
// preempted or not, is exactly what the request produces alone.
TEST(Scheduler, EngineUnderAFloodKeepsOutputsExactAndTheNewcomerFast) {
  for (const std::int32_t max_running : {64, 3}) {
    double clock = 0;
    testing::Rig rig(
        512, 4, {.max_batch_tokens = 128, .max_running = max_running, .target_step_s = kTarget},
        /*n_ctx=*/256, [&clock] { return clock; }, /*max_waiting=*/16);
    const testing::FakeMachine machine;
    rig.runner.on_forward = [&](const ForwardBatch& b) {
      StepShape shape;
      for (const ForwardSeq& s : b.seqs) shape.add_prefill(s.pos_begin, s.n_tokens);
      clock += machine.seconds(shape);
    };
    std::vector<std::shared_ptr<testing::RecordingSink>> a;
    for (int i = 0; i < 6; ++i)
      a.push_back(rig.submit(static_cast<RequestId>(i + 1), testing::iota_tokens(200, i), 8, "A"));
    for (int i = 0; i < 16; ++i) rig.engine->step();
    auto b = rig.submit(100, testing::iota_tokens(20, 40), 6, "B");
    rig.run_to_completion();
    ASSERT_TRUE(b->finished);
    EXPECT_LE(b->finish.timings.ttft_s, kTarget + 1e-9) << max_running;
    EXPECT_EQ(b->tokens, testing::solo(testing::iota_tokens(20, 40), 6));
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(a[static_cast<std::size_t>(i)]->tokens, testing::solo(testing::iota_tokens(200, i), 8)) << i;
    }
    if (max_running == 3) {
      EXPECT_GT(rig.engine->stats().preemptions, 0);
    }
    EXPECT_EQ(rig.pool.n_in_use(), 0);
  }
}

}  // namespace
}  // namespace parley
