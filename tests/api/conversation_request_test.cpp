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

std::string fmt_settings(std::string_view settings) {
  return R"({"settings":)" + std::string(settings) + "}";
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

TEST(ConversationRequest, SettingsAreCheckedMergedAndCleared) {
  auto c = parse_create_conversation(
      R"({"settings":{"system_prompt":"Be brief.","temperature":0.7,"max_tokens":512,"model":"tiny"}})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->settings.system_prompt, std::optional<std::string>("Be brief."));
  EXPECT_EQ(c->settings.temperature, std::optional<double>(0.7));
  EXPECT_EQ(c->settings.max_tokens, std::optional<std::int64_t>(512));
  EXPECT_EQ(c->settings.model, std::optional<std::string>("tiny"));

  // PATCH: absent fields stay (nullopt), null and "" clear (a nullopt inside), values set.
  auto u = parse_update_conversation(R"({"settings":{"temperature":null,"system_prompt":"","max_tokens":1}})");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  ASSERT_TRUE(u->settings.has_value());
  EXPECT_FALSE(u->title.has_value());
  ASSERT_TRUE(u->settings->temperature.has_value());
  EXPECT_FALSE(u->settings->temperature->has_value());
  ASSERT_TRUE(u->settings->system_prompt.has_value());
  EXPECT_FALSE(u->settings->system_prompt->has_value());
  EXPECT_EQ(u->settings->max_tokens, std::optional<std::optional<std::int64_t>>(1));
  EXPECT_FALSE(u->settings->model.has_value());
  EXPECT_TRUE(parse_update_conversation(R"({"settings":{}})").ok());     // a no-op, but a valid one
  EXPECT_FALSE(parse_update_conversation(R"({"settings":null})").ok());  // null: not given, so nothing is

  // Errors name the nested field; unknown fields are refused, as everywhere in Parley's API.
  const auto bad = [](std::string_view settings) {
    return param_of(parse_update_conversation(fmt_settings(settings)).status());
  };
  EXPECT_EQ(bad(R"({"temperature":2.5})"), "settings.temperature");
  EXPECT_EQ(bad(R"({"temperature":-1})"), "settings.temperature");
  EXPECT_EQ(bad(R"({"temperature":"hot"})"), "settings.temperature");
  EXPECT_EQ(bad(R"({"max_tokens":0})"), "settings.max_tokens");
  EXPECT_EQ(bad(R"({"max_tokens":1.5})"), "settings.max_tokens");
  EXPECT_EQ(bad(R"({"model":7})"), "settings.model");
  EXPECT_EQ(bad(R"({"model":")" + std::string(257, 'm') + "\"}"), "settings.model");
  EXPECT_EQ(bad(R"({"system_prompt":"a\u0000b"})"), "settings.system_prompt");
  EXPECT_EQ(bad(R"({"top_p":1})"), "settings.top_p");
  EXPECT_EQ(param_of(parse_update_conversation(R"({"settings":[]})").status()), "settings");
  EXPECT_EQ(param_of(parse_create_conversation(R"({"settings":"x"})").status()), "settings");
  ConversationLimits small;
  small.max_content_bytes = 3;
  EXPECT_TRUE(parse_update_conversation(R"({"settings":{"system_prompt":"abc"}})", small).ok());
  EXPECT_EQ(param_of(parse_update_conversation(R"({"settings":{"system_prompt":"abcd"}})", small).status()),
            "settings.system_prompt");
}

TEST(ConversationRequest, ExportQuery) {
  EXPECT_EQ(*parse_export_query({}), ExportFormat::kMarkdown);
  EXPECT_EQ(*parse_export_query({{"format", "json"}}), ExportFormat::kJson);
  EXPECT_EQ(*parse_export_query({{"format", "markdown"}}), ExportFormat::kMarkdown);
  EXPECT_EQ(param_of(parse_export_query({{"format", "pdf"}}).status()), "format");
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

TEST(ConversationResponse, SettingsUsageSharesAndModels) {
  ConversationOut c;
  c.id = "cnv_1";
  const json::value plain = json::parse(conversation_json(c));
  EXPECT_EQ(plain.at("settings"), json::object());  // always there; empty when nothing is set
  EXPECT_FALSE(plain.as_object().contains("usage"));
  c.settings.temperature = 0.7;
  c.settings.model = "tiny";
  c.usage = UsageOut{2, 30, 12, 1500};
  const json::value v = json::parse(conversation_json(c));
  EXPECT_EQ(v.at("settings"), json::parse(R"({"temperature":0.7,"model":"tiny"})"));
  EXPECT_EQ(v.at("usage"), json::parse(R"({"requests":2,"prompt_tokens":30,"completion_tokens":12,"total_tokens":42,
                                           "cost_micros":1500,"cost":0.0015})"));

  ShareOut s{"shr_1", "cnv_1", "Trip", "tok", 4, 1700000000, std::nullopt};
  EXPECT_EQ(json::parse(share_json(s)),
            json::parse(R"({"id":"shr_1","object":"share","conversation_id":"cnv_1","title":"Trip","url":"/share/tok",
                            "token":"tok","message_count":4,"created_at":1700000000,"revoked_at":null})"));
  s.revoked_at = 1700000001;
  const json::value list = json::parse(share_list_json({s}));
  EXPECT_EQ(list.at("object"), "list");
  EXPECT_EQ(list.at("data").at(0).at("revoked_at"), 1700000001);

  const json::value shared = json::parse(
      shared_conversation_json("Trip", 1700000000, {{"user", "hi", "", 1}, {"assistant", "yo", "tiny", 2}}));
  EXPECT_EQ(shared, json::parse(R"({"object":"shared_conversation","title":"Trip","created_at":1700000000,"messages":[
      {"role":"user","content":"hi","model":null,"created_at":1},
      {"role":"assistant","content":"yo","model":"tiny","created_at":2}]})"));

  const json::value models = json::parse(ui_model_list_json({{"parley-demo", 2048, true, "parley"}}));
  EXPECT_EQ(models, json::parse(R"({"object":"list","data":[{"id":"parley-demo","object":"model",
                                    "context_length":2048,"demo":true,"owned_by":"parley"}]})"));
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
