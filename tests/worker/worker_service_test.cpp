// The worker's internal API: the cluster token on every route, models and vocabulary, generate
// through RemoteEngineClient, cancellation and disconnects that free the engine, refusals mapped
// to the local engine's errors, drain, and a worker that dies mid-stream.
#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "net/sse.h"
#include "tokenizer/tokenizer.h"
#include "worker_fixture.h"

namespace parley {
namespace {

using testing::long_request;
using testing::WaitingSink;
using testing::WorkerTest;

TEST_F(WorkerTest, EveryRouteButTheProbesNeedsTheClusterToken) {
  start_worker();
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/ready"},
      {"GET", "/metrics"},
      {"GET", "/internal/v1/models"},
      {"GET", "/internal/v1/models/tiny/vocab"},
      {"GET", "/internal/v1/stats"},
      {"POST", "/internal/v1/generate"},
      {"POST", "/internal/v1/cancel/x"},
      {"POST", "/internal/v1/drain"},
      {"GET", "/internal/v1/nothing"},
  };
  for (const auto& [method, path] : routes) {
    auto r = call(method, path, "{}", false);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401) << method << " " << path;
    EXPECT_NE(r->body.find("unauthenticated"), std::string::npos) << r->body;
    HttpHeaders wrong = {{"Authorization", "Bearer " + std::string(testing::kClusterToken) + "x"}};
    r = HttpClient().request(method, url() + path, wrong, "{}");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401) << method << " " << path;
  }
  EXPECT_FALSE(service_->draining());  // the refused drain did nothing
  auto health = call("GET", "/health", {}, false);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  auto ready = call("GET", "/ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  // The readiness probe needs no token: a kubelet cannot send one.
  ready = call("GET", "/ready", {}, false);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":"ready"})");
  // A RemoteEngineClient without the token is refused at submit.
  RemoteEngineOptions o = engine_options();
  o.cluster_token = "";
  RemoteEngineClient client(o);
  auto id = client.submit(long_request(2), std::make_shared<WaitingSink>());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kUnauthenticated);
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equals("secret-token", "secret-token"));
  EXPECT_FALSE(constant_time_equals("secret-tokeN", "secret-token"));
  EXPECT_FALSE(constant_time_equals("secret", "secret-token"));
  EXPECT_FALSE(constant_time_equals("secret-token-and-more", "secret-token"));
  EXPECT_FALSE(constant_time_equals("", "secret-token"));
}

TEST_F(WorkerTest, ModelsAndVocabularyDescribeTheModel) {
  start_worker();
  auto r = call("GET", "/internal/v1/models");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  auto models = parse_models(r->body);
  ASSERT_TRUE(models.ok()) << models.status().to_string();
  ASSERT_EQ(models->size(), 1u);
  EXPECT_EQ(models->at(0).id, "tiny");
  EXPECT_EQ(models->at(0).n_ctx, 1024);
  EXPECT_EQ(models->at(0).vocab_digest.size(), 16u);

  r = call("GET", "/internal/v1/models/tiny/vocab");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200);
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(r->body.data()), r->body.size());
  EXPECT_EQ(vocab_digest(bytes), models->at(0).vocab_digest);
  auto vocab = GgufFile::from_memory(bytes);
  ASSERT_TRUE(vocab.ok()) << vocab.status().to_string();
  EXPECT_TRUE((*vocab)->tensors().empty());  // no weights
  auto local = GgufFile::open(model_path_);
  ASSERT_TRUE(local.ok());
  auto remote_tok = Tokenizer::from_gguf(**vocab);
  auto local_tok = Tokenizer::from_gguf(**local);
  ASSERT_TRUE(remote_tok.ok() && local_tok.ok());
  EXPECT_EQ((*remote_tok)->n_tokens(), (*local_tok)->n_tokens());
  EXPECT_EQ((*remote_tok)->encode("Hello, worker! <|im_start|>"), (*local_tok)->encode("Hello, worker! <|im_start|>"));
  EXPECT_EQ((*remote_tok)->vocab().chat_template, (*local_tok)->vocab().chat_template);

  r = call("GET", "/internal/v1/models/nope/vocab");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  r = call("GET", "/metrics");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->body.find("parley_running_requests{model=\"tiny\"}"), std::string::npos) << r->body;
}

TEST_F(WorkerTest, RemoteEngineGivesTheLocalEnginesTokens) {
  start_worker();
  RemoteEngineClient remote(engine_options());
  auto local = WorkerModel::load(model_options());
  ASSERT_TRUE(local.ok());
  auto remote_sink = std::make_shared<WaitingSink>();
  auto local_sink = std::make_shared<WaitingSink>();
  GenerateRequest q = long_request(24);
  q.sampling.n_logprobs = 2;
  ASSERT_TRUE(remote.submit(q, remote_sink).ok());
  ASSERT_TRUE((*local)->engine().submit(q, local_sink).ok());
  const FinishEvent rf = remote_sink->wait();
  const FinishEvent lf = local_sink->wait();
  EXPECT_EQ(rf.reason, FinishReason::kLength);
  EXPECT_EQ(rf.reason, lf.reason);
  EXPECT_EQ(rf.completion_tokens, 24);
  EXPECT_EQ(rf.prompt_tokens, lf.prompt_tokens);
  EXPECT_EQ(remote_sink->tokens(), local_sink->tokens());
}

