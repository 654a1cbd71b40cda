// Replies in conversations over HTTP: streaming and persistence, edit and regenerate branches,
// switching branches (checked on the prompt the model gets), stop and disconnect (the partial
// reply is saved), the automatic title, usage; and the automatic title function itself.
#include <gtest/gtest.h>

#include <thread>

#include "base/utf8.h"
#include "conversation_test_util.h"
#include "net/http_client.h"
#include "net/net_test_util.h"

namespace parley::testing {
namespace {

using ConversationReplyTest = ConversationApiFixture;
using namespace std::chrono_literals;

// Greedy and short: the same prompt always gets the same reply.
constexpr std::string_view kGreedy = R"("temperature":0,"max_tokens":6)";

std::string send_body(std::string_view content, std::string_view extra = kGreedy) {
  return fmt::format(R"({{"content":{},{}}})", json::serialize(json::string(content)), extra);
}

// Generous: waits end as soon as the work on other threads is done; the bound only keeps a bug from hanging.
constexpr auto kPatience = 30s;

TEST_F(ConversationReplyTest, SendStreamsTheReplyAndPersistsExactlyWhatWasStreamed) {
  const std::string id = create_conversation();
  Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Hello there"));
  ASSERT_EQ(s.status, 200) << s.body;
  ASSERT_GE(s.events.size(), 2u);
  // First the saved user message, then deltas, then done.
  EXPECT_EQ(s.events.front().event, "message");
  const json::value first = json::parse(s.events.front().data);
  EXPECT_EQ(first.at("conversation_id"), id.c_str());
  const json::value& user = first.at("message");
  EXPECT_EQ(user.at("role"), "user");
  EXPECT_EQ(user.at("content"), "Hello there");
  EXPECT_TRUE(user.at("parent_id").is_null());
  EXPECT_EQ(s.events.back().event, "done");
  for (std::size_t i = 1; i + 1 < s.events.size(); ++i) EXPECT_EQ(s.events[i].event, "delta");

  const json::value done = s.last("done");
  const json::value& answer = done.at("message");
  EXPECT_EQ(answer.at("role"), "assistant");
  EXPECT_EQ(answer.at("parent_id"), user.at("id"));
  EXPECT_EQ(answer.at("model"), model().id().c_str());
  EXPECT_EQ(answer.at("content"), s.text().c_str());
  EXPECT_FALSE(s.text().empty());
  const std::string reason(answer.at("finish_reason").as_string());
  EXPECT_TRUE(reason == "length" || reason == "stop") << reason;
  EXPECT_GT(answer.at("usage").at("prompt_tokens").as_int64(), 0);
  EXPECT_LE(answer.at("usage").at("completion_tokens").as_int64(), 6);
  EXPECT_EQ(done.at("conversation").at("current_leaf_id"), answer.at("id"));

  // The tree holds the same two messages, the answer is the current leaf.
  const json::value t = tree(id);
  ASSERT_EQ(t.at("messages").as_array().size(), 2u);
  EXPECT_EQ(t.at("current_leaf_id"), answer.at("id"));
  EXPECT_EQ(message(t, std::string(answer.at("id").as_string())).at("content"), s.text().c_str());
  EXPECT_EQ(message(t, std::string(user.at("id").as_string())).at("children").as_array(), json::array{answer.at("id")});
  EXPECT_EQ(t.at("conversation").at("model"), model().id().c_str());

  // The usage hook saw this generation, with the same counts.
  ASSERT_TRUE(eventually([&] { return usage().size() == 1; }, kPatience));
  const UsageCall u = usage()[0];
  EXPECT_EQ(u.user_id, alice_.user_id);
  EXPECT_EQ(u.model, model().id());
  EXPECT_EQ(u.prompt_tokens, answer.at("usage").at("prompt_tokens").as_int64());
  EXPECT_EQ(u.completion_tokens, answer.at("usage").at("completion_tokens").as_int64());
  // And the generation was counted like the OpenAI endpoints' ones.
  EXPECT_NE(registry_.render().find(R"(endpoint="conversation",status="200")"), std::string::npos);
}

TEST_F(ConversationReplyTest, TheFirstExchangeNamesAnUntitledConversation) {
  const std::string id = create_conversation();
  Streamed s =
      stream("/api/conversations/" + id + "/messages",
             send_body("\n  Plan a three-day trip to Lisbon with a small budget, please, and list museums\nmore"));
  ASSERT_EQ(s.status, 200);
  const std::string expected =
      auto_title("Plan a three-day trip to Lisbon with a small budget, please, and list museums");
  EXPECT_EQ(s.last("done").at("conversation").at("title"), expected.c_str());
  EXPECT_EQ(tree(id).at("conversation").at("title"), expected.c_str());
  // Later exchanges and given titles are left alone.
  ASSERT_EQ(stream("/api/conversations/" + id + "/messages", send_body("Something else")).status, 200);
  EXPECT_EQ(tree(id).at("conversation").at("title"), expected.c_str());
  const std::string named = create_conversation(R"({"title":"Mine"})");
  ASSERT_EQ(stream("/api/conversations/" + named + "/messages", send_body("Hello")).status, 200);
  EXPECT_EQ(tree(named).at("conversation").at("title"), "Mine");
}

TEST_F(ConversationReplyTest, EditAndRegenerateMakeBranchesAndSwitchingChangesTheNextPrompt) {
  const std::string id = create_conversation(R"({"system_prompt":"Be brief."})");
  const std::string sys(tree(id).at("current_leaf_id").as_string());
  Streamed s1 = stream("/api/conversations/" + id + "/messages", send_body("Hello"));
  ASSERT_EQ(s1.status, 200) << s1.body;
  const std::string u1(s1.last("message").at("message").at("id").as_string());
  const std::string a1(s1.last("done").at("message").at("id").as_string());
  EXPECT_EQ(s1.last("message").at("message").at("parent_id"), sys.c_str());

  // Regenerate: a sibling answer under the same user message; greedy gives the same text.
  Streamed s2 =
      stream("/api/conversations/" + id + "/messages/" + a1 + "/regenerate", "{" + std::string(kGreedy) + "}");
  ASSERT_EQ(s2.status, 200) << s2.body;
  EXPECT_EQ(s2.last("message"), nullptr);  // no new user message
  const json::value a2 = s2.last("done").at("message");
  EXPECT_EQ(a2.at("parent_id"), u1.c_str());
  EXPECT_EQ(a2.at("content"), s1.last("done").at("message").at("content"));
  const std::string a2_id(a2.at("id").as_string());

  // Edit the user message: a new user message under the same parent (the system prompt).
  Streamed s3 = stream("/api/conversations/" + id + "/messages",
                       send_body("Good morning, how are you today?",
                                 std::string(R"("parent_id":")") + sys + "\"," + std::string(kGreedy)));
  ASSERT_EQ(s3.status, 200) << s3.body;
  const std::string u2(s3.last("message").at("message").at("id").as_string());
  const std::string a3(s3.last("done").at("message").at("id").as_string());

  json::value t = tree(id);
  EXPECT_EQ(t.at("messages").as_array().size(), 6u);
  EXPECT_EQ(message(t, sys).at("children").as_array(), (json::array{json::string(u1), json::string(u2)}));
  EXPECT_EQ(message(t, u1).at("children").as_array(), (json::array{json::string(a1), json::string(a2_id)}));
  EXPECT_EQ(message(t, u2).at("children").as_array(), (json::array{json::string(a3)}));
  EXPECT_EQ(t.at("current_leaf_id"), a3.c_str());

  // Switch back to the first branch: the leaf becomes that branch's newest answer.
  HttpResponse r = call("PUT", "/api/conversations/" + id + "/current_leaf", R"({"message_id":")" + u1 + "\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r).at("current_leaf_id"), a2_id.c_str());
  EXPECT_EQ(tree(id).at("current_leaf_id"), a2_id.c_str());

