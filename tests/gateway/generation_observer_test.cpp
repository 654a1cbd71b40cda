// GenerationJob with an observer, driven by a scripted engine: what the conversation API relies
// on, including the endings that are hard to provoke with a real engine (an engine error).
#include <gtest/gtest.h>

#include "conversation_test_util.h"
#include "gateway/generation.h"

namespace parley::testing {
namespace {

// An engine whose events the test sends by hand.
class ScriptedEngine final : public EngineClient {
 public:
  Result<RequestId> submit(GenerateRequest, std::shared_ptr<RequestSink> sink) override {
    sink_ = std::move(sink);
    return RequestId{7};
  }
  void cancel(RequestId id) override { cancelled_ = id == 7; }
  EngineStats stats() const override { return {}; }

  void tokens(std::vector<TokenId> t) { sink_->on_event(7, TokenEvent{std::move(t), {}}); }
  void finish(FinishReason reason, std::int32_t completion_tokens, std::string message = {}) {
    FinishEvent e;
    e.reason = reason;
    e.message = std::move(message);
    e.prompt_tokens = 5;
    e.completion_tokens = completion_tokens;
    sink_->on_event(7, std::move(e));
  }
  bool cancelled_ = false;

 private:
  std::shared_ptr<RequestSink> sink_;
};

class NullResponder final : public HttpResponder {
 public:
  void respond(int, HttpHeaders, std::string) override { ++responses; }
  void start_stream(int, HttpHeaders) override { ++responses; }
  bool write(std::string) override { return true; }
  void finish() override {}
  bool disconnected() const override { return false; }
  // As the server does: it calls back when a client is gone (here: when the test says so).
  void on_disconnect(std::function<void()> cb) override { callback = std::move(cb); }
  int responses = 0;
  std::function<void()> callback;
};

class RecordingObserver final : public GenerationObserver {
 public:
  void on_start() override { started = true; }
  bool on_text(std::string_view t) override {
    text += t;
    return accept;
  }
  void on_end(GenerationOutcome o) override {
    ++ends;
    outcome = std::move(o);
  }
  bool started = false;
  bool accept = true;
  std::string text;
  int ends = 0;
  GenerationOutcome outcome;
};

class ObservedJobTest : public ConversationApiFixture {
 protected:
  std::shared_ptr<GenerationJob> start_job(const std::shared_ptr<RecordingObserver>& observer) {
    JobSpec spec;
    spec.model = "m";
    spec.endpoint = "conversation";
    spec.observer = observer;
    spec.stop = {"STOP"};
    spec.arrival = std::chrono::steady_clock::now();
    auto job = GenerationJob::create(std::move(spec), model().tokenizer(), engine_, responder_, *metrics_);
    std::vector<ChoiceInput> in(1);
    EXPECT_TRUE(job->start(std::move(in)).ok());
    return job;
  }
  std::vector<TokenId> encode(std::string_view text) {
    return model().tokenizer().encode(text, {.add_special = false});
  }

