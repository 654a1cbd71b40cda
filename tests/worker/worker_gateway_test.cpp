// A Gateway whose model lives on a worker (ServedModel::with_engine + RemoteEngineClient) answers
// token for token like one with the model in process: chat and completions, streamed or not,
// with logprobs and response_format; a client that goes away frees the worker; a worker that
// dies mid-stream ends the client's stream with a clear error.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "gateway/gateway.h"
#include "gateway/remote_models.h"
#include "worker_fixture.h"

namespace parley {
namespace {

namespace json = boost::json;
using testing::WorkerTest;

struct Served {
  std::shared_ptr<Gateway> gateway;
  std::unique_ptr<HttpServer> server;
  std::string url;
  void stop() {
    if (server) server->stop();
    server.reset();
    gateway.reset();
  }
};

class WorkerGatewayTest : public WorkerTest {
 protected:
  void SetUp() override {
    start_worker();
    auto local = ServedModel::load(local_options());
    ASSERT_TRUE(local.ok()) << local.status().to_string();
    std::vector<std::unique_ptr<ServedModel>> lm;
    lm.push_back(std::move(*local));
    local_ = serve(std::move(lm));
    WorkerEndpoint w{url(), std::string(testing::kClusterToken)};
    RemoteEngineOptions eo;
    eo.stats_interval = std::chrono::milliseconds(0);
    auto remote = load_worker_models(w, eo);
    ASSERT_TRUE(remote.ok()) << remote.status().to_string();
    ASSERT_EQ(remote->size(), 1u);
    EXPECT_EQ(remote->at(0)->id(), "tiny");
    EXPECT_EQ(remote->at(0)->n_ctx(), 1024);
    remote_ = serve(std::move(*remote));
  }
  // The remote gateway over a worker whose engine the test drives (manual_).
  void use_manual_worker() {
    remote_.stop();
    server_->stop();
    server_.reset();
    service_.reset();
    start_manual_worker();
    WorkerEndpoint w{url(), std::string(testing::kClusterToken)};
    RemoteEngineOptions eo;
    eo.stats_interval = std::chrono::milliseconds(0);
    auto remote = load_worker_models(w, eo);
    ASSERT_TRUE(remote.ok()) << remote.status().to_string();
    remote_ = serve(std::move(*remote));
  }

  void TearDown() override {
    remote_.stop();
    local_.stop();
    WorkerTest::TearDown();
  }

  static ServedModelOptions local_options() {
    ServedModelOptions m;
    m.path = model_path_;
    m.threads = 1;
    m.kv_cache_bytes = 8 << 20;
    return m;
  }

  static Served serve(std::vector<std::unique_ptr<ServedModel>> models) {
    Served s;
    s.gateway = std::make_shared<Gateway>(std::move(models));
    HttpServerOptions so;
    so.port = 0;
    auto server = serve_gateway(so, s.gateway);
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    s.server = std::move(*server);
    s.url = "http://127.0.0.1:" + std::to_string(s.server->port());
    return s;
  }

  static HttpResponse post(const Served& s, const std::string& path, const std::string& body) {
    auto r = HttpClient().request("POST", s.url + path, {{"Content-Type", "application/json"}}, body);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : HttpResponse{};
  }