  // The next message continues that branch: its prompt is system, Hello, the second answer, and it.
  const std::string a2_text(a2.at("content").as_string());
  Streamed s4 = stream("/api/conversations/" + id + "/messages", send_body("And then?"));
  ASSERT_EQ(s4.status, 200) << s4.body;
  EXPECT_EQ(s4.last("message").at("message").at("parent_id"), a2_id.c_str());
  const auto prompt_tokens = [&](std::vector<chat::ChatMessage> messages) {
    chat::ChatInput in;
    in.messages = chat::messages_value(messages);
    auto tokens = model().chat_prompt(std::move(in));
    EXPECT_TRUE(tokens.ok());
    return static_cast<std::int64_t>(tokens->size());
  };
  const std::int64_t on_first_branch =
      prompt_tokens({{"system", "Be brief."}, {"user", "Hello"}, {"assistant", a2_text}, {"user", "And then?"}});
  const std::int64_t on_edit_branch =
      prompt_tokens({{"system", "Be brief."},
                     {"user", "Good morning, how are you today?"},
                     {"assistant", std::string(s3.last("done").at("message").at("content").as_string())},
                     {"user", "And then?"}});
  ASSERT_NE(on_first_branch, on_edit_branch);
  EXPECT_EQ(s4.last("done").at("message").at("usage").at("prompt_tokens").as_int64(), on_first_branch);

