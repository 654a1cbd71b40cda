// A Gateway over ClusterModels (the Router of `parley gateway` and `serve --worker`) with a real
// worker: requests that a failing worker drops before the first token are retried on the real
// one, and with no ready worker the API answers 503 with Retry-After.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gateway/cluster_models.h"
#include "gateway/gateway.h"
#include "gateway/remote_models.h"
#include "router/fake_worker.h"
#include "worker_fixture.h"

namespace parley {
namespace {

using testing::FakeWorker;
using testing::WorkerTest;

class WorkerClusterTest : public WorkerTest {
 protected:
  void TearDown() override {
    if (front_) front_->stop();
    front_.reset();
    gateway_.reset();
    cluster_.reset();
    WorkerTest::TearDown();
  }

  void serve_cluster(std::vector<std::string> workers, const std::string& policy) {
    ClusterOptions o;
    o.router.workers = std::move(workers);
    o.router.policy = policy;
    o.router.health_interval_ms = 0;  // polled by hand
    o.cluster_token = std::string(testing::kClusterToken);
    auto c = ClusterModels::create(o);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    cluster_ = std::move(*c);
    cluster_->poll();
    auto models = cluster_->take_new_models();
    ASSERT_EQ(models.size(), 1u);
    EXPECT_TRUE(cluster_->take_new_models().empty());  // taken once
    gateway_ = std::make_shared<Gateway>(std::move(models));
    cluster_->attach_metrics(gateway_->metrics_registry());
    HttpServerOptions so;
    so.port = 0;
    auto s = serve_gateway(so, gateway_);
    ASSERT_TRUE(s.ok());
    front_ = std::move(*s);
  }

  HttpResponse chat() {
    auto r = HttpClient().request(
        "POST", "http://127.0.0.1:" + std::to_string(front_->port()) + "/v1/chat/completions",
        {{"Content-Type", "application/json"}},
        R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0})");
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : HttpResponse{};
  }

  std::unique_ptr<ClusterModels> cluster_;
  std::shared_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> front_;
};

TEST_F(WorkerClusterTest, RetriesPastAWorkerThatFailsBeforeTheFirstToken) {
  start_worker();
  auto infos = fetch_worker_models({url(), std::string(testing::kClusterToken)});
  ASSERT_TRUE(infos.ok());
  FakeWorker dying;
  dying.digest = infos->at(0).vocab_digest;  // the same model, as far as the router can tell
  dying.generate = FakeWorker::Generate::kDieBeforeTokens;
  serve_cluster({url(), dying.url()}, "round_robin");
  EXPECT_TRUE(cluster_->ready());
  for (int i = 0; i < 4; ++i) {
    const HttpResponse r = chat();
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_GE(dying.generate_calls, 1);  // round robin sent some there; each was retried
  const std::string metrics = gateway_->metrics_registry().render();
  EXPECT_NE(metrics.find("parley_router_retries_total{policy=\"round_robin\"}"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("outcome=\"unavailable\""), std::string::npos);
}

TEST_F(WorkerClusterTest, NoReadyWorkerIs503WithRetryAfter) {
  start_worker();
  serve_cluster({url()}, "affinity");
  EXPECT_EQ(chat().status, 200);
  server_->stop();  // the worker goes away
  cluster_->poll();
  EXPECT_FALSE(cluster_->ready());
  const HttpResponse r = chat();
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_EQ(r.body.find("127.0.0.1"), std::string::npos) << "no worker address in the message: " << r.body;
}

// What the gateway hands a response to; counts what it was given (from any thread).
class CountingResponder final : public HttpResponder {
 public:
  void respond(int, HttpHeaders, std::string) override { ++ends; }
  void start_stream(int, HttpHeaders) override {}
  bool write(std::string) override { return true; }
  void finish() override { ++ends; }
  bool disconnected() const override { return false; }
  void on_disconnect(std::function<void()>) override {}
  std::atomic<int> ends{0};  // responses given in full, streams finished
};

// A request ends by recording into the gateway's metrics (and charging its account): destroying
// the gateway must first end the requests it started, although the cluster, which outlives it,
// knows their routers. It did not: a reply that ended as a test's gateway went wrote into freed
// metrics (a segfault in `make test`, after WorkerClusterTest.RetriesPast...).
TEST_F(WorkerClusterTest, DestroyingTheGatewayEndsItsRequestsInFlightFirst) {
  start_worker();
  auto infos = fetch_worker_models({url(), std::string(testing::kClusterToken)});
  ASSERT_TRUE(infos.ok());
  FakeWorker holding;
  holding.digest = infos->at(0).vocab_digest;
  holding.generate = FakeWorker::Generate::kHold;  // streams a token, then nothing until released
  serve_cluster({url(), holding.url()}, "round_robin");
  front_->stop();  // requests go to the gateway directly: the server holds it too
  front_.reset();

  std::vector<std::shared_ptr<CountingResponder>> responders;
  for (int i = 0; i < 2; ++i) {  // round robin: one to each worker
    HttpRequest req;
    req.method = "POST";
    req.target = req.path = "/v1/chat/completions";
    req.remote_address = "127.0.0.1";
    req.headers = {{"Host", "127.0.0.1"}, {"Content-Type", "application/json"}};
    req.body = R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0})";
    responders.push_back(std::make_shared<CountingResponder>());
    gateway_->handle(std::move(req), responders.back());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (holding.held() < 1 || responders[0]->ends + responders[1]->ends < 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "held " << holding.held();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(holding.cancel_calls, 0);
  EXPECT_EQ(responders[0]->ends + responders[1]->ends, 1);

  gateway_.reset();
  // The held request was cancelled and answered before the gateway was gone.
  EXPECT_EQ(responders[0]->ends + responders[1]->ends, 2);
  // Its worker is told too (after the answer: the closed connection already stops it there).
  while (holding.cancel_calls < 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace
}  // namespace parley