  Served local_;
  Served remote_;
};

// Tool call ids are random: left out of comparisons.
void drop_call_ids(json::value& v) {
  if (v.is_array()) {
    for (json::value& x : v.as_array()) drop_call_ids(x);
  } else if (v.is_object()) {
    json::object& o = v.as_object();
    if (json::value* calls = o.if_contains("tool_calls"); calls != nullptr && calls->is_array()) {
      for (json::value& c : calls->as_array()) {
        if (c.is_object()) c.as_object().erase("id");
      }
    }
    for (auto& kv : o) drop_call_ids(kv.value());
  }
}

// What must be equal in a non-streamed reply: the choices and the usage.
json::value essence(const std::string& body) {
  json::value v = json::parse(body);
  json::value out = json::object{{"choices", v.at("choices")}, {"usage", v.at("usage")}};
  drop_call_ids(out);
  return out;
}

// The SSE chunks of each choice in order (with n > 1 the choices' chunks interleave as the
// engines happen to batch them), and the chunks without choices (usage), ids and times left out.
std::map<std::int64_t, std::vector<json::value>> stream_essence(const std::string& body) {
  std::map<std::int64_t, std::vector<json::value>> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find('\n', pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      out[-1].emplace_back("[DONE]");
      continue;
    }
    json::value v = json::parse(data);
    const json::array& choices = v.at("choices").as_array();
    if (choices.empty()) {
      out[-1].push_back(v.at("usage"));
      continue;
    }
    for (json::value c : choices) {
      drop_call_ids(c);
      out[c.at("index").as_int64()].push_back(std::move(c));
    }
  }
  return out;
}

TEST_F(WorkerGatewayTest, SameGreedyOutputAsALocalModel) {
  const std::string schema =
      R"({"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":)"
      R"({"name":{"type":"string","maxLength":8},"age":{"type":"integer"}},"required":["name","age"]}}})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/v1/chat/completions",
       R"({"model":"tiny","messages":[{"role":"user","content":"Hello there"}],"temperature":0,"max_tokens":24})"},
      {"/v1/chat/completions",
       R"({"model":"tiny","messages":[{"role":"user","content":"Hi"}],"temperature":0,"max_tokens":12,)"
       R"("logprobs":true,"top_logprobs":2,"n":2})"},
      {"/v1/chat/completions", R"({"model":"tiny","messages":[{"role":"user","content":"JSON please"}],)"
                               R"("temperature":0,"max_tokens":120,"response_format":)" +
                                   schema + "}"},
      {"/v1/chat/completions", R"({"model":"tiny","messages":[{"role":"user","content":"an object"}],)"
                               R"("temperature":0,"max_tokens":60,"response_format":{"type":"json_object"}})"},
      // A tool-call grammar is built in code: it travels as its rules (grammar_built).
      {"/v1/chat/completions",
       R"({"model":"tiny","messages":[{"role":"user","content":"Weather?"}],"temperature":0,"max_tokens":120,)"
       R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",)"
       R"("properties":{"city":{"type":"string","maxLength":10}},"required":["city"]}}}],"tool_choice":"required"})"},
      {"/v1/completions", R"({"model":"tiny","prompt":"Once upon a time","temperature":0,"max_tokens":24})"},
      {"/v1/completions", R"({"model":"tiny","prompt":"Seeded","temperature":0.8,"seed":7,"max_tokens":16,)"
                          R"("logprobs":3})"},
      {"/v1/completions", R"({"model":"tiny","prompt":"JSON:","temperature":0,"max_tokens":120,)"
                          R"("response_format":)" +
                              schema + "}"},
  };
  for (const auto& [path, body] : cases) {
    const HttpResponse l = post(local_, path, body);
    const HttpResponse r = post(remote_, path, body);
    ASSERT_EQ(l.status, 200) << l.body;
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(essence(r.body), essence(l.body)) << body;
    std::string streamed = body;
    streamed.insert(streamed.size() - 1, R"(,"stream":true,"stream_options":{"include_usage":true})");
    const HttpResponse ls = post(local_, path, streamed);
    const HttpResponse rs = post(remote_, path, streamed);
    ASSERT_EQ(ls.status, 200) << ls.body;
    ASSERT_EQ(rs.status, 200) << rs.body;
    EXPECT_EQ(stream_essence(rs.body), stream_essence(ls.body)) << streamed;
  }
}

TEST_F(WorkerGatewayTest, ErrorsAreTheSame) {
  const std::string too_long = R"({"model":"tiny","prompt":")" + std::string(3000, 'x') + R"(","max_tokens":4})";
  const HttpResponse l = post(local_, "/v1/completions", too_long);
  const HttpResponse r = post(remote_, "/v1/completions", too_long);
  EXPECT_EQ(l.status, 400);
  EXPECT_EQ(r.status, l.status);
  EXPECT_EQ(json::parse(r.body), json::parse(l.body));
}

TEST_F(WorkerGatewayTest, AClientThatGoesAwayFreesTheWorker) {
  use_manual_worker();
  HttpClientRequest req;
  req.method = "POST";
  req.url = remote_.url + "/v1/chat/completions";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = R"({"model":"tiny","messages":[{"role":"user","content":"go on"}],"max_tokens":200,"stream":true})";
  std::thread feeder([this] { manual_->emit(manual_->wait_submitted(0), {65}); });
  std::string body;
  auto r = HttpClient().stream(req, {.on_head = nullptr, .on_data = [&](std::string_view d) {
                                       body.append(d);
                                       return body.find("\"content\":\"A\"") == std::string::npos;
                                     }});
  feeder.join();
  EXPECT_EQ(r.status().code(), ErrorCode::kCancelled) << body;
  EXPECT_TRUE(manual_->wait_cancelled(manual_->wait_submitted(0)));
  EXPECT_TRUE(worker_streams_done());
  EXPECT_EQ(manual_->running(), 0u);
}

TEST_F(WorkerGatewayTest, AWorkerThatDiesMidStreamEndsTheStreamWithAClearError) {
  use_manual_worker();
  HttpClientRequest req;
  req.method = "POST";
  req.url = remote_.url + "/v1/chat/completions";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = R"({"model":"tiny","messages":[{"role":"user","content":"go on"}],"max_tokens":200,"stream":true})";
  std::thread feeder([this] { manual_->emit(manual_->wait_submitted(0), {65}); });
  std::string body;
  std::thread killer;
  auto r = HttpClient().stream(req, {.on_head = nullptr, .on_data = [&](std::string_view data) {
                                       body.append(data);
                                       if (!killer.joinable() && body.find("\"content\":\"A\"") != std::string::npos) {
                                         killer = std::thread([this] { server_->stop(); });
                                       }
                                       return true;
                                     }});
  feeder.join();
  if (killer.joinable()) killer.join();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_NE(body.find("worker went away mid-stream"), std::string::npos) << body;
  EXPECT_EQ(body.find("finish_reason\":\""), std::string::npos) << body;
}

}  // namespace
}  // namespace parley