  // Editing the very first message of a conversation without a system prompt: a second root.
  const std::string plain = create_conversation();
  ASSERT_EQ(stream("/api/conversations/" + plain + "/messages", send_body("One")).status, 200);
  Streamed root2 = stream("/api/conversations/" + plain + "/messages",
                          send_body("Two", std::string(R"("parent_id":"",)") + std::string(kGreedy)));
  ASSERT_EQ(root2.status, 200) << root2.body;
  EXPECT_TRUE(root2.last("message").at("message").at("parent_id").is_null());
  std::size_t roots = 0;
  const json::value plain_tree = tree(plain);
  for (const json::value& m : plain_tree.at("messages").as_array()) roots += m.at("parent_id").is_null() ? 1 : 0;
  EXPECT_EQ(roots, 2u);
}

TEST_F(ConversationReplyTest, RegenerateOnAUserMessageAnswersIt) {
  const std::string id = create_conversation();
  Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Hi"));
  ASSERT_EQ(s.status, 200);
  const std::string u(s.last("message").at("message").at("id").as_string());
  Streamed again =
      stream("/api/conversations/" + id + "/messages/" + u + "/regenerate", "{" + std::string(kGreedy) + "}");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.last("done").at("message").at("parent_id"), u.c_str());
  EXPECT_EQ(message(tree(id), u).at("children").as_array().size(), 2u);
  // A system message cannot be regenerated.
  const std::string with_system = create_conversation(R"({"system_prompt":"x"})");
  const std::string sys(tree(with_system).at("current_leaf_id").as_string());
  HttpResponse r = call("POST", "/api/conversations/" + with_system + "/messages/" + sys + "/regenerate", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(ConversationReplyTest, ModelDefaultsToTheLastAnswersAndUnknownModelsAre404) {
  const std::string id = create_conversation();
  HttpResponse r = call("POST", "/api/conversations/" + id + "/messages", send_body("Hi", R"("model":"nope")"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_json(r).at("error").at("code"), "model_not_found");
  EXPECT_TRUE(tree(id).at("messages").as_array().empty());  // refused before anything was saved
  Streamed s = stream("/api/conversations/" + id + "/messages",
                      send_body("Hi", std::string(R"("model":")") + model().id() + "\"," + std::string(kGreedy)));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.last("done").at("message").at("model"), model().id().c_str());
}

TEST_F(ConversationReplyTest, APromptBeyondTheContextIsA400AndSavesNothing) {
  const std::string id = create_conversation();
  HttpResponse r = call("POST", "/api/conversations/" + id + "/messages", send_body("Hi", R"("max_tokens":5000)"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(body_json(r).at("error").at("code"), "context_length_exceeded");
  EXPECT_TRUE(tree(id).at("messages").as_array().empty());
}

// A long reply (greedy, never ending on its own before the context is full).
constexpr std::string_view kLong = R"("temperature":0,"max_tokens":4000,"ignore_eos":true)";

TEST_F(ConversationReplyTest, StopEndsTheReplyAndSavesWhatWasGenerated) {
  const std::string id = create_conversation();
  std::thread stopper;
  std::atomic<int> stop_status{0};
  Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Tell me everything", kLong), "alice",
                      [&](const SseEvent& e) {
                        if (e.event == "delta" && !stopper.joinable()) {
                          stopper = std::thread([&] {
                            HttpResponse r = call("POST", "/api/conversations/" + id + "/stop", {}, "alice", "");
                            stop_status = r.status;
                            EXPECT_EQ(body_json(r).at("stopped"), 1);
                          });
                        }
                        return true;
                      });
  if (stopper.joinable()) stopper.join();
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(stop_status.load(), 200);
  const json::value done = s.last("done");
  ASSERT_FALSE(done.is_null()) << "no done event";
  const json::value& answer = done.at("message");
  EXPECT_EQ(answer.at("finish_reason"), "stopped");
  EXPECT_LT(answer.at("usage").at("completion_tokens").as_int64(), 4000);
  EXPECT_FALSE(s.text().empty());
  EXPECT_EQ(answer.at("content"), s.text().c_str());
  const json::value t = tree(id);
  EXPECT_EQ(message(t, std::string(answer.at("id").as_string())).at("content"), s.text().c_str());
  EXPECT_EQ(message(t, std::string(answer.at("id").as_string())).at("finish_reason"), "stopped");
  EXPECT_EQ(t.at("current_leaf_id"), answer.at("id"));
  EXPECT_EQ(api_->active_replies(), 0u);
}

TEST_F(ConversationReplyTest, AClientThatHangsUpCancelsAndThePartialReplyIsSaved) {
  const std::string id = create_conversation();
  std::string received;
  Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Tell me everything", kLong), "alice",
                      [&](const SseEvent& e) {
                        if (e.event != "delta") return true;
                        received += json::parse(e.data).at("content").as_string().c_str();
                        return received.size() < 8;  // hang up after a few pieces
                      });
  ASSERT_EQ(s.status, 200);
  ASSERT_FALSE(received.empty());
  // The engine stops within a step; the reply is saved as "cancelled", starting with what we saw.
  json::value answer;
  ASSERT_TRUE(eventually(
      [&] {
        const json::value t = tree(id);
        if (t.at("messages").as_array().size() < 2) return false;
        answer = t.at("messages").as_array()[1];
        return answer.at("status") != "streaming";  // saved while streaming: wait for its end
      },
      kPatience));
  EXPECT_EQ(answer.at("role"), "assistant");
  EXPECT_EQ(answer.at("finish_reason"), "cancelled");
  EXPECT_EQ(answer.at("status"), "interrupted");
  const std::string saved(answer.at("content").as_string());
  EXPECT_EQ(saved.substr(0, received.size()), received);
  EXPECT_LT(answer.at("usage").at("completion_tokens").as_int64(), 4000);
  EXPECT_TRUE(eventually([&] { return api_->active_replies() == 0; }, kPatience));
  EXPECT_TRUE(eventually([&] { return usage().size() == 1; }, kPatience));
  EXPECT_NE(registry_.render().find(R"(endpoint="conversation",status="499")"), std::string::npos);
}

TEST_F(ConversationReplyTest, DeletingAConversationStopsItsReply) {
  const std::string id = create_conversation();
  std::thread deleter;
  Streamed s =
      stream("/api/conversations/" + id + "/messages", send_body("Go on", kLong), "alice", [&](const SseEvent& e) {
        if (e.event == "delta" && !deleter.joinable()) {
          deleter =
              std::thread([&] { EXPECT_EQ(call("DELETE", "/api/conversations/" + id, {}, "alice", "").status, 204); });
        }
        return true;
      });
  if (deleter.joinable()) deleter.join();
  ASSERT_EQ(s.status, 200);
  // The reply cannot be saved into a deleted conversation: the stream ends with an error.
  EXPECT_FALSE(s.last("error").is_null());
  EXPECT_TRUE(s.last("done").is_null());
  EXPECT_EQ(api_->active_replies(), 0u);
}

TEST_F(ConversationReplyTest, ShuttingDownSavesTheRepliesInFlight) {
  const std::string id = create_conversation();
  std::thread killer;
  Streamed s =
      stream("/api/conversations/" + id + "/messages", send_body("Go on", kLong), "alice", [&](const SseEvent& e) {
        if (e.event == "delta" && !killer.joinable()) killer = std::thread([&] { api_.reset(); });
        return true;
      });
  if (killer.joinable()) killer.join();
  ASSERT_EQ(s.status, 200);
  auto saved = store_->get_message_tree(alice_.user_id, id);
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->messages.size(), 2u);
  EXPECT_EQ(saved->messages[1].role, store::MessageRole::kAssistant);
  EXPECT_EQ(saved->messages[1].content, s.text());
  // Not the user's stop: the server's shutdown interrupted it (and its writes, which run on the
  // caller once the pool has stopped, do not deadlock against the reply's own lock).
  EXPECT_EQ(saved->messages[1].status, store::MessageStatus::kInterrupted);
}

