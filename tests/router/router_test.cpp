// Router over fake workers: retries before the first token, a clear error mid-stream, 503 with
// retry_after when no worker can take a request, draining workers skipped, cancel reaching the
// worker, stats summed, and affinity keeping a conversation's turns on one worker.
#include "router/router.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <numeric>

#include "fake_worker.h"

namespace parley {
namespace {

using testing::FakeWorker;

// Always the first candidate (the lowest worker id): deterministic order of tries.
class FirstPolicy final : public RoutePolicy {
 public:
  std::string_view name() const override { return "first"; }
  std::size_t choose(const RouteRequest&, std::span<const RouteCandidate>) override { return 0; }
};

class Sink final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent e) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* t = std::get_if<TokenEvent>(&e)) {
      tokens.insert(tokens.end(), t->tokens.begin(), t->tokens.end());
    } else {
      EXPECT_FALSE(done) << "two finish events";
      finish = std::get<FinishEvent>(e);
      done = true;
      cv_.notify_all();
    }
  }
  FinishEvent wait() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(60), [this] { return done; }));
    return finish;
  }
  std::vector<TokenId> tokens;
  FinishEvent finish;
  bool done = false;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

GenerateRequest request(std::size_t n = 40, TokenId first = 1) {
  GenerateRequest r;
  r.prompt.resize(n);
  std::iota(r.prompt.begin(), r.prompt.end(), first);
  r.max_tokens = 8;
  r.cache_scope = "acct:1";
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  void make(std::vector<FakeWorker*> workers, std::shared_ptr<RoutePolicy> policy = std::make_shared<FirstPolicy>()) {
    WorkerRegistryOptions o;
    for (FakeWorker* w : workers) o.urls.push_back(w->url());
    o.health_interval = std::chrono::milliseconds(0);
    auto r = WorkerRegistry::create(o);
    ASSERT_TRUE(r.ok());
    registry_ = *r;
    registry_->poll_once();
    router_.reset();
    metrics_.reset();
    prom_ = std::make_unique<MetricsRegistry>();
    metrics_ = std::make_shared<RouterMetrics>(*prom_, registry_);
    router_ = std::make_unique<Router>(registry_, std::move(policy), RouterOptions{.model = "tiny"});
    router_->set_metrics(metrics_);
  }
  void TearDown() override { router_.reset(); }

  FinishEvent run(Sink& sink, GenerateRequest r = request()) {
    auto id = router_->submit(std::move(r), std::shared_ptr<RequestSink>(&sink, [](RequestSink*) {}));
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    if (!id.ok()) return {};
    return sink.wait();
  }
  double counted(const std::string& worker, const std::string& outcome) {
    return metrics_->requests.with({worker, router_->policy().name(), outcome}).value();
  }

  std::unique_ptr<MetricsRegistry> prom_;
  std::shared_ptr<WorkerRegistry> registry_;
  std::shared_ptr<RouterMetrics> metrics_;
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, Completes) {
  FakeWorker a;
  make({&a});
  Sink s;
  const FinishEvent f = run(s);
  EXPECT_EQ(f.reason, FinishReason::kStop);
  EXPECT_EQ(s.tokens, a.reply);
  EXPECT_EQ(counted(a.url(), "ok"), 1);
}

TEST_F(RouterTest, RetriesOnAnotherWorkerBeforeTheFirstToken) {
  for (const auto how :
       {FakeWorker::Generate::kRefuse503, FakeWorker::Generate::kRefuse429, FakeWorker::Generate::kDieBeforeTokens}) {
    FakeWorker a, b;
    a.generate = how;
    b.reply = {9, 9};
    make({&a, &b});
    Sink s;
    const FinishEvent f = run(s);
    EXPECT_EQ(f.reason, FinishReason::kStop) << f.message;
    EXPECT_EQ(s.tokens, b.reply);
    EXPECT_EQ(a.generate_calls, 1);
    EXPECT_EQ(b.generate_calls, 1);
    EXPECT_EQ(metrics_->retries.with({"first"}).value(), 1);
    router_.reset();
  }
}

