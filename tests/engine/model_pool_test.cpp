// ModelPool with engines the test drives by hand: load on first request, one load at a time,
// the waiters' bound, LRU unloads under a memory budget, idle unloads on a test clock, streams
// that survive an unload, and a failed load that leaves the pool serving.
#include "engine/model_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <set>

namespace parley {
namespace {

// An engine whose requests run until the test finishes them.
class HeldEngine final : public EngineClient {
 public:
  Result<RequestId> submit(GenerateRequest, std::shared_ptr<RequestSink> sink) override {
    std::lock_guard<std::mutex> lock(mu_);
    const RequestId id = next_++;
    running_[id] = std::move(sink);
    return id;
  }
  void cancel(RequestId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled.insert(id);
  }
  EngineStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    EngineStats s;
    s.running = static_cast<std::int64_t>(running_.size());
    return s;
  }
  void emit_all(TokenId t) {
    for (auto& [id, sink] : take_all(false)) sink->on_event(id, TokenEvent{.tokens = {t}, .logprobs = {}});
  }
  void finish_all() {
    for (auto& [id, sink] : take_all(true)) sink->on_event(id, FinishEvent{});
  }
  std::set<RequestId> cancelled;

 private:
  std::map<RequestId, std::shared_ptr<RequestSink>> take_all(bool erase) {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<RequestId, std::shared_ptr<RequestSink>> out = running_;
    if (erase) running_.clear();
    return out;
  }
  mutable std::mutex mu_;
  RequestId next_ = 1;
  std::map<RequestId, std::shared_ptr<RequestSink>> running_;
};

class CollectSink final : public RequestSink {
 public:
  void on_event(RequestId id, EngineEvent e) override {
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(id);
    if (auto* t = std::get_if<TokenEvent>(&e)) tokens.insert(tokens.end(), t->tokens.begin(), t->tokens.end());
    if (std::holds_alternative<FinishEvent>(e)) finished = true;
  }
  std::mutex mu;
  std::set<RequestId> ids;
  std::vector<TokenId> tokens;
  bool finished = false;
};

// Loaders that count their calls and hand out HeldEngines the test can reach.
struct Loaders {
  std::mutex mu;
  std::map<std::string, int> loads;
  std::map<std::string, std::shared_ptr<HeldEngine>> engines;
  std::vector<std::pair<std::string, std::string>> unloads;  // id, reason
  std::vector<std::string> loaded;

