// An in-process `parley serve` with accounts for the gateway tests: a tiny synthetic model, a
// temporary SQLite store, the Gateway behind a real HttpServer on a free loopback port, and an
// HttpClient. Clocks are fake (tests move them) and password hashing is cheap (the parameters
// are configuration; the cost is not what these tests are about).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "gateway/accounts.h"
#include "gateway/gateway.h"
#include "model/synth.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "store/open_store.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"

namespace parley::testing {

// What a browser keeps of a session: the cookie and the CSRF token the API returned with it.
struct Session {
  std::string cookie;  // "parley_session=..."
  std::string csrf;
  std::string user_id;
};

struct Reply {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  boost::json::value json;  // null unless the body is JSON

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  std::string error_code() const {
    if (!json.is_object() || !json.as_object().contains("error")) return "";
    const boost::json::value& c = json.at("error").at("code");
    return c.is_string() ? std::string(c.as_string()) : "";
  }
};

class AccountsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = std::filesystem::temp_directory_path() / ("parley_accounts_model_" + std::to_string(::getpid()));
    std::filesystem::create_directories(model_dir_);
    auto md = builtin_vocab_metadata("bytes");
    ASSERT_TRUE(md.ok());
    const SynthOptions o = testing::one_layer_synth(256);
    model_path_ = (model_dir_ / "tiny.gguf").string();
    ASSERT_TRUE(synth_model(o, *md, model_path_).ok());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(model_dir_); }

  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("parley_accounts_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);  // left by a killed run whose pid this process reuses
    std::filesystem::create_directories(dir_);
    config_.auth.password = {.ops_limit = 1, .mem_limit_bytes = 1 << 20};
  }

  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  // Starts the server with config_ and mode_ (call after adjusting them).
  void start() {
    auto db = store::open_store("sqlite:" + (dir_ / "parley.db").string());
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    AccountsOptions o;
    o.config = config_;
    o.mode = mode_;
    o.request_workers = 2;
    o.clock = [this] {
      return store::system_now() + std::chrono::duration_cast<std::chrono::microseconds>(clock_offset_.load());
    };
    o.wall_clock = [this] { return std::chrono::system_clock::now() + clock_offset_.load(); };
    auto accounts = Accounts::create(std::move(*db), std::move(o));
    ASSERT_TRUE(accounts.ok()) << accounts.status().to_string();
    accounts_ = accounts->get();
    ServedModelOptions mo;
    mo.path = model_path_;
    mo.threads = 1;
    mo.kv_cache_bytes = 8 << 20;
    mo.demo = demo_model_;
    Result<std::unique_ptr<ServedModel>> model = not_found_error("no model");
    if (scripted_engine_) {
      // The tiny model's vocabulary with an engine the test scripts (no weights).
      auto file = GgufFile::open(model_path_);
      ASSERT_TRUE(file.ok());
      model = ServedModel::with_engine({.id = "tiny", .n_ctx = 256}, std::shared_ptr<const GgufFile>(std::move(*file)),
                                       scripted_engine_);
    } else {
      model = ServedModel::load(mo);
    }
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    engine_ = &(*model)->engine();
    std::vector<std::unique_ptr<ServedModel>> models;
    models.push_back(std::move(*model));
    gateway_ = std::make_shared<Gateway>(std::move(models), gateway_options_, std::move(*accounts));
    HttpServerOptions so = server_options_;
    so.port = 0;
    so.io_threads = 2;
    auto server = serve_gateway(so, gateway_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }

  void stop() {
    if (server_) server_->stop();
    server_.reset();
    gateway_.reset();
    accounts_ = nullptr;
  }

  Reply call(std::string_view method, std::string_view path, std::string body = {}, HttpHeaders headers = {},
             bool json_content_type = true) {
    if (json_content_type && !body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = client_.request(method, "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path),
                             std::move(headers), std::move(body));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    Reply out;
    if (!r.ok()) return out;
    out.status = r->status;
    out.headers = r->headers;
    out.body = r->body;
    boost::system::error_code ec;
    out.json = boost::json::parse(out.body, ec);
    if (ec) out.json = nullptr;
    return out;
  }

  // A request with a session: its cookie, and the CSRF token unless `csrf` is false.
  Reply as(const Session& s, std::string_view method, std::string_view path, std::string body = {}, bool csrf = true) {
    HttpHeaders h{{"Cookie", s.cookie}};
    if (csrf) h.emplace_back("X-CSRF-Token", s.csrf);
    return call(method, path, std::move(body), std::move(h));
  }

  // A request with an API key.
  Reply with_key(std::string_view key, std::string_view method, std::string_view path, std::string body = {}) {
    return call(method, path, std::move(body), {{"Authorization", "Bearer " + std::string(key)}});
  }

  static Session session_of(const Reply& r) {
    Session s;
    const std::string set_cookie(r.header("Set-Cookie"));
    s.cookie = set_cookie.substr(0, set_cookie.find(';'));
    if (r.json.is_object() && r.json.as_object().contains("csrf_token")) {
      s.csrf = std::string(r.json.at("csrf_token").as_string());
      s.user_id = std::string(r.json.at("user").at("id").as_string());
    }
    return s;
  }

  Session signup(const std::string& email, const std::string& password = "correct horse battery") {
    const Reply r =
        call("POST", "/api/auth/signup", R"({"email":")" + email + R"(","password":")" + password + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return session_of(r);
  }

  Session login(const std::string& email, const std::string& password = "correct horse battery") {
    const Reply r = call("POST", "/api/auth/login", R"({"email":")" + email + R"(","password":")" + password + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    return session_of(r);
  }

  // Creates a key through the session; returns {id, secret}.
  std::pair<std::string, std::string> create_key(const Session& s, const std::string& body = "{}") {
    const Reply r = as(s, "POST", "/api/keys", body);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    return {std::string(r.json.at("id").as_string()), std::string(r.json.at("secret").as_string())};
  }

  Reply chat(std::string_view key, int max_tokens = 1, bool stream = false) {
    const std::string body =
        R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":)" +
        std::to_string(max_tokens) + (stream ? R"(,"stream":true})" : "}");
    return key.empty() ? call("POST", "/v1/chat/completions", body)
                       : with_key(key, "POST", "/v1/chat/completions", body);
  }

  void advance(std::chrono::seconds by) { clock_offset_ = clock_offset_.load() + by; }
  store::Store& db() { return accounts_->store(); }

  inline static std::filesystem::path model_dir_;
  inline static std::string model_path_;
  std::filesystem::path dir_;
  AccountsConfig config_;
  AuthMode mode_ = AuthMode::kRequired;
  bool demo_model_ = false;  // serve the model as the built-in demo model
  GatewayOptions gateway_options_;
  HttpServerOptions server_options_;
  std::atomic<std::chrono::seconds> clock_offset_{std::chrono::seconds(0)};
  Accounts* accounts_ = nullptr;  // owned by the gateway
  EngineClient* engine_ = nullptr;
  std::shared_ptr<EngineClient> scripted_engine_;  // set before start(): served instead of the tiny model
  std::shared_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> server_;
  HttpClient client_;
};

}  // namespace parley::testing
