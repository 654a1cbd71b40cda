// A worker in process: the tiny synthetic model behind a WorkerService on a free loopback port,
// with a cluster token, plus helpers to call it and to watch a request's events.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gguf/gguf_file.h"
#include "manual_engine.h"
#include "model/synth.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "router/remote_engine.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"
#include "worker/worker_service.h"

namespace parley::testing {

inline constexpr std::string_view kClusterToken = "test-cluster-token-0123456789";

// Collects a request's events; wait() blocks until its finish.
class WaitingSink final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* t = std::get_if<TokenEvent>(&event)) {
      EXPECT_FALSE(finished_) << "tokens after the finish";
      tokens_.insert(tokens_.end(), t->tokens.begin(), t->tokens.end());
    } else {
      EXPECT_FALSE(finished_) << "two finish events";
      finished_ = true;
      finish_ = std::get<FinishEvent>(event);
    }
    cv_.notify_all();
  }
  FinishEvent wait() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(60), [this] { return finished_; }));
    return finish_;
  }
  void wait_tokens(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(60), [&] { return tokens_.size() >= n || finished_; }));
  }
  std::vector<TokenId> tokens() {
    std::lock_guard<std::mutex> lock(mu_);
    return tokens_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TokenId> tokens_;
  bool finished_ = false;
  FinishEvent finish_;
};

class WorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = std::filesystem::temp_directory_path() / ("parley_worker_model_" + std::to_string(::getpid()));
    std::filesystem::create_directories(model_dir_);
    auto md = builtin_vocab_metadata("bytes");
    ASSERT_TRUE(md.ok());
    const SynthOptions o = testing::one_layer_synth(1024);
    model_path_ = (model_dir_ / "tiny.gguf").string();
    ASSERT_TRUE(synth_model(o, *md, model_path_).ok());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(model_dir_); }

  static WorkerModelOptions model_options() {
    WorkerModelOptions m;
    m.path = model_path_;
    m.threads = 1;
    m.kv_cache_bytes = 8 << 20;
    return m;
  }

  void start_worker(std::string token = std::string(kClusterToken)) {
    WorkerOptions wo;
    wo.cluster_token = std::move(token);
    wo.tracer = tracer_;
    service_ = WorkerService::create(wo);
    ASSERT_TRUE(service_->load({model_options()}).ok());
    HttpServerOptions so;
    so.port = 0;
    auto server = serve_worker(so, service_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  // A worker whose engine the test drives (manual_): the tiny model's vocabulary, no weights.
  void start_manual_worker() {
    WorkerOptions wo;
    wo.cluster_token = std::string(kClusterToken);
    service_ = WorkerService::create(wo);
    auto file = GgufFile::open(model_path_);
    ASSERT_TRUE(file.ok());
    auto engine = std::make_unique<ManualEngine>();
    manual_ = engine.get();
    auto model =
        WorkerModel::with_engine("tiny", 1024, std::shared_ptr<const GgufFile>(std::move(*file)), std::move(engine));
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    std::vector<std::unique_ptr<WorkerModel>> models;
    models.push_back(std::move(*model));
    service_->add_models(std::move(models));
    HttpServerOptions so;
    so.port = 0;
    auto server = serve_worker(so, service_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  // Polls until the worker has no stream in flight.
  bool worker_streams_done() { return service_->wait_idle(std::chrono::seconds(30)); }

  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    service_.reset();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  RemoteEngineOptions engine_options() const {
    RemoteEngineOptions o;
    o.worker_url = url();
    o.model = "tiny";
    o.cluster_token = std::string(kClusterToken);
    o.stats_interval = std::chrono::milliseconds(0);
    return o;
  }

  Result<HttpResponse> call(const std::string& method, const std::string& path, std::string body = {},
                            bool with_token = true) {
    HttpHeaders h;
    if (with_token) h.emplace_back("Authorization", "Bearer " + std::string(kClusterToken));
    return HttpClient().request(method, url() + path, std::move(h), std::move(body));
  }

  // The worker's engine stats for the tiny model.
  EngineStats worker_stats() {
    auto r = call("GET", "/internal/v1/stats");
    EXPECT_TRUE(r.ok());
    auto s = parse_worker_stats(r->body);
    EXPECT_TRUE(s.ok()) << r->body;
    return s.ok() && !s->models.empty() ? s->models[0].second : EngineStats{};
  }

  // Polls until nothing runs or waits on the worker (the cancellation reached its engine).
  bool worker_idle() {
    for (int i = 0; i < 600; ++i) {
      const EngineStats s = worker_stats();
      if (s.running == 0 && s.waiting == 0 && service_->active() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static inline std::filesystem::path model_dir_;
  static inline std::string model_path_;
  std::shared_ptr<Tracer> tracer_;  // the worker's, when a test sets it before start_worker()
  std::shared_ptr<WorkerService> service_;
  ManualEngine* manual_ = nullptr;  // owned by the service's model
  std::unique_ptr<HttpServer> server_;
};

// A request that runs for a while: n tokens past any end of generation.
inline GenerateRequest long_request(std::int32_t n) {
  GenerateRequest q;
  q.prompt = {1, 2, 3, 4, 5};
  q.sampling.temperature = 0;
  q.max_tokens = n;
  q.ignore_eos = true;
  return q;
}

}  // namespace parley::testing
