// `parley worker --models-dir` with a gateway in front (ClusterModels, as `parley gateway` runs it):
// the worker lists its files with `loaded` false until a generate call loads one; a file added to
// the worker's directory after the gateway started is served through the gateway once both have
// looked again (the worker's rescan, the gateway's poll).
#include <gtest/gtest.h>

#include "gateway/cluster_models.h"
#include "gateway/gateway.h"
#include "gateway/remote_models.h"
#include "worker/worker_model_dir.h"
#include "worker_fixture.h"

namespace parley {
namespace {

using testing::WorkerTest;

class WorkerOnDemandTest : public WorkerTest {
 protected:
  void SetUp() override {
    dir_ = model_dir_ / ("on_demand_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(model_path_, dir_ / "first.gguf");
  }
  void TearDown() override {
    if (front_) front_->stop();
    front_.reset();
    gateway_.reset();
    cluster_.reset();
    directory_.reset();
    WorkerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  void start_on_demand_worker() {
    WorkerOptions wo;
    wo.cluster_token = std::string(testing::kClusterToken);
    service_ = WorkerService::create(wo);
    WorkerModelDirOptions o;
    o.dir = dir_.string();
    o.model = model_options();
    o.rescan = std::chrono::milliseconds(0);  // by hand
    auto d = WorkerModelDirectory::create(o, service_);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    directory_ = *d;
    service_->add_models({});
    HttpServerOptions so;
    so.port = 0;
    auto server = serve_worker(so, service_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  void serve_gateway_over_worker() {
    ClusterOptions o;
    o.router.workers = {url()};
    o.router.health_interval_ms = 0;  // polled by hand
    o.cluster_token = std::string(testing::kClusterToken);
    auto c = ClusterModels::create(o);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    cluster_ = std::move(*c);
    cluster_->poll();
    gateway_ = std::make_shared<Gateway>(cluster_->take_new_models());
    HttpServerOptions so;
    so.port = 0;
    auto s = serve_gateway(so, gateway_);
    ASSERT_TRUE(s.ok());
    front_ = std::move(*s);
  }

  HttpResponse chat(const std::string& model) {
    auto r = HttpClient().request(
        "POST", "http://127.0.0.1:" + std::to_string(front_->port()) + "/v1/chat/completions",
        {{"Content-Type", "application/json"}},
        R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}],"max_tokens":3})");
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : HttpResponse{};
  }

  std::optional<WorkerModelInfo> worker_model(const std::string& id) {
    auto infos = fetch_worker_models({url(), std::string(testing::kClusterToken)});
    EXPECT_TRUE(infos.ok()) << infos.status().to_string();
    if (!infos.ok()) return std::nullopt;
    for (const WorkerModelInfo& i : *infos) {
      if (i.id == id) return i;
    }
    return std::nullopt;
  }

  std::filesystem::path dir_;
  std::shared_ptr<WorkerModelDirectory> directory_;
  std::unique_ptr<ClusterModels> cluster_;
  std::shared_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> front_;
};

TEST_F(WorkerOnDemandTest, TheWorkerSaysWhetherAModelIsLoaded) {
  start_on_demand_worker();
  std::optional<WorkerModelInfo> first = worker_model("first");
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(first->loaded);
  EXPECT_EQ(first->size_bytes, static_cast<std::int64_t>(std::filesystem::file_size(dir_ / "first.gguf")));
  serve_gateway_over_worker();
  const HttpResponse r = chat("first");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(worker_model("first")->loaded);
  EXPECT_NE(call("GET", "/metrics")->body.find(R"(parley_model_load_seconds_count{model="first"} 1)"),
            std::string::npos);
}

TEST_F(WorkerOnDemandTest, AModelThatAppearsOnTheWorkerLaterIsServedByTheGateway) {
  start_on_demand_worker();
  serve_gateway_over_worker();
  ASSERT_EQ(chat("first").status, 200);
  EXPECT_EQ(chat("second").status, 404);
  std::filesystem::copy_file(model_path_, dir_ / "second.gguf");
  ASSERT_TRUE(directory_->rescan().ok());  // the worker's periodic rescan
  EXPECT_TRUE(worker_model("second").has_value());
  cluster_->poll();  // the gateway's poller: the stats name a new model ...
  cluster_->poll();  // ... so the next poll fetches the list
  const std::vector<std::string> added = cluster_->add_new_models(gateway_->catalog());
  EXPECT_EQ(added, std::vector<std::string>{"second"});
  const HttpResponse r = chat("second");
  EXPECT_EQ(r.status, 200) << r.body;
  // Removed from the worker's directory: the worker stops listing it.
  std::filesystem::remove(dir_ / "second.gguf");
  ASSERT_TRUE(directory_->rescan().ok());
  EXPECT_FALSE(worker_model("second").has_value());
}

}  // namespace
}  // namespace parley
