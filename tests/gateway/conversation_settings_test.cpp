// Per-conversation settings over HTTP (stored, merged, checked, shown on every conversation, used
// as defaults that a request's own fields override) and the usage of a conversation's replies in
// the tree and in the done event.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "conversation_test_util.h"

namespace parley::testing {
namespace {

using ConversationSettingsTest = ConversationApiFixture;

std::string send_body(std::string_view content, std::string_view extra) {
  return fmt::format(R"({{"content":{}{}{}}})", json::serialize(json::string(content)), extra.empty() ? "" : ",",
                     extra);
}

std::string param_of(const json::value& error) {
  const json::value& p = error.at("error").at("param");
  return p.is_string() ? std::string(p.as_string()) : "";
}

TEST_F(ConversationSettingsTest, SettingsAreStoredMergedAndShownOnEveryConversation) {
  HttpResponse r =
      call("POST", "/api/conversations", R"({"title":"t","settings":{"system_prompt":"Be brief.","temperature":0.7}})");
  ASSERT_EQ(r.status, 201) << r.body;
  const json::value created = body_json(r);
  EXPECT_EQ(created.at("settings"), json::parse(R"({"system_prompt":"Be brief.","temperature":0.7})"));
  const std::string id(created.at("id").as_string());

  // PATCH merges: given fields change, null and "" clear, absent fields stay.
  r = call("PATCH", "/api/conversations/" + id, R"({"settings":{"temperature":null,"max_tokens":64,"model":"tiny"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value merged = json::parse(R"({"system_prompt":"Be brief.","max_tokens":64,"model":"tiny"})");
  EXPECT_EQ(body_json(r).at("settings"), merged);
  EXPECT_EQ(body_json(r).at("title"), "t");
  EXPECT_EQ(tree(id).at("conversation").at("settings"), merged);
  const json::value list = body_json(call("GET", "/api/conversations"));
  EXPECT_EQ(list.at("data").at(0).at("settings"), merged);
  r = call("PATCH", "/api/conversations/" + id, R"({"title":"renamed","settings":{"system_prompt":""}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r).at("settings"), json::parse(R"({"max_tokens":64,"model":"tiny"})"));
  EXPECT_EQ(body_json(r).at("title"), "renamed");
  // A conversation without settings shows an empty object.
  const std::string plain = create_conversation();
  EXPECT_EQ(tree(plain).at("conversation").at("settings"), json::object());
}

TEST_F(ConversationSettingsTest, BadSettingsAreRefusedNamingTheFieldAndChangeNothing) {
  const std::string id = create_conversation(R"({"settings":{"max_tokens":5}})");
  const auto patch = [&](std::string_view body) {
    HttpResponse r = call("PATCH", "/api/conversations/" + id, std::string(body));
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    return param_of(body_json(r));
  };
  EXPECT_EQ(patch(R"({"settings":{"temperature":3}})"), "settings.temperature");
  EXPECT_EQ(patch(R"({"settings":{"max_tokens":0}})"), "settings.max_tokens");
  EXPECT_EQ(patch(R"({"settings":{"model":false}})"), "settings.model");
  EXPECT_EQ(patch(R"({"settings":{"system_prompt":"a\u0000"}})"), "settings.system_prompt");
  EXPECT_EQ(patch(R"({"settings":{"system_prompt":")" + std::string(5000, 's') + "\"}}"), "settings.system_prompt");
  EXPECT_EQ(patch(R"({"settings":{"temprature":1}})"), "settings.temprature");  // a typo is not ignored
  EXPECT_EQ(patch(R"({"settings":"x"})"), "settings");
  EXPECT_EQ(patch(R"({"setting":{}})"), "setting");
  EXPECT_EQ(tree(id).at("conversation").at("settings"), json::parse(R"({"max_tokens":5})"));
  // Another user's conversation is not found, and stays as it was.
  HttpResponse bob = call("PATCH", "/api/conversations/" + id, R"({"settings":{"max_tokens":9}})", "bob");
  EXPECT_EQ(bob.status, 404);
  EXPECT_EQ(tree(id).at("conversation").at("settings"), json::parse(R"({"max_tokens":5})"));
}

TEST_F(ConversationSettingsTest, MaxTokensAndTemperatureAreDefaultsTheRequestOverrides) {
  const std::string id = create_conversation(R"({"settings":{"temperature":0,"max_tokens":4}})");
  const std::string path = "/api/conversations/" + id + "/messages";
  Streamed first = stream(path, send_body("Hello", R"("ignore_eos":true)"));
  ASSERT_EQ(first.status, 200) << first.body;
  const json::value done = first.last("done");
  ASSERT_FALSE(done.is_null()) << first.events.size();
  EXPECT_EQ(done.at("message").at("usage").at("completion_tokens"), 4);  // the settings' max_tokens
  EXPECT_EQ(done.at("conversation").at("settings").at("temperature").to_number<double>(), 0.0);
  EXPECT_EQ(done.at("conversation").at("settings").at("max_tokens"), 4);
  const std::string answer(done.at("message").at("id").as_string());
  const std::string regen = "/api/conversations/" + id + "/messages/" + answer + "/regenerate";
  // Temperature 0 from the settings: regenerating gives the same answer again.
  Streamed again = stream(regen, R"({"ignore_eos":true})");
  ASSERT_FALSE(again.last("done").is_null()) << again.body;
  EXPECT_EQ(again.last("done").at("message").at("content"), done.at("message").at("content"));
  // The request's own fields win: max_tokens 6, and temperature 2 with two seeds gives two answers.
  Streamed hot1 = stream(regen, R"({"ignore_eos":true,"max_tokens":6,"temperature":2,"seed":1})");
  Streamed hot2 = stream(regen, R"({"ignore_eos":true,"max_tokens":6,"temperature":2,"seed":2})");
  ASSERT_FALSE(hot1.last("done").is_null() || hot2.last("done").is_null());
  EXPECT_EQ(hot1.last("done").at("message").at("usage").at("completion_tokens"), 6);
  EXPECT_NE(hot1.text(), hot2.text());
}

TEST_F(ConversationSettingsTest, AMaxTokensSettingBeyondTheContextIsACeilingNotAnError) {
  const std::string id = create_conversation(R"({"settings":{"max_tokens":1000000}})");
  std::thread stopper;
  Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Hello", R"("ignore_eos":true)"), "alice",
                      [&](const SseEvent& e) {
                        if (e.event == "delta" && !stopper.joinable()) {
                          stopper =
                              std::thread([&] { call("POST", "/api/conversations/" + id + "/stop", {}, "alice", ""); });
                        }
                        return true;
                      });
  if (stopper.joinable()) stopper.join();
  ASSERT_EQ(s.status, 200) << s.body;  // not 400 context_length_exceeded
  ASSERT_FALSE(s.last("done").is_null());
  // A request's own max_tokens that does not fit is still refused, as on /v1.
  HttpResponse r = call("POST", "/api/conversations/" + id + "/messages", send_body("Hi", R"("max_tokens":1000000)"));
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(ConversationSettingsTest, TheSystemPromptLeadsUnlessTheConversationHasItsOwn) {
  // The prompt's length tells whether the system prompt was sent (usage.prompt_tokens).
  const auto prompt_tokens = [&](const std::string& id) {
    Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Hello", R"("max_tokens":1)"));
    const json::value done = s.last("done");
    EXPECT_FALSE(done.is_null()) << s.body;
    return done.is_null() ? -1 : done.at("message").at("usage").at("prompt_tokens").as_int64();
  };
  const std::int64_t bare = prompt_tokens(create_conversation());
  const std::int64_t with_setting =
      prompt_tokens(create_conversation(R"({"settings":{"system_prompt":"You are a pirate captain."}})"));
  EXPECT_GT(with_setting, bare + 5);
  const std::int64_t own = prompt_tokens(create_conversation(R"({"system_prompt":"Be terse."})"));
  const std::int64_t own_and_setting = prompt_tokens(
      create_conversation(R"({"system_prompt":"Be terse.","settings":{"system_prompt":"You are a pirate captain."}})"));
  EXPECT_EQ(own_and_setting, own);
  // It is not stored as a message: the tree holds what the user sent and what was answered.
  const std::string id = create_conversation(R"({"settings":{"system_prompt":"You are a pirate captain."}})");
  prompt_tokens(id);
  const json::value t = tree(id);
  EXPECT_EQ(t.at("messages").as_array().size(), 2u);
  for (const json::value& m : t.at("messages").as_array()) EXPECT_NE(m.at("role"), "system");
}

TEST_F(ConversationSettingsTest, TheSettingsModelIsUsedWhileItIsServed) {
  const std::string gone = create_conversation(R"({"settings":{"model":"retired-model"}})");
  Streamed s = stream("/api/conversations/" + gone + "/messages", send_body("Hello", R"("max_tokens":1)"));
  ASSERT_FALSE(s.last("done").is_null()) << s.body;
  EXPECT_EQ(s.last("done").at("message").at("model"), "tiny");
  const std::string set = create_conversation(R"({"settings":{"model":"tiny"}})");
  s = stream("/api/conversations/" + set + "/messages", send_body("Hello", R"("max_tokens":1)"));
  ASSERT_FALSE(s.last("done").is_null()) << s.body;
  EXPECT_EQ(s.last("done").at("message").at("model"), "tiny");
  // A model the request names must be served.
  HttpResponse r =
      call("POST", "/api/conversations/" + set + "/messages", send_body("Hello", R"("model":"retired-model")"));
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(ConversationSettingsTest, TheTreeAndTheDoneEventCarryTheConversationsUsage) {
  const std::string id = create_conversation();
  const std::string path = "/api/conversations/" + id + "/messages";
  Streamed one = stream(path, send_body("Hello", R"("max_tokens":3,"ignore_eos":true)"));
  const json::value d1 = one.last("done");
  ASSERT_FALSE(d1.is_null()) << one.body;
  const json::value& m1 = d1.at("message").at("usage");
  const json::value& u1 = d1.at("conversation").at("usage");
  EXPECT_EQ(u1.at("requests"), 1);
  EXPECT_EQ(u1.at("prompt_tokens"), m1.at("prompt_tokens"));
  EXPECT_EQ(u1.at("completion_tokens"), 3);
  EXPECT_EQ(u1.at("total_tokens").as_int64(), m1.at("total_tokens").as_int64());
  EXPECT_EQ(u1.at("cost_micros").as_int64(), m1.at("total_tokens").as_int64());  // the fixture's price
  Streamed two = stream(path, send_body("Again", R"("max_tokens":2,"ignore_eos":true)"));
  const json::value d2 = two.last("done");
  ASSERT_FALSE(d2.is_null()) << two.body;
  const json::value& u2 = d2.at("conversation").at("usage");
  EXPECT_EQ(u2.at("requests"), 2);
  EXPECT_EQ(u2.at("completion_tokens"), 5);
  EXPECT_EQ(u2.at("prompt_tokens").as_int64(),
            m1.at("prompt_tokens").as_int64() + d2.at("message").at("usage").at("prompt_tokens").as_int64());
  EXPECT_EQ(tree(id).at("conversation").at("usage"), u2);
  // Every usage row named this conversation.
  for (const UsageCall& u : usage()) EXPECT_EQ(u.conversation_id, id);
  // Another conversation has its own (none yet); lists may leave usage out.
  EXPECT_EQ(tree(create_conversation()).at("conversation").at("usage").at("requests"), 0);
  EXPECT_FALSE(body_json(call("GET", "/api/conversations")).at("data").at(0).as_object().contains("usage"));
}

// The demo vocabulary's token 0 is the byte 0x00, and models emit byte tokens such as <0x00> and
// ESC: the reply is saved without them (before, the store refused the NUL and the reply was lost).
TEST_F(ConversationSettingsTest, RepliesWithControlBytesAreSavedWithoutThem) {
  const Tokenizer& tok = model().tokenizer();
  ASSERT_EQ(tok.token_piece(0, false), std::string(1, '\0'));
  const auto id_of = [&](std::string_view text) {
    const auto ids = tok.encode(text, {.add_special = false});
    EXPECT_EQ(ids.size(), 1u) << text;
    return ids.empty() ? -1 : ids[0];
  };
  const std::string bias =
      fmt::format(R"("logit_bias":{{"0":100,"{}":100,"{}":100,"{}":100}})", id_of("a"), id_of("\x1b"), id_of("\t"));
  const std::string id = create_conversation();
  Streamed s = stream("/api/conversations/" + id + "/messages",
                      send_body("Hello", bias + R"(,"max_tokens":24,"ignore_eos":true,"seed":1)"));
  ASSERT_EQ(s.status, 200) << s.body;
  ASSERT_TRUE(s.last("error").is_null()) << json::serialize(s.last("error"));
  const json::value done = s.last("done");
  ASSERT_FALSE(done.is_null());
  const std::string content(done.at("message").at("content").as_string());
  EXPECT_EQ(done.at("message").at("usage").at("completion_tokens"), 24);
  EXPECT_FALSE(content.empty());
  EXPECT_EQ(content.find_first_not_of("a\t"), std::string::npos) << json::serialize(json::string(content));
  EXPECT_EQ(s.text(), content);  // what was streamed is what was saved
  const json::value t = tree(id);
  EXPECT_EQ(message(t, done.at("message").at("id").as_string()).at("content"), content.c_str());
}

}  // namespace
}  // namespace parley::testing