TEST_F(RouterTest, MidStreamDeathEndsWithAClearError) {
  FakeWorker a, b;
  a.generate = FakeWorker::Generate::kDieMidStream;
  make({&a, &b});
  Sink s;
  const FinishEvent f = run(s);
  EXPECT_EQ(f.reason, FinishReason::kError);
  EXPECT_EQ(f.error, ErrorCode::kUnavailable);
  EXPECT_NE(f.message.find("the reply is incomplete"), std::string::npos) << f.message;
  EXPECT_EQ(s.tokens, a.reply);    // what was sent stays sent
  EXPECT_EQ(b.generate_calls, 0);  // not run again: the client has seen tokens
  EXPECT_EQ(counted(a.url(), "interrupted"), 1);
}

TEST_F(RouterTest, NoWorkerIsUnavailableWithRetryAfter) {
  FakeWorker a;
  a.ready = false;
  make({&a});
  Sink s;
  auto id = router_->submit(request(), std::shared_ptr<RequestSink>(&s, [](RequestSink*) {}));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(id.status().detail("retry_after"), "1");
  EXPECT_EQ(a.generate_calls, 0);
  EXPECT_EQ(metrics_->no_worker.with({}).value(), 1);
}

TEST_F(RouterTest, EveryWorkerRefusingGivesTheLastError) {
  FakeWorker a, b;
  a.generate = FakeWorker::Generate::kRefuse429;
  b.generate = FakeWorker::Generate::kRefuse429;
  make({&a, &b});
  Sink s;
  auto id = router_->submit(request(), std::shared_ptr<RequestSink>(&s, [](RequestSink*) {}));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(a.generate_calls + b.generate_calls, 2);
}

TEST_F(RouterTest, DyingWorkerIsEjectedAfterRepeatedFailures) {
  FakeWorker a, b;
  a.generate = FakeWorker::Generate::kDieBeforeTokens;
  make({&a, &b});
  for (int i = 0; i < 4; ++i) {
    Sink s;
    EXPECT_EQ(run(s).reason, FinishReason::kStop);
  }
  EXPECT_EQ(a.generate_calls, 3);  // the default: ejected after 3 failures in a row
  EXPECT_EQ(b.generate_calls, 4);
  EXPECT_EQ(registry_->ejections_total(), 1);
}

TEST_F(RouterTest, DrainingWorkerTakesNoNewRequests) {
  FakeWorker a, b;
  make({&a, &b});
  a.draining = true;
  registry_->poll_once();
  for (int i = 0; i < 3; ++i) {
    Sink s;
    EXPECT_EQ(run(s).reason, FinishReason::kStop);
  }
  EXPECT_EQ(a.generate_calls, 0);
  EXPECT_EQ(b.generate_calls, 3);
}

// A worker that began draining after its last probe refuses with 503 worker_draining: the request
// goes elsewhere, the worker takes no new one until a probe finds it ready, and it is not ejected
// (before the fix, three such refusals ejected a healthy worker for seconds).
TEST_F(RouterTest, DrainingRefusalsDoNotEjectTheWorker) {
  FakeWorker a, b;
  a.generate = FakeWorker::Generate::kRefuseDraining;
  make({&a, &b});
  for (int i = 0; i < 5; ++i) {
    Sink s;
    EXPECT_EQ(run(s).reason, FinishReason::kStop);
  }
  EXPECT_EQ(a.generate_calls, 1);  // then out of rotation, not tried (and refused) again
  EXPECT_EQ(b.generate_calls, 5);
  EXPECT_EQ(registry_->ejections_total(), 0);
  EXPECT_EQ(counted(a.url(), "draining"), 1);
  EXPECT_EQ(counted(a.url(), "unavailable"), 0);
  const auto snap = registry_->snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_TRUE(snap[0].draining);
  EXPECT_FALSE(snap[0].ejected);

  // The same worker back in service (a drain cancelled, or the process restarted at that address).
  a.generate = FakeWorker::Generate::kOk;
  registry_->poll_once();
  Sink s;
  EXPECT_EQ(run(s).reason, FinishReason::kStop);
  EXPECT_EQ(a.generate_calls, 2);
}