TEST_F(WorkerTest, RefusalsMapToTheLocalEnginesErrors) {
  start_worker();
  RemoteEngineClient remote(engine_options());
  GenerateRequest q = long_request(4);
  q.prompt.assign(1100, 5);  // past the context of 1024
  auto id = remote.submit(q, std::make_shared<WaitingSink>());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kInvalidArgument);
  q = long_request(4);
  q.sampling.top_p = 0;  // out of range: the engine's validation
  id = remote.submit(q, std::make_shared<WaitingSink>());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(id.status().message().find("top_p"), std::string_view::npos) << id.status().message();
  RemoteEngineOptions o = engine_options();
  o.model = "other";
  RemoteEngineClient wrong_model(o);
  id = wrong_model.submit(long_request(4), std::make_shared<WaitingSink>());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kNotFound);
  // Nobody listening: unavailable, which a router retries elsewhere.
  const std::string dead = url();
  server_->stop();
  o = engine_options();
  o.worker_url = dead;
  RemoteEngineClient gone(o);
  id = gone.submit(long_request(4), std::make_shared<WaitingSink>());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kUnavailable);
}

TEST_F(WorkerTest, AFullQueueIsResourceExhaustedWithRetryAfter) {
  start_manual_worker();
  manual_->refuse(resource_exhausted_error("the request queue is full (256 waiting); retry later"));
  RemoteEngineClient remote(engine_options());
  auto id = remote.submit(long_request(4), std::make_shared<WaitingSink>());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(id.status().message(), "the request queue is full (256 waiting); retry later");
  EXPECT_EQ(id.status().detail("retry_after"), "1");
  EXPECT_TRUE(worker_streams_done());
  manual_->refuse({});
  auto sink = std::make_shared<WaitingSink>();
  ASSERT_TRUE(remote.submit(long_request(4), sink).ok());
  manual_->finish(manual_->wait_submitted(0), FinishEvent{.reason = FinishReason::kStop});
  EXPECT_EQ(sink->wait().reason, FinishReason::kStop);
}

TEST_F(WorkerTest, CancelFreesTheWorkersSlot) {
  start_manual_worker();
  RemoteEngineClient remote(engine_options());
  auto sink = std::make_shared<WaitingSink>();
  auto id = remote.submit(long_request(200), sink);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  const RequestId on_worker = manual_->wait_submitted(0);
  manual_->emit(on_worker, {65});
  sink->wait_tokens(1);
  remote.cancel(*id);
  EXPECT_EQ(sink->wait().reason, FinishReason::kCancelled);
  EXPECT_EQ(sink->tokens(), std::vector<TokenId>{65});
  EXPECT_TRUE(manual_->wait_cancelled(on_worker));
  EXPECT_TRUE(worker_streams_done());
  EXPECT_EQ(manual_->running(), 0u);
  EXPECT_EQ(worker_stats().running, 0);
}

TEST_F(WorkerTest, AClientThatGoesAwayCancelsItsRequest) {
  start_manual_worker();
  auto body = generate_request_to_json("tiny", "raw-1", long_request(200));
  ASSERT_TRUE(body.ok());
  HttpClientRequest req;
  req.method = "POST";
  req.url = url() + "/internal/v1/generate";
  req.headers = {{"Authorization", "Bearer " + std::string(testing::kClusterToken)}};
  req.body = *body;
  std::thread feeder([this] { manual_->emit(manual_->wait_submitted(0), {65}); });
  int events = 0;
  SseParser sse;
  auto r = HttpClient().stream(req, {.on_head = nullptr, .on_data = [&](std::string_view data) {
                                       EXPECT_TRUE(sse.feed(data, [&](SseEvent) { ++events; }).ok());
                                       return events == 0;  // hang up after the first event
                                     }});
  feeder.join();
  EXPECT_EQ(r.status().code(), ErrorCode::kCancelled);
  EXPECT_TRUE(manual_->wait_cancelled(manual_->wait_submitted(0)));
  EXPECT_TRUE(worker_streams_done());
  EXPECT_EQ(worker_stats().running, 0);
}

