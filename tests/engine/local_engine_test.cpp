// LocalEngine across threads, with the fake runner and with a real (synthetic) model.
#include "engine/local_engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/rng.h"
#include "fake_runner.h"
#include "kernels/backend.h"
#include "model/model.h"
#include "model/synth.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

// A sink another thread can wait on.
class WaitingSink final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto* t = std::get_if<TokenEvent>(&event)) {
      tokens.insert(tokens.end(), t->tokens.begin(), t->tokens.end());
    } else {
      finish = std::get<FinishEvent>(event);
      done = true;
      cv_.notify_all();
    }
  }
  bool wait(double seconds = 60) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done; });
  }
  std::size_t n_tokens() {
    std::lock_guard<std::mutex> lock(mutex_);
    return tokens.size();
  }
  std::vector<TokenId> tokens;
  FinishEvent finish;
  bool done = false;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
};

GenerateRequest greedy(std::vector<TokenId> prompt, std::int32_t max_tokens) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  return r;
}

LocalEngineOptions fake_options(std::int32_t n_blocks, std::int32_t block_size) {
  LocalEngineOptions o;
  o.engine.n_ctx = 256;
  o.engine.max_waiting = 16;
  o.engine.scheduler = {.max_batch_tokens = 32, .max_running = 4};
  o.n_blocks = n_blocks;
  o.block_size = block_size;
  return o;
}

TEST(LocalEngine, ServesConcurrentSubmittersAndCancels) {
  auto runner = std::make_unique<testing::FakeRunner>(50, 64, 4);
  runner->delay = std::chrono::microseconds(200);
  auto engine = LocalEngine::start(std::move(runner), fake_options(64, 4));
  std::vector<std::shared_ptr<WaitingSink>> sinks(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2; ++i) {
        auto sink = std::make_shared<WaitingSink>();
        sinks[static_cast<std::size_t>(t * 2 + i)] = sink;
        auto id = engine->submit(greedy({1, 2, 3, t, i}, 10), sink);
        ASSERT_TRUE(id.ok()) << id.status().to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (auto& s : sinks) {
    ASSERT_TRUE(s->wait());
    EXPECT_EQ(s->finish.reason, FinishReason::kLength);
    EXPECT_EQ(s->tokens.size(), 10u);
  }
  // Cancel a long request from this thread while it runs.
  auto sink = std::make_shared<WaitingSink>();
  auto id = engine->submit(greedy({5, 6, 7}, 200), sink);
  ASSERT_TRUE(id.ok());
  while (sink->n_tokens() < 3) std::this_thread::yield();
  engine->cancel(*id);
  ASSERT_TRUE(sink->wait());
  EXPECT_EQ(sink->finish.reason, FinishReason::kCancelled);
  const EngineStats st = engine->stats();
  EXPECT_EQ(st.requests_finished, 9);
  EXPECT_EQ(st.kv_blocks_used, 0);
}

TEST(LocalEngine, RejectsAtOnceWhenTheQueueIsFullAndCancelsOnShutdown) {
  LocalEngineOptions o = fake_options(64, 4);
  o.engine.max_waiting = 2;
  o.engine.scheduler.max_running = 1;
  auto runner = std::make_unique<testing::FakeRunner>(50, 64, 4);
  auto engine = LocalEngine::start(std::move(runner), o);
  std::vector<std::shared_ptr<WaitingSink>> sinks;
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 20; ++i) {
    auto s = std::make_shared<WaitingSink>();
    auto id = engine->submit(greedy({1, 2, 3}, 200), s);
    if (id.ok()) {
      ++accepted;
      sinks.push_back(s);
    } else {
      EXPECT_EQ(id.status().code(), ErrorCode::kResourceExhausted);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GE(engine->stats().requests_rejected, 1);
  engine.reset();  // every accepted request still gets its finish event
  for (auto& s : sinks) {
    EXPECT_TRUE(s->done);
  }
  EXPECT_GE(accepted, 1);
}

// ---- with a real model ----------------------------------------------------------------------

class ModelEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("parley_engine_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto md = builtin_vocab_metadata("bytes");
    SynthOptions o = testing::two_layer_synth();
    o.std = 0.05f;
    path_ = (dir_ / "m.gguf").string();
    CHECK(synth_model(o, *md, path_).ok());
    backend_ = std::move(*create_backend("cpu", {.n_threads = 2}));
    model_ = std::move(*Model::load(path_, *backend_));
  }
  static void TearDownTestSuite() {
    model_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  static std::unique_ptr<LocalEngine> start(std::int32_t n_blocks, std::int64_t budget, std::int32_t max_running) {
    LocalEngineOptions o;
    o.engine.n_ctx = 512;
    o.engine.scheduler = {.max_batch_tokens = budget, .max_running = max_running};
    o.n_blocks = n_blocks;
    o.block_size = 16;
    auto e = LocalEngine::start(*model_, o);
    CHECK(e.ok(), "{}", e.status().to_string());
    return std::move(*e);
  }
  static std::vector<TokenId> prompt(std::uint64_t seed, int n) {
    Rng rng(seed);
    std::vector<TokenId> p;
    for (int i = 0; i < n; ++i) p.push_back(static_cast<TokenId>(rng.below(700)));
    return p;
  }
  static std::vector<TokenId> alone(const std::vector<TokenId>& p, std::int32_t n) {
    auto e = start(64, 512, 1);
    auto s = std::make_shared<WaitingSink>();
    CHECK(e->submit(greedy(p, n), s).ok());
    CHECK(s->wait());
    return s->tokens;
  }
  static std::filesystem::path dir_;
  static std::string path_;
  static std::unique_ptr<Backend> backend_;
  static std::unique_ptr<Model> model_;
};
std::filesystem::path ModelEngineTest::dir_;
std::string ModelEngineTest::path_;
std::unique_ptr<Backend> ModelEngineTest::backend_;
std::unique_ptr<Model> ModelEngineTest::model_;

// (One backend is driven by one engine at a time: the expected outputs are computed before the
// engine under test starts, and its engine is gone before the next test's.)
TEST_F(ModelEngineTest, ConcurrentGreedyRequestsProduceWhatEachProducesAlone) {
  std::vector<std::vector<TokenId>> prompts, expected;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(prompt(static_cast<std::uint64_t>(i), 20 + 17 * i));
    expected.push_back(alone(prompts.back(), 12));
  }
  auto e = start(128, 64, 8);  // a small budget: prompts are chunked and mixed with decodes
  std::vector<std::shared_ptr<WaitingSink>> sinks;
  for (int i = 0; i < 6; ++i) {
    sinks.push_back(std::make_shared<WaitingSink>());
    ASSERT_TRUE(e->submit(greedy(prompts[static_cast<std::size_t>(i)], 12), sinks.back()).ok());
  }
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(sinks[static_cast<std::size_t>(i)]->wait());
    EXPECT_EQ(sinks[static_cast<std::size_t>(i)]->tokens, expected[static_cast<std::size_t>(i)]) << i;
  }
}

