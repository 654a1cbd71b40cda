// Streamed replies saved as they stream (issue 18, docs/reliability.md): the reply's row exists,
// `streaming`, with the text so far while the engine is still generating; it ends in its final
// status (complete, interrupted on a disconnect, stopped); replies a crash left `streaming` are
// swept to `interrupted` at start-up.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "conversation_test_util.h"
#include "gateway/reply_sweeper.h"
#include "gguf/gguf_file.h"

namespace parley::testing {
namespace {

using namespace std::chrono_literals;

// Emits one token, then waits for the test's go (or a cancel) before the next and the finish.
class SteppedEngine final : public EngineClient {
 public:
  ~SteppedEngine() override {
    release();
    for (auto& t : threads_) t.join();
  }
  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override {
    const RequestId id = next_++;
    const auto prompt = static_cast<std::int32_t>(request.prompt.size());
    threads_.emplace_back([this, sink, id, prompt] {
      sink->on_event(id, TokenEvent{{72}, {}});
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return go_ || cancelled_; });
      const bool cancelled = cancelled_;
      lock.unlock();
      if (!cancelled) sink->on_event(id, TokenEvent{{105}, {}});
      FinishEvent f;
      f.reason = cancelled ? FinishReason::kCancelled : FinishReason::kLength;
      f.prompt_tokens = prompt;
      f.completion_tokens = cancelled ? 1 : 2;
      sink->on_event(id, f);
    });
    return id;
  }
  void cancel(RequestId) override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  EngineStats stats() const override { return {}; }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    go_ = true;
    cv_.notify_all();
  }

 private:
  RequestId next_ = 1;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool go_ = false;
  bool cancelled_ = false;
};