// Affinity learns placements it did not route: each worker reports the prefix blocks of the
// requests it took (from any gateway) in its stats, and the registry hands them to the policy.
TEST_F(RouterTest, AffinityLearnsPlacementsFromTheWorkersStats) {
  FakeWorker w[4];
  std::vector<GenerateRequest> requests;
  for (int i = 0; i < 6; ++i) {
    requests.push_back(request(64, static_cast<TokenId>(1000 * (i + 1))));
    // Another gateway sent request i to worker i % 4 (its first three blocks: a shorter prefix).
    const auto blocks = prefix_block_hashes(requests.back().prompt, requests.back().cache_scope);
    w[i % 4].placements.insert(w[i % 4].placements.end(), blocks.begin(), blocks.begin() + 3);
  }
  auto policy = make_route_policy("affinity", {.seed = 7});
  ASSERT_TRUE(policy.ok());
  make({&w[0], &w[1], &w[2], &w[3]}, std::shared_ptr<RoutePolicy>(std::move(*policy)));
  registry_->poll_once();  // the router watches now: this probe asks for the blocks
  for (int i = 0; i < 6; ++i) {
    Sink s;
    ASSERT_EQ(run(s, requests[i]).reason, FinishReason::kStop);
    int calls = 0;
    for (auto& f : w) calls += f.generate_calls;
    EXPECT_EQ(w[i % 4].generate_calls, i / 4 + 1) << "request " << i;
    EXPECT_EQ(calls, i + 1);
  }
  EXPECT_GE(w[0].stats_with_blocks, 1);
  // Only what is new is fetched next time (the fake answers blocks after `blocks_since`).
  registry_->poll_once();
}

TEST_F(RouterTest, CancelReachesTheWorker) {
  FakeWorker a;
  a.generate = FakeWorker::Generate::kHold;
  make({&a});
  Sink s;
  auto id = router_->submit(request(), std::shared_ptr<RequestSink>(&s, [](RequestSink*) {}));
  ASSERT_TRUE(id.ok());
  router_->cancel(*id);
  EXPECT_EQ(s.wait().reason, FinishReason::kCancelled);
  EXPECT_EQ(router_->in_flight(), 0u);
}

TEST_F(RouterTest, StatsSumTheWorkers) {
  FakeWorker a, b;
  a.waiting = 2;
  b.waiting = 3;
  make({&a, &b});
  EXPECT_EQ(router_->stats().waiting, 5);
  EXPECT_EQ(router_->stats().kv_blocks_total, 200);
}

TEST_F(RouterTest, AffinitySendsTheNextTurnToTheSameWorker) {
  FakeWorker a, b, c;
  auto policy = make_route_policy("affinity", {.seed = 7});
  ASSERT_TRUE(policy.ok());
  make({&a, &b, &c}, std::shared_ptr<RoutePolicy>(std::move(*policy)));
  std::vector<FakeWorker*> all{&a, &b, &c};
  const auto which = [&](const std::vector<int>& before) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i]->generate_calls != before[i]) return static_cast<int>(i);
    }
    return -1;
  };
  const auto calls = [&] { return std::vector<int>{a.generate_calls, b.generate_calls, c.generate_calls}; };
  std::vector<int> first_turn;
  for (int conv = 0; conv < 12; ++conv) {
    const auto before = calls();
    Sink s;
    run(s, request(48, 1000 * (conv + 1)));
    first_turn.push_back(which(before));
  }
  for (int conv = 0; conv < 12; ++conv) {
    GenerateRequest next = request(48, 1000 * (conv + 1));
    next.prompt.insert(next.prompt.end(), {5, 6, 7, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56});
    const auto before = calls();
    Sink s;
    run(s, std::move(next));
    EXPECT_EQ(which(before), first_turn[conv]) << "conversation " << conv;
  }
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

TEST_F(RouterTest, TokenIdsOutsideTheVocabularyAreRefused) {
  FakeWorker a;
  a.reply = {5, 6, 7};
  make({&a});
  registry_->set_model_vocab("tiny", 7);  // id 7 is outside
  Sink s;
  const FinishEvent f = run(s);
  EXPECT_EQ(f.reason, FinishReason::kError);
  EXPECT_TRUE(s.tokens.empty());
}

}  // namespace
}  // namespace parley
