// response_format, tools, tool_choice, parallel_tool_calls and reasoning_format (api/openai_structured.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/openai_request.h"

namespace parley {
namespace {

std::string chat_body(std::string_view extra) {
  return std::string(R"({"model": "m", "messages": [{"role": "user", "content": "x"}])") + (extra.empty() ? "" : ", ") +
         std::string(extra) + "}";
}

constexpr std::string_view kTwoTools =
    R"("tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}},
       {"type": "function", "function": {"name": "now"}}])";

TEST(ResponseFormat, TextJsonObjectAndJsonSchema) {
  auto none = parse_chat_completion_request(chat_body(""));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->response_format.has_value());

  auto text = parse_chat_completion_request(chat_body(R"("response_format": {"type": "text"})"));
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  ASSERT_TRUE(text->response_format.has_value());
  EXPECT_EQ(text->response_format->type, ResponseFormat::Type::kText);

  auto object = parse_chat_completion_request(chat_body(R"("response_format": {"type": "json_object"})"));
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->response_format->type, ResponseFormat::Type::kJsonObject);

  auto schema = parse_chat_completion_request(chat_body(R"("response_format": {"type": "json_schema",
      "json_schema": {"name": "person-1", "strict": true, "description": "ignored",
                      "schema": {"type": "object", "properties": {"age": {"type": "integer"}}}}})"));
  ASSERT_TRUE(schema.ok()) << schema.status().to_string();
  const ResponseFormat& f = *schema->response_format;
  EXPECT_EQ(f.type, ResponseFormat::Type::kJsonSchema);
  EXPECT_EQ(f.name, "person-1");
  EXPECT_TRUE(f.strict);
  EXPECT_EQ(boost::json::parse(f.schema_json),
            boost::json::parse(R"({"type": "object", "properties": {"age": {"type": "integer"}}})"));

  // Without a schema (any JSON object, as json_object), and a boolean schema.
  auto no_schema = parse_chat_completion_request(
      chat_body(R"("response_format": {"type": "json_schema", "json_schema": {"name": "x"}})"));
  ASSERT_TRUE(no_schema.ok());
  EXPECT_TRUE(no_schema->response_format->schema_json.empty());
  EXPECT_FALSE(no_schema->response_format->strict);
  auto boolean = parse_chat_completion_request(
      chat_body(R"("response_format": {"type": "json_schema", "json_schema": {"schema": true}})"));
  ASSERT_TRUE(boolean.ok());
  EXPECT_EQ(boolean->response_format->schema_json, "true");

  // Completions take it too.
  auto completion =
      parse_completion_request(R"({"model": "m", "prompt": "x", "response_format": {"type": "json_object"}})");
  ASSERT_TRUE(completion.ok());
  ASSERT_TRUE(completion->response_format.has_value());
  EXPECT_EQ(completion->response_format->type, ResponseFormat::Type::kJsonObject);
}

TEST(Tools, ParsedIntoDefinitions) {
  auto r = parse_chat_completion_request(chat_body(kTwoTools));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->tools.size(), 2u);
  EXPECT_EQ(r->tools[0].name, "get_weather");
  EXPECT_EQ(r->tools[0].description, "Weather.");
  EXPECT_TRUE(r->tools[0].strict);
  EXPECT_EQ(boost::json::parse(r->tools[0].parameters_json),
            boost::json::parse(R"({"type": "object", "properties": {"city": {"type": "string"}}})"));
  EXPECT_EQ(r->tools[1].name, "now");
  EXPECT_EQ(r->tools[1].parameters_json, "{}");
  EXPECT_FALSE(r->tools[1].strict);
  EXPECT_FALSE(r->tools_json.empty());                      // the chat template still gets them
  EXPECT_EQ(r->tool_choice.mode, ToolChoice::Mode::kAuto);  // the default with tools
  EXPECT_TRUE(r->parallel_tool_calls);
  EXPECT_EQ(r->reasoning_format, ChatCompletionRequest::ReasoningFormat::kSeparate);

  auto plain = parse_chat_completion_request(chat_body(R"("tools": [])"));
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->tools.empty());
  EXPECT_TRUE(plain->tools_json.empty());
  EXPECT_EQ(plain->tool_choice.mode, ToolChoice::Mode::kNone);  // the default without tools
}

