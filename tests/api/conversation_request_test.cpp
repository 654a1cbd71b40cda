// Parsing of the conversation API's request bodies and query strings, and its response shapes.
#include "api/conversation_request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/conversation_response.h"

namespace parley {
namespace {

namespace json = boost::json;

std::string param_of(const Status& st) {
  return std::string(st.detail("param"));
}

TEST(ConversationRequest, SendMessageFieldsAndDefaults) {
  auto r = parse_send_message(
      R"({"content":"Hi","temperature":0.5,"top_p":0.9,"max_tokens":12,"seed":3,"stop":["x"],"model":"m"})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->content, "Hi");
  EXPECT_FALSE(r->parent_id.has_value());
  EXPECT_EQ(r->reply.model, "m");
  EXPECT_EQ(r->reply.max_tokens, 12);
  EXPECT_EQ(r->reply.sampling.temperature, 0.5);
  EXPECT_EQ(r->reply.sampling.top_p, 0.9);
  EXPECT_EQ(r->reply.sampling.seed, 3);
  EXPECT_EQ(r->reply.sampling.stop, std::vector<std::string>{"x"});

  // null parent = not given; "" = a new root.
  EXPECT_FALSE(parse_send_message(R"({"content":"Hi","parent_id":null})")->parent_id.has_value());
  EXPECT_EQ(parse_send_message(R"({"content":"Hi","parent_id":""})")->parent_id, "");
  EXPECT_EQ(parse_send_message(R"({"content":"Hi","max_completion_tokens":7,"max_tokens":3})")->reply.max_tokens, 7);
}

TEST(ConversationRequest, SendMessageErrorsNameTheField) {
  EXPECT_EQ(param_of(parse_send_message("{}").status()), "content");
  EXPECT_EQ(param_of(parse_send_message(R"({"content":""})").status()), "content");
  EXPECT_EQ(param_of(parse_send_message(R"({"content":7})").status()), "content");
  EXPECT_EQ(param_of(parse_send_message(R"({"content":"x","parent_id":5})").status()), "parent_id");
  EXPECT_EQ(param_of(parse_send_message(R"({"content":"x","top_p":0})").status()), "top_p");
  EXPECT_EQ(param_of(parse_send_message(R"({"content":"x","model":[]})").status()), "model");
  ConversationLimits small;
  small.max_content_bytes = 3;
  EXPECT_TRUE(parse_send_message(R"({"content":"abc"})", small).ok());
  EXPECT_EQ(param_of(parse_send_message(R"({"content":"abcd"})", small).status()), "content");
  // Not JSON, not an object, too deep.
  EXPECT_FALSE(parse_send_message("content=hi").ok());
  EXPECT_FALSE(parse_send_message(R"(["content"])").ok());
  EXPECT_FALSE(parse_send_message(std::string(100, '[') + std::string(100, ']')).ok());
  // Invalid UTF-8 is refused by the JSON parser.
  EXPECT_FALSE(parse_send_message("{\"content\":\"\xff\"}").ok());
}

TEST(ConversationRequest, CreateUpdateRegenerateLeaf) {
  auto c = parse_create_conversation(R"({"title":"T","system_prompt":"S"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->title, "T");
  EXPECT_EQ(c->system_prompt, "S");
  EXPECT_FALSE(parse_create_conversation("{}")->system_prompt.has_value());
  EXPECT_FALSE(parse_create_conversation(R"({"system_prompt":""})")->system_prompt.has_value());
  EXPECT_EQ(param_of(parse_create_conversation(R"({"title":"a\u0000"})").status()), "title");

  auto u = parse_update_conversation(R"({"archived":true})");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->title.has_value());
  EXPECT_EQ(u->archived, true);
  EXPECT_EQ(parse_update_conversation(R"({"title":""})")->title, "");
  EXPECT_FALSE(parse_update_conversation("{}").ok());

  EXPECT_TRUE(parse_regenerate("").ok());
  EXPECT_TRUE(parse_regenerate("  \n").ok());
  EXPECT_EQ(parse_regenerate(R"({"model":"m","temperature":0})")->model, "m");
  EXPECT_EQ(param_of(parse_regenerate(R"({"temperature":"hot"})").status()), "temperature");

  EXPECT_EQ(parse_set_current_leaf(R"({"message_id":"msg_1"})")->message_id, "msg_1");
  EXPECT_EQ(param_of(parse_set_current_leaf(R"({"message_id":1})").status()), "message_id");
  EXPECT_EQ(param_of(parse_set_current_leaf(R"({"message_id":")" + std::string(100, 'm') + "\"}").status()),
            "message_id");
}

TEST(ConversationRequest, ListQuery) {
  auto q = parse_list_conversations(
      {{"limit", "20"}, {"offset", "40"}, {"q", "50%"}, {"include_archived", "true"}, {"x", "y"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->limit, 20);
  EXPECT_EQ(q->offset, 40);
  EXPECT_EQ(q->search, "50%");
  EXPECT_TRUE(q->include_archived);
  const auto d = parse_list_conversations({});
  EXPECT_EQ(d->limit, 50);
  EXPECT_EQ(d->offset, 0);
  EXPECT_FALSE(d->include_archived);
  for (const char* bad : {"0", "201", "-1", "1.5", "", "12abc", "99999999999999999999"}) {
    EXPECT_EQ(param_of(parse_list_conversations({{"limit", bad}}).status()), "limit") << bad;
  }
  EXPECT_EQ(param_of(parse_list_conversations({{"offset", "-3"}}).status()), "offset");
  EXPECT_EQ(param_of(parse_list_conversations({{"include_archived", "yes"}}).status()), "include_archived");
  EXPECT_EQ(param_of(parse_list_conversations({{"q", std::string(257, 'q')}}).status()), "q");
}

TEST(ConversationRequest, JsonContentType) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type(" application/json ;charset=UTF-8"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/json-seq"));
  EXPECT_FALSE(is_json_content_type("multipart/form-data; boundary=application/json"));
}

TEST(ConversationResponse, MessageAndConversationShapes) {
  MessageOut m;
  m.id = "msg_a";
  m.role = "assistant";
  m.content = "hi \"there\"";
  m.model = "tiny";
  m.created_at = 1700000000;
  m.finish_reason = "stopped";
  m.prompt_tokens = 10;
  m.completion_tokens = 3;
  m.children = std::vector<std::string>{"msg_b"};
  const json::value v = json::parse(message_json(m));
  EXPECT_TRUE(v.at("parent_id").is_null());
  EXPECT_EQ(v.at("content"), "hi \"there\"");
  EXPECT_EQ(v.at("finish_reason"), "stopped");
  EXPECT_FALSE(v.as_object().contains("error"));
  EXPECT_EQ(v.at("usage").at("total_tokens"), 13);
  EXPECT_EQ(v.at("children").as_array().size(), 1u);

  MessageOut user;
  user.id = "msg_u";
  user.parent_id = "msg_p";
  user.role = "user";
  const json::value u = json::parse(message_json(user));
  EXPECT_EQ(u.at("parent_id"), "msg_p");
  EXPECT_TRUE(u.at("model").is_null());
  EXPECT_FALSE(u.as_object().contains("usage"));
  EXPECT_FALSE(u.as_object().contains("finish_reason"));
  EXPECT_FALSE(u.as_object().contains("children"));

  ConversationOut c;
  c.id = "cnv_1";
  const json::value cv = json::parse(conversation_json(c));
  EXPECT_TRUE(cv.at("current_leaf_id").is_null());
  EXPECT_FALSE(cv.as_object().contains("model"));
  const json::value e = json::parse(error_event_json("boom", "server_error", "", &m));
  EXPECT_EQ(e.at("error").at("message"), "boom");
  EXPECT_EQ(e.at("message").at("id"), "msg_a");
}

TEST(ConversationResponse, ReplyMetadataRoundTripsAndToleratesJunk) {
  const ReplyMetadata m = parse_reply_metadata(reply_metadata_json({"error", "the engine failed"}));
  EXPECT_EQ(m.finish_reason, "error");
  EXPECT_EQ(m.error, "the engine failed");
  EXPECT_EQ(parse_reply_metadata("").finish_reason, "");
  EXPECT_EQ(parse_reply_metadata("not json").finish_reason, "");
  EXPECT_EQ(parse_reply_metadata(R"({"finish_reason":5})").finish_reason, "");
}

}  // namespace
}  // namespace parley