  EngineLoader make(const std::string& id) {
    return [this, id]() -> Result<std::shared_ptr<EngineClient>> {
      auto e = std::make_shared<HeldEngine>();
      std::lock_guard<std::mutex> lock(mu);
      ++loads[id];
      engines[id] = e;
      return std::shared_ptr<EngineClient>(e);
    };
  }
  ModelPoolHooks hooks() {
    return {.loaded =
                [this](const std::string& id, double) {
                  std::lock_guard<std::mutex> l(mu);
                  loaded.push_back(id);
                },
            .unloaded =
                [this](const std::string& id, UnloadReason r) {
                  std::lock_guard<std::mutex> l(mu);
                  unloads.emplace_back(id, std::string(unload_reason_name(r)));
                }};
  }
  int count(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return loads[id];
  }
  std::shared_ptr<HeldEngine> engine(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return engines[id];
  }
};

ModelState state_of(const ModelPool& pool, const std::string& id) {
  return pool.info(id)->state;
}

GenerateRequest request() {
  GenerateRequest r;
  r.prompt = {1, 2, 3};
  r.max_tokens = 4;
  return r;
}

// Waits (bounded) until `id` reaches `state`: unloads that wait for streams finish on the pool's thread.
bool wait_state(const ModelPool& pool, const std::string& id, ModelState state) {
  for (int i = 0; i < 3000; ++i) {
    if (state_of(pool, id) == state) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(ModelPoolTest, LoadsOnFirstRequestOnce) {
  Loaders l;
  ModelPool pool({}, l.hooks());
  auto engine = pool.add("a", 100, l.make("a"));
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(state_of(pool, "a"), ModelState::kUnloaded);
  EXPECT_EQ(l.count("a"), 0);
  auto s1 = std::make_shared<CollectSink>();
  auto s2 = std::make_shared<CollectSink>();
  ASSERT_TRUE((*engine)->submit(request(), s1).ok());
  ASSERT_TRUE((*engine)->submit(request(), s2).ok());
  EXPECT_EQ(state_of(pool, "a"), ModelState::kLoaded);
  EXPECT_EQ(l.count("a"), 1);
  EXPECT_EQ(pool.info("a")->streams, 2);
  EXPECT_EQ(pool.memory_used(), 100);
  l.engine("a")->finish_all();
  EXPECT_TRUE(s1->finished);
  EXPECT_EQ(pool.info("a")->streams, 0);
  EXPECT_FALSE(pool.add("a", 1, l.make("a")).ok());  // one id, one model
}

TEST(ModelPoolTest, LeastRecentlyUsedUnloadsUnderTheBudget) {
  Loaders l;
  std::chrono::steady_clock::time_point t{};
  ModelPool pool({.memory_bytes = 250, .now = [&t] { return t; }}, l.hooks());
  auto a = pool.add("a", 100, l.make("a"));
  auto b = pool.add("b", 100, l.make("b"));
  auto c = pool.add("c", 100, l.make("c"));
  auto p = pool.add("p", 10, l.make("p"), /*pinned=*/true);
  ASSERT_TRUE(pool.load("p").ok());
  ASSERT_TRUE(pool.load("a").ok());
  t += std::chrono::seconds(1);
  ASSERT_TRUE(pool.load("b").ok());
  t += std::chrono::seconds(1);
  ASSERT_TRUE((*a)->submit(request(), std::make_shared<CollectSink>()).ok());  // a is now the most recent
  l.engine("a")->finish_all();
  t += std::chrono::seconds(1);
  ASSERT_TRUE(pool.load("c").ok());  // 210 + 100 > 250: b, the least recently used, goes
  EXPECT_EQ(state_of(pool, "b"), ModelState::kUnloaded);
  EXPECT_EQ(state_of(pool, "a"), ModelState::kLoaded);
  EXPECT_EQ(state_of(pool, "c"), ModelState::kLoaded);
  EXPECT_EQ(state_of(pool, "p"), ModelState::kLoaded);
  EXPECT_EQ(pool.memory_used(), 210);
  std::lock_guard<std::mutex> lock(l.mu);
  ASSERT_EQ(l.unloads.size(), 1u);
  EXPECT_EQ(l.unloads[0], std::make_pair(std::string("b"), std::string("memory")));
}

TEST(ModelPoolTest, AModelRunningAStreamIsNeverUnloadedForMemory) {
  Loaders l;
  ModelPool pool({.memory_bytes = 150}, l.hooks());
  auto a = pool.add("a", 100, l.make("a"));
  auto b = pool.add("b", 100, l.make("b"));
  ASSERT_TRUE((*a)->submit(request(), std::make_shared<CollectSink>()).ok());
  Result<RequestId> refused = (*b)->submit(request(), std::make_shared<CollectSink>());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(refused.status().detail("retry_after"), "5");
  EXPECT_EQ(state_of(pool, "a"), ModelState::kLoaded);
  EXPECT_EQ(state_of(pool, "b"), ModelState::kUnloaded);
  l.engine("a")->finish_all();
  EXPECT_TRUE((*b)->submit(request(), std::make_shared<CollectSink>()).ok());  // a is idle now: it goes
  EXPECT_EQ(state_of(pool, "a"), ModelState::kUnloaded);
  auto big = pool.add("big", 1000, l.make("big"));
  Result<RequestId> too_big = (*big)->submit(request(), std::make_shared<CollectSink>());
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("more than the models' memory bound"), std::string::npos);
}

TEST(ModelPoolTest, IdleModelsUnloadButPinnedOnesStay) {
  Loaders l;
  std::chrono::steady_clock::time_point t{};
  ModelPool pool(
      {.idle_unload = std::chrono::minutes(5), .housekeeping = std::chrono::milliseconds(0), .now = [&t] { return t; }},
      l.hooks());
  auto a = pool.add("a", 1, l.make("a"));
  auto p = pool.add("p", 1, l.make("p"), /*pinned=*/true);
  auto s = pool.add("s", 1, l.make("s"));
  ASSERT_TRUE(pool.load("a").ok());
  ASSERT_TRUE(pool.load("p").ok());
  ASSERT_TRUE((*s)->submit(request(), std::make_shared<CollectSink>()).ok());  // a stream that runs on
  t += std::chrono::minutes(4);
  pool.tick();
  EXPECT_EQ(state_of(pool, "a"), ModelState::kLoaded);
  t += std::chrono::minutes(2);
  pool.tick();
  EXPECT_EQ(state_of(pool, "a"), ModelState::kUnloaded);
  EXPECT_EQ(state_of(pool, "p"), ModelState::kLoaded);
  EXPECT_EQ(state_of(pool, "s"), ModelState::kLoaded);  // busy is not idle
  EXPECT_FALSE(pool.unload("p").ok());                  // pinned: unpin first
  ASSERT_TRUE(pool.pin("p", false).ok());
  pool.tick();
  EXPECT_EQ(state_of(pool, "p"), ModelState::kUnloaded);
  std::lock_guard<std::mutex> lock(l.mu);
  EXPECT_EQ(l.unloads, (std::vector<std::pair<std::string, std::string>>{{"a", "idle"}, {"p", "idle"}}));
}

TEST(ModelPoolTest, AStreamSurvivesAnUnloadRequestAndANewRequestReloads) {
  Loaders l;
  ModelPool pool({.housekeeping = std::chrono::milliseconds(0)}, l.hooks());
  auto a = pool.add("a", 1, l.make("a"));
  auto sink = std::make_shared<CollectSink>();
  Result<RequestId> id = (*a)->submit(request(), sink);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(pool.unload("a").ok());
  EXPECT_EQ(state_of(pool, "a"), ModelState::kUnloading);
  std::shared_ptr<HeldEngine> first = l.engine("a");
  // A request meanwhile waits for the unload, then loads it again.
  auto later = std::async(std::launch::async, [&] { return (*a)->submit(request(), std::make_shared<CollectSink>()); });
  first->emit_all(7);
  first->finish_all();
  ASSERT_TRUE(later.get().ok());
  EXPECT_EQ(sink->tokens, std::vector<TokenId>{7});
  EXPECT_TRUE(sink->finished);
  EXPECT_EQ(l.count("a"), 2);
  EXPECT_EQ(state_of(pool, "a"), ModelState::kLoaded);
  // Our ids go on across reloads: a late cancel of the first request reaches nobody.
  (*a)->cancel(*id);
  EXPECT_TRUE(l.engine("a")->cancelled.empty());
  std::lock_guard<std::mutex> lock(l.mu);
  EXPECT_EQ(l.unloads, (std::vector<std::pair<std::string, std::string>>{{"a", "admin"}}));
}

TEST(ModelPoolTest, AFailedLoadIsAClearErrorAndTheOthersServeOn) {
  Loaders l;
  ModelPool pool({}, l.hooks());
  std::atomic<int> tries{0};
  auto bad = pool.add("bad", 1, [&tries]() -> Result<std::shared_ptr<EngineClient>> {
    ++tries;
    return invalid_argument_error("bad.gguf: not a GGUF file");
  });
  auto good = pool.add("good", 1, l.make("good"));
  Result<RequestId> r = (*bad)->submit(request(), std::make_shared<CollectSink>());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  EXPECT_NE(r.status().message().find("model 'bad' cannot be loaded: bad.gguf: not a GGUF file"), std::string::npos);
  EXPECT_EQ(state_of(pool, "bad"), ModelState::kFailed);
  EXPECT_FALSE((*bad)->submit(request(), std::make_shared<CollectSink>()).ok());
  EXPECT_EQ(tries.load(), 1);  // not tried again per request
  EXPECT_FALSE(pool.load("bad").ok());
  EXPECT_EQ(tries.load(), 2);  // an explicit load tries again
  EXPECT_TRUE((*good)->submit(request(), std::make_shared<CollectSink>()).ok());
}

TEST(ModelPoolTest, OneLoadAtATimeAndTheWaitersAreBounded) {
  Loaders l;
  std::latch release(1);
  std::atomic<int> tries{0};
  ModelPool pool({.load_timeout = std::chrono::seconds(60), .max_waiters = 2}, l.hooks());
  auto slow = pool.add("slow", 1, [&]() -> Result<std::shared_ptr<EngineClient>> {
    ++tries;
    release.wait();
    return std::shared_ptr<EngineClient>(std::make_shared<HeldEngine>());
  });
  std::vector<std::future<Result<RequestId>>> waiting;
  for (int i = 0; i < 2; ++i) {
    waiting.push_back(
        std::async(std::launch::async, [&] { return (*slow)->submit(request(), std::make_shared<CollectSink>()); }));
  }
  for (int i = 0; i < 30000 && pool.info("slow")->waiters < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(pool.info("slow")->waiters, 2);
  EXPECT_EQ(state_of(pool, "slow"), ModelState::kLoading);
  Result<RequestId> third = (*slow)->submit(request(), std::make_shared<CollectSink>());
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(third.status().detail("retry_after"), "2");
  release.count_down();
  for (auto& w : waiting) EXPECT_TRUE(w.get().ok());
  EXPECT_EQ(tries.load(), 1);
}

TEST(ModelPoolTest, AWaitPastTheLoadTimeoutIsUnavailable) {
  std::latch release(1);
  ModelPool pool({.load_timeout = std::chrono::milliseconds(20)});
  auto slow = pool.add("slow", 1, [&]() -> Result<std::shared_ptr<EngineClient>> {
    release.wait();
    return std::shared_ptr<EngineClient>(std::make_shared<HeldEngine>());
  });
  Result<RequestId> r = (*slow)->submit(request(), std::make_shared<CollectSink>());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("still loading"), std::string::npos);
  release.count_down();
  EXPECT_TRUE(wait_state(pool, "slow", ModelState::kLoaded));
}

TEST(ModelPoolTest, ARemovedModelRefusesAndUnloadsAfterItsStreams) {
  Loaders l;
  ModelPool pool({}, l.hooks());
  auto a = pool.add("a", 5, l.make("a"));
  auto sink = std::make_shared<CollectSink>();
  ASSERT_TRUE((*a)->submit(request(), sink).ok());
  pool.remove("a");
  EXPECT_FALSE(pool.info("a").has_value());
  EXPECT_EQ(pool.memory_used(), 5);  // its stream runs on
  Result<RequestId> r = (*a)->submit(request(), std::make_shared<CollectSink>());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  l.engine("a")->finish_all();
  EXPECT_TRUE(sink->finished);
  for (int i = 0; i < 3000 && pool.memory_used() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(pool.memory_used(), 0);
}

}  // namespace
}  // namespace parley