TEST(Tools, ToolChoiceParallelCallsAndReasoningFormat) {
  const std::string tools(kTwoTools);
  struct Case {
    std::string extra;
    ToolChoice::Mode mode;
    std::string function;
  };
  const Case cases[] = {
      {tools + R"(, "tool_choice": "none")", ToolChoice::Mode::kNone, ""},
      {tools + R"(, "tool_choice": "auto")", ToolChoice::Mode::kAuto, ""},
      {tools + R"(, "tool_choice": "required")", ToolChoice::Mode::kRequired, ""},
      {tools + R"(, "tool_choice": {"type": "function", "function": {"name": "now"}})", ToolChoice::Mode::kFunction,
       "now"},
      {R"("tool_choice": "auto")", ToolChoice::Mode::kNone, ""},  // nothing to call
      {R"("tool_choice": "none")", ToolChoice::Mode::kNone, ""},
  };
  for (const Case& c : cases) {
    auto r = parse_chat_completion_request(chat_body(c.extra));
    ASSERT_TRUE(r.ok()) << c.extra << ": " << r.status().to_string();
    EXPECT_EQ(r->tool_choice.mode, c.mode) << c.extra;
    EXPECT_EQ(r->tool_choice.function, c.function) << c.extra;
  }
  auto r = parse_chat_completion_request(
      chat_body(tools + R"(, "parallel_tool_calls": false, "reasoning_format": "inline")"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->parallel_tool_calls);
  EXPECT_EQ(r->reasoning_format, ChatCompletionRequest::ReasoningFormat::kInline);
}

TEST(StructuredFields, ErrorsNameTheParameter) {
  const std::string tools(kTwoTools);
  struct Case {
    std::string extra;
    const char* param;
  };
  const Case cases[] = {
      {R"("response_format": "json")", "response_format"},
      {R"("response_format": {})", "response_format.type"},
      {R"("response_format": {"type": "yaml"})", "response_format.type"},
      {R"("response_format": {"type": "json_schema"})", "response_format.json_schema"},
      {R"("response_format": {"type": "json_schema", "json_schema": []})", "response_format.json_schema"},
      {R"("response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}})",
       "response_format.json_schema.name"},
      {R"("response_format": {"type": "json_schema", "json_schema": {"schema": "{}"}})",
       "response_format.json_schema.schema"},
      {R"("response_format": {"type": "json_schema", "json_schema": {"schema": {}, "strict": "yes"}})",
       "response_format.json_schema.strict"},
      {R"("tools": {})", "tools"},
      {R"("tools": [{"type": "code_interpreter"}])", "tools[0].type"},
      {R"("tools": [{"type": "function"}])", "tools[0].function"},
      {R"("tools": [{"type": "function", "function": {}}])", "tools[0].function.name"},
      {R"("tools": [{"type": "function", "function": {"name": "a.b"}}])", "tools[0].function.name"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "parameters": []}}])",
       "tools[0].function.parameters"},
      {R"("tools": [{"type": "function", "function": {"name": "f", "description": 1}}])",
       "tools[0].function.description"},
      {R"("tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}])",
       "tools[1].function.name"},
      {tools + R"(, "tool_choice": "sometimes")", "tool_choice"},
      {tools + R"(, "tool_choice": 1)", "tool_choice"},
      {tools + R"(, "tool_choice": {"type": "function", "function": {"name": "missing"}})",
       "tool_choice.function.name"},
      {tools + R"(, "tool_choice": {"type": "function"})", "tool_choice.function"},
      {tools + R"(, "tool_choice": {"type": "retrieval"})", "tool_choice.type"},
      {R"("tool_choice": "required")", "tool_choice"},
      {R"("tool_choice": {"type": "function", "function": {"name": "f"}})", "tool_choice.function.name"},
      {tools + R"(, "parallel_tool_calls": 1)", "parallel_tool_calls"},
      {R"("reasoning_format": "hidden")", "reasoning_format"},
  };
  for (const Case& c : cases) {
    auto r = parse_chat_completion_request(chat_body(c.extra));
    ASSERT_FALSE(r.ok()) << c.extra;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << c.extra;
    EXPECT_EQ(r.status().detail("param"), c.param) << c.extra << " -> " << r.status().message();
  }
  auto completion = parse_completion_request(R"({"model": "m", "prompt": "x", "response_format": {"type": "xml"}})");
  ASSERT_FALSE(completion.ok());
  EXPECT_EQ(completion.status().detail("param"), "response_format.type");
}

}  // namespace
}  // namespace parley