// One sequence at a time and one waiting: a third reply finds the engine's queue full.
class ConversationQueueFullTest : public ConversationApiFixture {
 protected:
  ConversationQueueFullTest() {
    max_running_ = 1;
    max_waiting_ = 1;
  }
};

TEST_F(ConversationQueueFullTest, AFullQueueIs429AndKeepsTheUserMessageForARetry) {
  const std::string busy = create_conversation();
  const std::string waiting = create_conversation();  // its own: busy's history grows as it streams
  const std::string other = create_conversation();
  const std::string path = "/api/conversations/" + busy + "/messages";
  Event running, queued;
  std::thread first([&] {
    stream(path, send_body("one", kLong), "alice", [&](const SseEvent& e) {
      if (e.event == "delta") running.set();
      return true;
    });
  });
  ASSERT_TRUE(running.wait(kPatience));
  Streamed refused;
  std::thread second([&] {
    Streamed s =
        stream("/api/conversations/" + waiting + "/messages", send_body("two", kLong), "alice", [&](const SseEvent& e) {
          if (e.event == "message") queued.set();  // sent once the engine accepted the request
          return true;
        });
    if (s.status != 200) {
      refused = s;
      queued.set();
    }
  });
  ASSERT_TRUE(queued.wait(kPatience));
  ASSERT_EQ(refused.status, 0) << refused.body;

  HttpResponse r = call("POST", "/api/conversations/" + other + "/messages", send_body("three"));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "1");
  const json::value t = tree(other);
  ASSERT_EQ(t.at("messages").as_array().size(), 1u);
  const std::string user(t.at("current_leaf_id").as_string());
  EXPECT_EQ(message(t, user).at("content"), "three");

  // Free the engine, then retry by regenerating on the unanswered user message.
  EXPECT_EQ(body_json(call("POST", "/api/conversations/" + busy + "/stop", {}, "alice", "")).at("stopped"), 1);
  EXPECT_EQ(body_json(call("POST", "/api/conversations/" + waiting + "/stop", {}, "alice", "")).at("stopped"), 1);
  first.join();
  second.join();
  Streamed retry =
      stream("/api/conversations/" + other + "/messages/" + user + "/regenerate", "{" + std::string(kGreedy) + "}");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.last("done").at("message").at("parent_id"), user.c_str());
}

