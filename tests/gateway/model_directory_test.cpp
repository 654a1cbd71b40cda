// `parley serve --models-dir` end to end in process: a Gateway over a ModelDirectory of small
// synthetic models. Every file is listed (size, loaded); a model loads on its first request; the
// least recently used unloads under a memory bound; a file added at run time is served and a
// removed one goes; an unreadable file and a file that fails to load are clear errors while the
// others serve on; the waiters' bound is a 503 with Retry-After; the admin API loads, pins and
// unloads. (The pool's bookkeeping, idle unloads and streams surviving an unload are in
// tests/engine/model_pool_test.cpp.)
#include "gateway/model_directory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gateway/gateway.h"
#include "gguf/gguf_writer.h"
#include "model/synth.h"
#include "net/http_client.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

struct Reply {
  int status = 0;
  std::string body;
  std::string retry_after;
  boost::json::value json;
};

class ModelDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("parley_model_dir_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "models");
    write_model("alpha", 1);
    write_model("beta", 2);
  }
  void TearDown() override {
    server_.reset();
    // The gateway's catalog holds the directory too: released here, the directory (its engines)
    // goes with the gateway, which ends the engines' requests before its metrics go, as in serve.
    directory_.reset();
    gateway_.reset();
    fs::remove_all(dir_);
  }

  std::string model_path(const std::string& id) const { return (dir_ / "models" / (id + ".gguf")).string(); }

  void write_model(const std::string& id, std::uint64_t seed) {
    auto vocab = builtin_vocab_metadata("bytes");
    ASSERT_TRUE(vocab.ok());
    SynthOptions o = testing::one_layer_synth(256);
    o.seed = seed;
    ASSERT_TRUE(synth_model(o, *vocab, model_path(id)).ok());
  }

  // What the memory bound counts for one of the synthetic models.
  std::int64_t model_bytes() const {
    return static_cast<std::int64_t>(fs::file_size(model_path("alpha"))) + options_.kv_cache_bytes;
  }

  void start(ModelPoolOptions pool = {}) {
    ModelDirectoryOptions o;
    o.dir = (dir_ / "models").string();
    o.model = options_;
    o.pool = pool;
    o.rescan = std::chrono::milliseconds(0);  // on unknown ids and by hand only
    o.miss_rescan_interval = std::chrono::milliseconds(0);
    auto d = ModelDirectory::create(o);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    directory_ = *d;
    gateway_ = std::make_shared<Gateway>(std::vector<std::unique_ptr<ServedModel>>{});
    directory_->attach(gateway_->catalog());
    directory_->attach_metrics(gateway_->metrics_registry());
    HttpServerOptions so;
    so.port = 0;
    auto server = serve_gateway(so, gateway_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  Reply call(const std::string& method, const std::string& path, const std::string& body = "") {
    HttpClientRequest req;
    req.method = method;
    req.url = fmt::format("http://127.0.0.1:{}{}", server_->port(), path);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
    Result<HttpResponse> r = HttpClient().request(req);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    Reply out;
    if (!r.ok()) return out;
    out.status = r->status;
    out.body = r->body;
    for (const auto& [k, v] : r->headers) {
      if (k == "Retry-After") out.retry_after = v;
    }
    boost::system::error_code ec;
    out.json = boost::json::parse(out.body, ec);
    return out;
  }
  Reply chat(const std::string& model) {
    return call("POST", "/v1/chat/completions",
                R"({"model":")" + model + R"(","max_tokens":2,"messages":[{"role":"user","content":"hi"}]})");
  }
  // /v1/models' entry of `id` (null when not listed).
  boost::json::value listed(const std::string& id) {
    const Reply r = call("GET", "/v1/models");
    EXPECT_EQ(r.status, 200) << r.body;
    for (const auto& m : r.json.at("data").as_array()) {
      if (m.at("id").as_string() == id) return m;
    }
    return nullptr;
  }
  std::string metrics() { return call("GET", "/metrics").body; }
  // A reply reaches the client just before its engine lets go of the model (the stream's end is
  // what makes the model "used"): wait for that, so that the order of use is the order of calls.
  void wait_until_idle(const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      const Reply r = call("GET", "/api/admin/models");
      if (r.status != 200) break;
      for (const auto& m : r.json.at("data").as_array()) {
        if (m.at("id").as_string() == id && m.at("streams").to_number<std::int64_t>() == 0) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "model '" << id << "' still runs a stream";
  }

  fs::path dir_;
  ServedModelOptions options_ = [] {
    ServedModelOptions o;
    o.threads = 1;
    o.kv_cache_bytes = 4 << 20;
    return o;
  }();
  std::shared_ptr<ModelDirectory> directory_;
  std::shared_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ModelDirectoryTest, EveryFileIsListedAndAModelLoadsOnItsFirstRequest) {
  start();
  const boost::json::value alpha = listed("alpha");
  ASSERT_FALSE(alpha.is_null());
  EXPECT_EQ(alpha.at("object"), "model");
  EXPECT_EQ(alpha.at("size_bytes").as_int64(), static_cast<std::int64_t>(fs::file_size(model_path("alpha"))));
  EXPECT_EQ(alpha.at("loaded"), false);
  EXPECT_EQ(alpha.at("state"), "unloaded");
  EXPECT_FALSE(listed("beta").is_null());
  const Reply r = chat("alpha");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(listed("alpha").at("loaded"), true);
  EXPECT_EQ(listed("beta").at("loaded"), false);
  const Reply one = call("GET", "/v1/models/alpha");
  EXPECT_EQ(one.json.at("state"), "loaded") << one.body;
  const std::string m = metrics();
  EXPECT_NE(m.find("parley_models_loaded 1"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(parley_model_load_seconds_count{model="alpha"} 1)"), std::string::npos);
}

TEST_F(ModelDirectoryTest, TheLeastRecentlyUsedModelUnloadsUnderTheMemoryBound) {
  write_model("gamma", 3);
  start({.memory_bytes = 2 * model_bytes() + model_bytes() / 2});
  for (const char* id : {"alpha", "beta", "alpha"}) {  // beta is then the least recently used
    ASSERT_EQ(chat(id).status, 200);
    wait_until_idle(id);
  }
  ASSERT_EQ(chat("gamma").status, 200);
  EXPECT_EQ(listed("alpha").at("loaded"), true);
  EXPECT_EQ(listed("beta").at("loaded"), false);
  EXPECT_EQ(listed("gamma").at("loaded"), true);
  EXPECT_NE(metrics().find(R"(parley_model_unloads_total{model="beta",reason="memory"} 1)"), std::string::npos);
}

TEST_F(ModelDirectoryTest, AFileAddedAtRunTimeIsServedAndARemovedOneGoes) {
  start();
  EXPECT_TRUE(listed("delta").is_null());
  fs::create_directories(dir_ / "models" / "more");
  fs::copy_file(model_path("alpha"), dir_ / "models" / "more" / "delta.gguf");
  const Reply r = chat("delta");  // an unknown id rescans the directory
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(listed("delta").is_null());
  fs::remove(model_path("beta"));
  ASSERT_TRUE(directory_->rescan().ok());
  EXPECT_TRUE(listed("beta").is_null());
  const Reply gone = chat("beta");
  EXPECT_EQ(gone.status, 404) << gone.body;
  EXPECT_EQ(chat("alpha").status, 200);
}

TEST_F(ModelDirectoryTest, UnreadableAndUnloadableFilesAreClearErrorsAndTheOthersServeOn) {
  {
    std::ofstream(dir_ / "models" / "garbage.gguf") << "not a model at all";
    // A vocabulary without weights: listed (its header and tokenizer read), but its load fails.
    auto vocab = builtin_vocab_metadata("bytes");
    ASSERT_TRUE(vocab.ok());
    GgufWriter w;
    for (const auto& [k, v] : *vocab) w.set(k, v);
    w.set_string("general.architecture", "llama");
    ASSERT_TRUE(w.write_file(model_path("weightless")).ok());
  }
  options_.n_ctx = 128;  // the weightless file has no context length to read
  start();
  EXPECT_TRUE(listed("garbage").is_null());
  const Reply garbage = chat("garbage");
  EXPECT_EQ(garbage.status, 500) << garbage.body;
  EXPECT_NE(garbage.body.find("model 'garbage' cannot be loaded"), std::string::npos) << garbage.body;
  EXPECT_NE(garbage.body.find("not a GGUF file"), std::string::npos) << garbage.body;
  EXPECT_FALSE(listed("weightless").is_null());
  const Reply weightless = chat("weightless");
  EXPECT_EQ(weightless.status, 500) << weightless.body;
  EXPECT_NE(weightless.body.find("model 'weightless' cannot be loaded"), std::string::npos) << weightless.body;
  EXPECT_EQ(listed("weightless").at("state"), "failed");
  EXPECT_EQ(chat("alpha").status, 200);
  const Reply admin = call("GET", "/api/admin/models");
  ASSERT_EQ(admin.status, 200) << admin.body;
  bool garbage_listed = false;
  for (const auto& m : admin.json.at("data").as_array()) {
    if (m.at("id") == "garbage") {
      garbage_listed = true;
      EXPECT_EQ(m.at("state"), "failed");
      EXPECT_NE(std::string(m.at("error").as_string()).find("not a GGUF file"), std::string::npos);
    }
  }
  EXPECT_TRUE(garbage_listed) << admin.body;
}

TEST_F(ModelDirectoryTest, RequestsBeyondTheWaitersBoundAre503WithRetryAfter) {
  start({.max_waiters = 0});  // no request may wait: the one that starts the load is refused too
  const Reply r = chat("alpha");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.retry_after, "2");
  EXPECT_NE(r.body.find("is loading"), std::string::npos) << r.body;
  // The load it started goes on.
  for (int i = 0; i < 5000 && listed("alpha").at("state") != "loaded"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(chat("alpha").status, 200);
}

TEST_F(ModelDirectoryTest, TheAdminApiLoadsPinsAndUnloads) {
  start();
  Reply r = call("POST", "/api/admin/models/beta/load");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("state"), "loaded");
  r = call("POST", "/api/admin/models/beta/pin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("pinned"), true);
  r = call("POST", "/api/admin/models/beta/unload");
  EXPECT_EQ(r.status, 400) << r.body;  // pinned
  EXPECT_NE(r.body.find("unpin it first"), std::string::npos);
  ASSERT_EQ(call("POST", "/api/admin/models/beta/unpin").status, 200);
  r = call("POST", "/api/admin/models/beta/unload");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("state"), "unloaded");
  EXPECT_EQ(call("POST", "/api/admin/models/nope/load").status, 404);
  r = call("GET", "/api/admin/models");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("data").as_array().size(), 2u);
  EXPECT_NE(metrics().find(R"(parley_model_unloads_total{model="beta",reason="admin"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace parley