class ConversationCheckpointTest : public ConversationApiFixture {
 protected:
  void configure(ConversationApiOptions& o) override {
    o.checkpoints.checkpoint_interval = 1ms;  // every piece of text is due at once
  }
  Result<std::unique_ptr<ServedModel>> make_model(const std::string& path) override {
    ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::open(path));
    ServedModelFront front;
    front.id = "tiny";
    front.n_ctx = 4096;
    engine_ = std::make_shared<SteppedEngine>();
    return ServedModel::with_engine(front, std::shared_ptr<const GgufFile>(std::move(file)), engine_);
  }

  // The conversation's assistant message once `pred` holds for it (polls the store; a bound
  // only against a hang, not a timing assertion).
  store::Message wait_for_reply(const std::string& id, const std::function<bool(const store::Message&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto t = store_->get_message_tree(alice_.user_id, id);
      if (t.ok()) {
        for (const store::Message& m : t->messages) {
          if (m.role == store::MessageRole::kAssistant && pred(m)) return m;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
    std::string seen;
    if (auto t = store_->get_message_tree(alice_.user_id, id); t.ok()) {
      for (const store::Message& m : t->messages) {
        seen += fmt::format(" [{} {} '{}']", static_cast<int>(m.role), static_cast<int>(m.status), m.content);
      }
    }
    ADD_FAILURE() << "the reply never reached the expected state; the conversation holds" << seen;
    return {};
  }

  std::shared_ptr<SteppedEngine> engine_;
};

TEST_F(ConversationCheckpointTest, TheReplyIsSavedStreamingThenComplete) {
  const std::string id = create_conversation();
  Streamed s;
  std::thread client([&] { s = stream("/api/conversations/" + id + "/messages", R"({"content":"Hello"})"); });
  // Mid-stream: the row is there, streaming, with the first token's text, and is the current leaf.
  const store::Message mid = wait_for_reply(
      id, [](const store::Message& m) { return m.status == store::MessageStatus::kStreaming && !m.content.empty(); });
  json::value t = tree(id);
  EXPECT_EQ(t.at("current_leaf_id"), mid.id.c_str());
  EXPECT_EQ(message(t, mid.id).at("status"), "streaming");
  EXPECT_EQ(t.at("conversation").at("title"), "Hello");  // named when the reply's row was created
  engine_->release();
  client.join();
  ASSERT_EQ(s.status, 200) << s.body;
  const json::value done = s.last("done");
  ASSERT_FALSE(done.is_null()) << s.body;
  EXPECT_EQ(done.at("message").at("id"), mid.id.c_str());  // the same row, finished
  EXPECT_EQ(done.at("message").at("status"), "complete");
  t = tree(id);
  ASSERT_EQ(t.at("messages").as_array().size(), 2u);
  EXPECT_EQ(message(t, mid.id).at("status"), "complete");
  EXPECT_EQ(message(t, mid.id).at("content"), s.text().c_str());
  EXPECT_TRUE(s.text().starts_with(mid.content));
}

TEST_F(ConversationCheckpointTest, AClientThatLeavesLeavesAnInterruptedReply) {
  const std::string id = create_conversation();
  // Leaves after the first piece of text (the documented behaviour: the generation is cancelled).
  Streamed s = stream("/api/conversations/" + id + "/messages", R"({"content":"Hello"})", "alice",
                      [](const SseEvent& e) { return e.event != "delta"; });
  const store::Message m =
      wait_for_reply(id, [](const store::Message& r) { return r.status != store::MessageStatus::kStreaming; });
  EXPECT_EQ(m.status, store::MessageStatus::kInterrupted);
  EXPECT_EQ(m.content, s.text());
  EXPECT_FALSE(m.content.empty());
}

TEST_F(ConversationCheckpointTest, StopByTheUserIsStopped) {
  const std::string id = create_conversation();
  Streamed s;
  std::thread client([&] { s = stream("/api/conversations/" + id + "/messages", R"({"content":"Hello"})"); });
  wait_for_reply(id, [](const store::Message& m) { return !m.content.empty(); });
  EXPECT_EQ(call("POST", "/api/conversations/" + id + "/stop", {}).status, 200);
  client.join();
  const json::value done = s.last("done");
  ASSERT_FALSE(done.is_null()) << s.body;
  EXPECT_EQ(done.at("message").at("status"), "stopped");
  EXPECT_EQ(done.at("message").at("finish_reason"), "stopped");
}

TEST_F(ConversationCheckpointTest, RepliesLeftStreamingByACrashAreInterruptedAtStartUp) {
  const std::string id = create_conversation();
  auto tree_before = store_->get_message_tree(alice_.user_id, id);
  ASSERT_TRUE(tree_before.ok());
  store::NewMessage q;
  q.conversation_id = id;
  q.content = "question";
  auto question = store_->append_message(alice_.user_id, q);
  ASSERT_TRUE(question.ok());
  store::NewMessage r;
  r.conversation_id = id;
  r.parent_id = question->id;
  r.role = store::MessageRole::kAssistant;
  r.content = "half an ans";
  r.status = store::MessageStatus::kStreaming;
  auto orphan = store_->append_message(alice_.user_id, r);  // what a killed process left
  ASSERT_TRUE(orphan.ok());
  ReplySweeper sweeper(*store_, 60s);  // a SQLite start-up: every streaming row is from before
  EXPECT_EQ(sweeper.swept(), 1);
  const json::value t = tree(id);
  EXPECT_EQ(message(t, orphan->id).at("status"), "interrupted");
  EXPECT_EQ(message(t, orphan->id).at("content"), "half an ans");
}

TEST(ReplyStatus, FromHowTheGenerationEnded) {
  using S = store::MessageStatus;
  const auto status = [](std::string reason, std::string text, bool shutdown = false) {
    GenerationOutcome o;
    o.finish_reason = std::move(reason);
    o.text = std::move(text);
    return reply_status(o, shutdown);
  };
  EXPECT_EQ(status("stop", "a"), S::kComplete);
  EXPECT_EQ(status("length", "a"), S::kComplete);
  EXPECT_EQ(status("tool_calls", ""), S::kComplete);
  EXPECT_EQ(status("content_filter", ""), S::kFiltered);
  EXPECT_EQ(status("stopped", "a"), S::kStopped);
  EXPECT_EQ(status("stopped", "a", true), S::kInterrupted);  // a shutdown, not the user
  EXPECT_EQ(status("cancelled", "a"), S::kInterrupted);
  EXPECT_EQ(status("error", "a"), S::kInterrupted);
  EXPECT_EQ(status("error", ""), S::kError);
}

}  // namespace
}  // namespace parley::testing