// ---- auto_title ---------------------------------------------------------------------------------

TEST(AutoTitle, FirstNonBlankLineTrimmed) {
  EXPECT_EQ(auto_title("Hello"), "Hello");
  EXPECT_EQ(auto_title("  \n\r\n\t What is RoPE?  \nSecond line"), "What is RoPE?");
  EXPECT_EQ(auto_title("tab\tinside"), "tab inside");
  EXPECT_EQ(auto_title(""), "");
  EXPECT_EQ(auto_title(" \n \n"), "");
}

TEST(AutoTitle, LongLinesAreCutToSixtyCharactersOnACharacterBoundary) {
  const std::string sixty(60, 'a');
  EXPECT_EQ(auto_title(sixty), sixty);
  EXPECT_EQ(auto_title(sixty + "   \nmore"), sixty);
  EXPECT_EQ(auto_title(sixty + "b"), std::string(59, 'a') + "\u2026");
  // 2-, 3- and 4-byte characters count as one each and are never split.
  std::string cyrillic;
  for (int i = 0; i < 70; ++i) cyrillic += "\u0436";
  std::string expected;
  for (int i = 0; i < 59; ++i) expected += "\u0436";
  EXPECT_EQ(auto_title(cyrillic), expected + "\u2026");
  std::string emoji;
  for (int i = 0; i < 61; ++i) emoji += "\U0001F600";
  const std::string t = auto_title(emoji);
  EXPECT_EQ(t.size(), 59u * 4 + 3);
  EXPECT_TRUE(utf8_is_valid(t));
  // Spaces before the cut are not kept in front of the ellipsis.
  EXPECT_EQ(auto_title(std::string(58, 'a') + "   zzzz"), std::string(58, 'a') + "\u2026");
}

}  // namespace
}  // namespace parley::testing
