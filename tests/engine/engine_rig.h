// An Engine over a FakeRunner and a BlockPool, for the engine's bookkeeping tests (no model).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "fake_runner.h"

namespace parley::testing {

inline constexpr std::int32_t kVocab = 50;
inline constexpr std::int32_t kEos = 49;

struct Rig {
  // `clock`: the engine's clock (empty: the real one).
  Rig(std::int32_t n_blocks, std::int32_t block_size, SchedulerConfig sc, std::int32_t n_ctx = 256,
      std::function<double()> clock = {}, std::int32_t max_waiting = 8)
      : runner(kVocab, n_blocks, block_size), pool(n_blocks, block_size) {
    EngineConfig c;
    c.scheduler = sc;
    c.n_ctx = n_ctx;
    c.max_waiting = max_waiting;
    c.clock = std::move(clock);
    c.eog_tokens = {kEos};
    engine = std::make_unique<Engine>(c, runner, pool);
    // The fake's natural tokens never hit the EOS id unless a test forces it.
    runner.force_next = [](std::uint64_t, TokenId t) { return t == kEos ? 0 : t; };
  }
  std::shared_ptr<RecordingSink> submit(RequestId id, std::vector<TokenId> prompt, std::int32_t max_tokens,
                                        std::string tenant = "", Priority priority = Priority::kInteractive) {
    GenerateRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.tenant = std::move(tenant);
    r.priority = priority;
    return submit_request(id, std::move(r));
  }
  // Greedy (the fake's argmax) whatever `r.sampling` says.
  std::shared_ptr<RecordingSink> submit_request(RequestId id, GenerateRequest r) {
    r.sampling.temperature = 0;
    EXPECT_TRUE(engine->validate(r).ok()) << engine->validate(r).to_string();
    auto sink = std::make_shared<RecordingSink>();
    engine->add(id, std::move(r), sink);
    return sink;
  }
  void run_to_completion(int max_steps = 10000) {
    for (int i = 0; i < max_steps && engine->has_work(); ++i) engine->step();
    ASSERT_FALSE(engine->has_work()) << "did not finish";
  }
  FakeRunner runner;
  BlockPool pool;
  std::unique_ptr<Engine> engine;
};

inline std::vector<TokenId> iota_tokens(std::int32_t n, std::int32_t start = 1) {
  std::vector<TokenId> t(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i) t[static_cast<std::size_t>(i)] = (start + i * 7) % (kVocab - 1);
  return t;
}

// The output of a prompt run alone in a fresh engine with a large pool.
inline std::vector<TokenId> solo(const std::vector<TokenId>& prompt, std::int32_t max_tokens) {
  Rig rig(256, 4, {.max_batch_tokens = 1000, .max_running = 8});
  auto sink = rig.submit(1, prompt, max_tokens);
  rig.run_to_completion();
  return sink->tokens;
}

}  // namespace parley::testing