  ScriptedEngine engine_;
  std::shared_ptr<NullResponder> responder_ = std::make_shared<NullResponder>();
};

TEST_F(ObservedJobTest, TextAndANormalEnd) {
  auto obs = std::make_shared<RecordingObserver>();
  auto job = start_job(obs);
  EXPECT_TRUE(obs->started);
  engine_.tokens(encode("Hello "));
  engine_.tokens(encode("world"));
  engine_.finish(FinishReason::kLength, 4);
  EXPECT_EQ(obs->ends, 1);
  EXPECT_EQ(obs->outcome.text, "Hello world");
  EXPECT_EQ(obs->text, "Hello world");
  EXPECT_EQ(obs->outcome.finish_reason, "length");
  EXPECT_EQ(obs->outcome.usage.prompt_tokens, 5);
  EXPECT_EQ(obs->outcome.usage.completion_tokens, 4);
  EXPECT_EQ(responder_->responses, 0);  // the observer answers, not the job
}

TEST_F(ObservedJobTest, StopStringsAreHeldBackAndEndTheReply) {
  auto obs = std::make_shared<RecordingObserver>();
  auto job = start_job(obs);
  engine_.tokens(encode("one two ST"));
  EXPECT_EQ(obs->text.find("ST"), std::string::npos);  // could be the start of STOP
  engine_.tokens(encode("OP three"));
  EXPECT_TRUE(engine_.cancelled_);
  engine_.finish(FinishReason::kCancelled, 6);
  EXPECT_EQ(obs->outcome.text, "one two ");
  EXPECT_EQ(obs->outcome.finish_reason, "stop");
}

TEST_F(ObservedJobTest, StopIsReportedAsStoppedWithTheTextSoFar) {
  auto obs = std::make_shared<RecordingObserver>();
  auto job = start_job(obs);
  engine_.tokens(encode("partial"));
  job->stop();
  engine_.cancelled_ = false;
  job->stop();  // a second stop before the engine finished does not cancel again
  EXPECT_FALSE(engine_.cancelled_);
  engine_.cancelled_ = true;
  EXPECT_TRUE(engine_.cancelled_);
  EXPECT_EQ(obs->ends, 0);  // the end comes with the engine's finish
  engine_.finish(FinishReason::kCancelled, 3);
  EXPECT_EQ(obs->ends, 1);
  EXPECT_EQ(obs->outcome.finish_reason, "stopped");
  EXPECT_EQ(obs->outcome.text, "partial");
  job->stop();  // finished: ignored
  EXPECT_EQ(obs->ends, 1);
}

TEST_F(ObservedJobTest, AClientThatIsGoneCancelsAndTheEndSaysCancelled) {
  auto obs = std::make_shared<RecordingObserver>();
  auto job = start_job(obs);
  obs->accept = false;  // the write fails: the client is gone
  engine_.tokens(encode("abc"));
  engine_.tokens(encode("def"));     // not sent any more
  EXPECT_FALSE(engine_.cancelled_);  // the job does not call the engine from inside its events...
  ASSERT_TRUE(responder_->callback);
  responder_->callback();  // ...the server's disconnect notice cancels
  EXPECT_TRUE(engine_.cancelled_);
  engine_.finish(FinishReason::kCancelled, 2);
  EXPECT_EQ(obs->outcome.finish_reason, "cancelled");
  EXPECT_EQ(obs->outcome.text, "abc");
  EXPECT_NE(registry_.render().find(R"(endpoint="conversation",status="499")"), std::string::npos);
}

TEST_F(ObservedJobTest, AnEngineErrorKeepsTheTextAndSaysWhy) {
  auto obs = std::make_shared<RecordingObserver>();
  auto job = start_job(obs);
  engine_.tokens(encode("so far"));
  engine_.finish(FinishReason::kError, 2, "out of memory");
  EXPECT_EQ(obs->outcome.finish_reason, "error");
  EXPECT_EQ(obs->outcome.error, "out of memory");
  EXPECT_EQ(obs->outcome.text, "so far");
  EXPECT_NE(registry_.render().find(R"(endpoint="conversation",status="500")"), std::string::npos);
}

TEST_F(ObservedJobTest, AnEngineShutdownIsCancelled) {
  auto obs = std::make_shared<RecordingObserver>();
  auto job = start_job(obs);
  engine_.finish(FinishReason::kCancelled, 0);
  EXPECT_EQ(obs->outcome.finish_reason, "cancelled");
  EXPECT_EQ(obs->outcome.text, "");
}

// Not observed: an OpenAI stream whose client left. The log line and the token counters must say
// what the engine computed (it reports that when it has finished the cancelled request), not the
// zeros of the moment the client left; and the request is counted once.
TEST_F(ObservedJobTest, AStreamWhoseClientLeftIsCountedWithWhatWasComputed) {
  JobSpec spec;
  spec.kind = ApiKind::kChat;
  spec.model = "m";
  spec.endpoint = "chat";
  spec.stream = true;
  spec.arrival = std::chrono::steady_clock::now();
  auto job = GenerationJob::create(std::move(spec), model().tokenizer(), engine_, responder_, *metrics_);
  std::vector<ChoiceInput> in(1);
  ASSERT_TRUE(job->start(std::move(in)).ok());
  engine_.tokens(encode("abc"));
  ASSERT_TRUE(responder_->callback);
  responder_->callback();  // the client is gone
  EXPECT_TRUE(engine_.cancelled_);
  EXPECT_EQ(registry_.render().find(R"(status="499")"), std::string::npos) << "counted before the engine finished";
  engine_.finish(FinishReason::kCancelled, 3);
  const std::string metrics = registry_.render();
  EXPECT_NE(metrics.find(R"(parley_requests_total{model="m",endpoint="chat",status="499"} 1)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(parley_generation_tokens_total{model="m"} 3)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(parley_prompt_tokens_total{model="m"} 5)"), std::string::npos) << metrics;
  job->stop();  // finished: nothing more is counted
  EXPECT_NE(registry_.render().find(R"(status="499"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace parley::testing
