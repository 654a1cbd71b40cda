// An in-process conversation API for tests: a temporary SQLite store with two users, a tiny
// synthetic model (byte-level vocabulary, ChatML), the API behind a real HttpServer on a free
// loopback port, and a client that speaks JSON and reads SSE.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/rate_limiter.h"
#include "gateway/conversation_api.h"
#include "gateway/gateway_metrics.h"
#include "gateway/served_model.h"
#include "model/synth.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/sse.h"
#include "obs/metrics.h"
#include "store/open_store.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"

namespace parley::testing {

namespace json = boost::json;

struct UsageCall {
  std::string user_id;
  std::string conversation_id;
  std::string model;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

struct Streamed {
  int status = 0;
  std::string body;  // for non-SSE answers (errors)
  std::vector<SseEvent> events;
  // The concatenated `delta` contents.
  std::string text() const {
    std::string t;
    for (const SseEvent& e : events) {
      if (e.event == "delta") t += json::parse(e.data).at("content").as_string().c_str();
    }
    return t;
  }
  // The data of the last event named `name`, parsed; null if none.
  json::value last(std::string_view name) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->event == name) return json::parse(it->data);
    }
    return nullptr;
  }
};

class ConversationApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_conv_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);  // left by a killed run whose pid this process reuses
    std::filesystem::create_directories(dir_);
    auto db = store::open_store("sqlite:" + (dir_ / "parley.db").string());
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    store_ = std::move(*db);
    auto a = store_->create_user({"alice@example.com", "Alice", store::UserRole::kUser, ""});
    auto b = store_->create_user({"bob@example.com", "Bob", store::UserRole::kUser, ""});
    ASSERT_TRUE(a.ok() && b.ok());
    alice_.user_id = a->id;
    bob_.user_id = b->id;
    alice_.scopes = bob_.scopes = auth::scopes_for_role(auth::Role::kUser);
    models_only_ = alice_;
    models_only_.api_key_id = "key_for_models";
    models_only_.scopes = {auth::Scope::kModels};

    auto model = make_model(write_model());
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    ASSERT_TRUE(models_.add(std::shared_ptr<ServedModel>(std::move(*model))).ok());
    metrics_ = std::make_unique<GatewayMetrics>(registry_);

    ConversationApiOptions o;
    o.limits.max_content_bytes = 4096;  // small, so that "too long" is cheap to test
    o.usage = &recorder_;
    o.limiter = &limiter_;
    o.shared_per_minute_ip = shared_per_minute_ip_;
    configure(o);
    api_ = std::make_unique<ConversationApi>(*store_, models_, *metrics_, std::move(o));
    HttpServerOptions so;
    so.port = 0;
    auto server = HttpServer::start(so, [this](HttpRequest req, std::shared_ptr<HttpResponder> r) {
      // Stand-in for the gateway's authentication: the test names the user in a header.
      const std::string_view user = req.header("X-Test-User");
      const Principal& who = user == "bob" ? bob_ : user == "models-only" ? models_only_ : alice_;
      api_->handle(std::move(req), who, std::move(r));
    });
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  void TearDown() override {
    if (server_) server_->stop();
    api_.reset();
    models_.clear();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // llama, 2 layers of 128: small enough to load at once, slow enough (about a millisecond a
  // token on one thread) that a long reply is still running when a test stops it.
  std::string write_model() {
    auto md = builtin_vocab_metadata("bytes");
    EXPECT_TRUE(md.ok());
    SynthOptions o = testing::two_layer_synth();
    o.seed = 7;
    o.threads = 1;
    const std::string path = (dir_ / "tiny.gguf").string();
    EXPECT_TRUE(synth_model(o, *md, path).ok());
    return path;
  }

  // A derived fixture's changes to the API's options.
  virtual void configure(ConversationApiOptions&) {}

  // The model the conversations use (a derived fixture may give it another engine).
  virtual Result<std::unique_ptr<ServedModel>> make_model(const std::string& path) {
    return ServedModel::load(model_options(path));
  }

  ServedModelOptions model_options(const std::string& path) const {
    ServedModelOptions o;
    o.path = path;
    o.threads = 1;
    o.kv_cache_bytes = 32 << 20;
    o.max_running = max_running_;
    o.max_waiting = max_waiting_;
    return o;
  }

  const ServedModel& model() const { return *models_.first(); }

  HttpHeaders headers(std::string_view user, std::string_view content_type = "application/json") const {
    HttpHeaders h;
    if (!content_type.empty()) h.emplace_back("Content-Type", std::string(content_type));
    if (user != "alice") h.emplace_back("X-Test-User", std::string(user));
    return h;
  }

  HttpResponse call(std::string_view method, std::string_view path, std::string body = {},
                    std::string_view user = "alice", std::string_view content_type = "application/json") {
    HttpClient client;
    auto r = client.request(method, base_ + std::string(path), headers(user, content_type), std::move(body));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : HttpResponse{};
  }

  static json::value body_json(const HttpResponse& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v;
  }

  // POSTs and reads the SSE answer to the end; `on_event` may return false to hang up.
  Streamed stream(std::string_view path, std::string body, std::string_view user = "alice",
                  const std::function<bool(const SseEvent&)>& on_event = {}) {
    Streamed out;
    SseParser parser;
    HttpClientRequest req;
    req.method = "POST";
    req.url = base_ + std::string(path);
    req.headers = headers(user);
    req.body = std::move(body);
    bool is_sse = false;
    HttpClient client;
    auto head = client.stream(req, {.on_head =
                                        [&](const HttpResponse& h) {
                                          out.status = h.status;
                                          is_sse = h.header("Content-Type") == "text/event-stream";
                                          return true;
                                        },
                                    .on_data =
                                        [&](std::string_view bytes) {
                                          if (!is_sse) {
                                            out.body += bytes;
                                            return true;
                                          }
                                          bool go_on = true;
                                          const Status st = parser.feed(bytes, [&](SseEvent e) {
                                            out.events.push_back(e);
                                            if (on_event && !on_event(out.events.back())) go_on = false;
                                          });
                                          return st.ok() && go_on;
                                        }});
    if (!on_event) {
      EXPECT_TRUE(head.ok()) << head.status().to_string();
    }
    return out;
  }

  std::string create_conversation(std::string body = "{}", std::string_view user = "alice") {
    HttpResponse r = call("POST", "/api/conversations", std::move(body), user);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(body_json(r).at("id").as_string());
  }

  json::value tree(const std::string& id, std::string_view user = "alice") {
    HttpResponse r = call("GET", "/api/conversations/" + id, {}, user);
    EXPECT_EQ(r.status, 200) << r.body;
    return body_json(r);
  }

  // A message of a tree response by id.
  static const json::object& message(const json::value& tree, std::string_view id) {
    for (const json::value& m : tree.at("messages").as_array()) {
      if (m.at("id").as_string() == id) return m.as_object();
    }
    ADD_FAILURE() << "no message " << id;
    static const json::object none;
    return none;
  }

  std::vector<UsageCall> usage() {
    std::lock_guard<std::mutex> lock(usage_mutex_);
    return usage_;
  }

  // Engine limits; a derived fixture may lower them in its constructor.
  std::int32_t max_running_ = 4;
  std::int32_t max_waiting_ = 256;
  std::int64_t shared_per_minute_ip_ = 1000;  // reads of share links per address (the rate test lowers it)
  auth::LocalRateLimiter limiter_;

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  Principal alice_;
  Principal bob_;
  Principal models_only_;  // Alice through an API key without the "chat" scope
  // Admits everything, remembers what record() was given (the accounts tests cover limits) and
  // writes the usage row at once (cost: a micro-unit per token), as the real recorder does later.
  class RecordingUsage final : public UsageRecorder {
   public:
    explicit RecordingUsage(ConversationApiFixture* t) : t_(t) {}
    Result<UsageTicket> admit(const Principal& p, std::int64_t upper_bound) override {
      return UsageTicket{p, upper_bound, ""};
    }
    void record(const UsageTicket& ticket, std::string_view model, std::int64_t prompt,
                std::int64_t completion) override {
      {
        std::lock_guard<std::mutex> lock(t_->usage_mutex_);
        t_->usage_.push_back(
            {ticket.principal.user_id, ticket.conversation_id, std::string(model), prompt, completion});
      }
      if (prompt + completion == 0) return;
      store::UsageRecord r;
      r.user_id = ticket.principal.user_id;
      r.model = std::string(model);
      r.prompt_tokens = prompt;
      r.completion_tokens = completion;
      r.cost_micros = prompt + completion;
      r.conversation_id = ticket.conversation_id;
      const Status st = t_->store_->record_usage(r);
      EXPECT_TRUE(st.ok()) << st.to_string();
    }

   private:
    ConversationApiFixture* t_;
  };
  std::mutex usage_mutex_;
  std::vector<UsageCall> usage_;
  RecordingUsage recorder_{this};  // outlives the models and the API, which record into it
  ModelCatalog models_;
  MetricsRegistry registry_;
  std::unique_ptr<GatewayMetrics> metrics_;
  std::unique_ptr<ConversationApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

}  // namespace parley::testing
