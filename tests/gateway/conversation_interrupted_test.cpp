// A reply whose engine fails mid-stream (a remote worker that died: FinishEvent{kError,
// kUnavailable} after some tokens) is saved with what was generated, marked as failed with the
// reason, and the client's stream ends with an error event carrying that saved message.
#include <gtest/gtest.h>

#include <thread>

#include "conversation_test_util.h"
#include "gguf/gguf_file.h"

namespace parley::testing {
namespace {

// Emits two tokens, then fails like a RemoteEngineClient whose worker went away.
class DyingEngine final : public EngineClient {
 public:
  ~DyingEngine() override {
    for (auto& t : threads_) t.join();
  }
  Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) override {
    const RequestId id = next_++;
    const auto prompt = static_cast<std::int32_t>(request.prompt.size());
    threads_.emplace_back([sink, id, prompt] {
      sink->on_event(id, TokenEvent{{72, 105}, {}});
      FinishEvent f;
      f.reason = FinishReason::kError;
      f.error = ErrorCode::kUnavailable;
      f.message = "the inference worker went away mid-stream; the reply is incomplete";
      f.prompt_tokens = prompt;
      f.completion_tokens = 2;
      sink->on_event(id, f);
    });
    return id;
  }
  void cancel(RequestId) override {}
  EngineStats stats() const override { return {}; }

 private:
  RequestId next_ = 1;
  std::vector<std::thread> threads_;
};

class ConversationInterruptedTest : public ConversationApiFixture {
 protected:
  Result<std::unique_ptr<ServedModel>> make_model(const std::string& path) override {
    ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::open(path));
    ServedModelFront front;
    front.id = "tiny";
    front.n_ctx = 4096;
    return ServedModel::with_engine(front, std::shared_ptr<const GgufFile>(std::move(file)),
                                    std::make_shared<DyingEngine>());
  }
};

TEST_F(ConversationInterruptedTest, ThePartialReplyIsSavedMarkedAsFailed) {
  const std::string id = create_conversation();
  Streamed s = stream("/api/conversations/" + id + "/messages", R"({"content":"Hello","max_tokens":50})");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_FALSE(s.text().empty());  // the deltas streamed before the failure
  const json::value err = s.last("error");
  ASSERT_FALSE(err.is_null()) << s.body;
  EXPECT_NE(json::serialize(err).find("the reply is incomplete"), std::string::npos) << s.body;
  ASSERT_TRUE(err.as_object().contains("message")) << s.body;  // the saved reply comes with the error
  const json::value& saved = err.at("message");
  EXPECT_EQ(saved.at("content"), s.text().c_str());
  EXPECT_EQ(saved.at("finish_reason"), "error");
  EXPECT_EQ(saved.at("status"), "interrupted");  // partial text: interrupted, not a plain error

  // The conversation keeps it, with the reason, as its current leaf.
  const json::value t = tree(id);
  ASSERT_EQ(t.at("messages").as_array().size(), 2u);
  const json::object& answer = message(t, std::string(saved.at("id").as_string()));
  EXPECT_EQ(answer.at("content"), s.text().c_str());
  EXPECT_EQ(answer.at("finish_reason"), "error");
  EXPECT_EQ(answer.at("status"), "interrupted");
  EXPECT_NE(std::string(answer.at("error").as_string()).find("incomplete"), std::string::npos);
  EXPECT_EQ(t.at("current_leaf_id"), saved.at("id"));
}

}  // namespace
}  // namespace parley::testing