TEST_F(WorkerTest, DrainFinishesStreamsAndRefusesNewOnes) {
  start_manual_worker();
  RemoteEngineClient remote(engine_options());
  auto sink = std::make_shared<WaitingSink>();
  ASSERT_TRUE(remote.submit(long_request(3), sink).ok());
  const RequestId on_worker = manual_->wait_submitted(0);
  manual_->emit(on_worker, {65});
  sink->wait_tokens(1);
  auto r = call("POST", "/internal/v1/drain");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  r = call("GET", "/ready");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("draining"), std::string::npos);
  auto refused = remote.submit(long_request(4), std::make_shared<WaitingSink>());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(service_->wait_idle(std::chrono::milliseconds(0)));  // the stream is still on
  manual_->emit(on_worker, {66, 67});
  manual_->finish(on_worker, FinishEvent{.reason = FinishReason::kLength, .completion_tokens = 3});
  const FinishEvent f = sink->wait();
  EXPECT_EQ(f.reason, FinishReason::kLength);
  EXPECT_EQ(sink->tokens(), (std::vector<TokenId>{65, 66, 67}));
  EXPECT_TRUE(worker_streams_done());
  ASSERT_TRUE(remote.refresh_stats().ok());
  EXPECT_TRUE(remote.worker_draining());
}

TEST_F(WorkerTest, AWorkerThatDiesMidStreamEndsTheRequestWithAClearError) {
  start_manual_worker();
  RemoteEngineClient remote(engine_options());
  auto sink = std::make_shared<WaitingSink>();
  ASSERT_TRUE(remote.submit(long_request(200), sink).ok());
  manual_->emit(manual_->wait_submitted(0), {65});
  sink->wait_tokens(1);
  server_->stop();  // the connection is cut, as when the process dies
  const FinishEvent f = sink->wait();
  EXPECT_EQ(f.reason, FinishReason::kError);
  EXPECT_EQ(f.error, ErrorCode::kUnavailable);
  EXPECT_NE(f.message.find("worker went away mid-stream"), std::string::npos) << f.message;
  EXPECT_EQ(f.message.find("127.0.0.1"), std::string::npos) << "no internal address for the client: " << f.message;
}

TEST_F(WorkerTest, GrammarSpecsAreCompiledByTheWorker) {
  start_worker();
  RemoteEngineClient remote(engine_options());
  auto vocab_file = GgufFile::open(model_path_);
  ASSERT_TRUE(vocab_file.ok());
  auto tok = Tokenizer::from_gguf(**vocab_file);
  ASSERT_TRUE(tok.ok());
  GrammarCompiler compiler(TokenVocabulary::create(**tok));
  GrammarSpec spec;
  spec.kind = GrammarKind::kChoice;
  spec.choices = {"alpha", "beta"};
  GenerateRequest q = long_request(40);
  q.ignore_eos = false;
  q.grammar = *compiler.compile(spec);
  auto sink = std::make_shared<WaitingSink>();
  ASSERT_TRUE(remote.submit(q, sink).ok());
  EXPECT_EQ(sink->wait().reason, FinishReason::kStop);
  const std::string text = (*tok)->decode(sink->tokens());
  EXPECT_TRUE(text == "alpha" || text == "beta") << text;
  // A spec the worker cannot compile is refused at submit.
  spec.kind = GrammarKind::kRegex;
  spec.text = "(";
  auto body = generate_request_to_json("tiny", "bad-grammar", long_request(4));
  ASSERT_TRUE(body.ok());
  std::string bad = *body;
  bad.insert(bad.size() - 1, R"(,"grammar":{"kind":"regex","text":"("})");
  auto r = call("POST", "/internal/v1/generate", bad);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
}

TEST_F(WorkerTest, WithoutATokenNothingIsChecked) {
  start_worker("");
  auto r = call("GET", "/internal/v1/models", {}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

// Like the gateway's GenerationJob with n > 1: the first request's events wait on a lock that is
// held while the second is submitted.
class BlockingSink final : public RequestSink {
 public:
  explicit BlockingSink(std::mutex* mu, std::shared_ptr<WaitingSink> inner) : mu_(mu), inner_(std::move(inner)) {}
  void on_event(RequestId id, EngineEvent e) override {
    std::lock_guard<std::mutex> lock(*mu_);
    inner_->on_event(id, std::move(e));
  }

 private:
  std::mutex* mu_;
  std::shared_ptr<WaitingSink> inner_;
};

TEST_F(WorkerTest, ASecondSubmitWhileTheFirstsEventsWait) {
  start_worker();
  RemoteEngineClient remote(engine_options());
  std::mutex mu;
  auto a = std::make_shared<WaitingSink>();
  auto b = std::make_shared<WaitingSink>();
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_TRUE(remote.submit(long_request(24), std::make_shared<BlockingSink>(&mu, a)).ok());
    ASSERT_TRUE(remote.submit(long_request(24), std::make_shared<BlockingSink>(&mu, b)).ok());
  }
  EXPECT_EQ(a->wait().reason, FinishReason::kLength);
  EXPECT_EQ(b->wait().reason, FinishReason::kLength);
}

}  // namespace
}  // namespace parley