TEST_F(ModelEngineTest, PrefixCacheHitGivesTheSameTokensAsCold) {
  const auto system = prompt(100, 64);
  auto user = system;
  for (TokenId t : prompt(101, 9)) user.push_back(t);
  const auto cold = alone(user, 10);
  auto e = start(128, 512, 4);
  auto first = std::make_shared<WaitingSink>();
  ASSERT_TRUE(e->submit(greedy(system, 4), first).ok());
  ASSERT_TRUE(first->wait());
  auto second = std::make_shared<WaitingSink>();
  ASSERT_TRUE(e->submit(greedy(user, 10), second).ok());
  ASSERT_TRUE(second->wait());
  EXPECT_EQ(second->finish.cached_prompt_tokens, 64);
  EXPECT_EQ(second->tokens, cold);
  EXPECT_GT(e->stats().prefix_hit_tokens, 0);
}

TEST_F(ModelEngineTest, PreemptedRequestsFinishWithIdenticalOutput) {
  // 10 blocks of 16 tokens; four requests of 30-token prompts generating 40 each cannot all fit.
  std::vector<std::vector<TokenId>> prompts, expected;
  for (int i = 0; i < 4; ++i) {
    prompts.push_back(prompt(static_cast<std::uint64_t>(200 + i), 30));
    expected.push_back(alone(prompts.back(), 40));
  }
  auto e = start(10, 256, 4);
  std::vector<std::shared_ptr<WaitingSink>> sinks;
  for (int i = 0; i < 4; ++i) {
    sinks.push_back(std::make_shared<WaitingSink>());
    ASSERT_TRUE(e->submit(greedy(prompts[static_cast<std::size_t>(i)], 40), sinks.back()).ok());
  }
  int preemptions = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(sinks[static_cast<std::size_t>(i)]->wait());
    preemptions += sinks[static_cast<std::size_t>(i)]->finish.preemptions;
    EXPECT_EQ(sinks[static_cast<std::size_t>(i)]->tokens, expected[static_cast<std::size_t>(i)]) << i;
  }
  EXPECT_GT(preemptions, 0);
}

}  // namespace
}  // namespace parley
