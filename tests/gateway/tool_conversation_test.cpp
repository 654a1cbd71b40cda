// What OpenAI clients send after a tool call, through the API end to end with the built-in ChatML
// model: an assistant turn with tool_calls and content null, and the result as role "tool". The
// built-in template used to fail on it (a 400); now it is a 200, and the call and the result are
// in the prompt, and so are the tool definitions (chat/tool_prompt.h, docs/tools.md).
#include "accounts_fixture.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;

constexpr std::string_view kTools = R"([{"type": "function", "function": {"name": "get_weather",
    "description": "Get the weather in a city", "parameters": {"type": "object",
    "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])";

constexpr std::string_view kQuestion = R"({"role": "user", "content": "Weather in Paris?"})";

constexpr std::string_view kCallAndResult = R"({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
    "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "22 degrees"})";

std::string body(std::string_view messages, bool tools) {
  return R"({"model": "tiny", "max_tokens": 2, "temperature": 0, "messages": [)" + std::string(messages) + "]" +
         (tools ? R"(, "tools": )" + std::string(kTools) : std::string()) + "}";
}

std::int64_t prompt_tokens(const Reply& r) {
  return r.json.at("usage").at("prompt_tokens").as_int64();
}

TEST_F(AccountsTest, ToolCallsWithNullContentAndToolResultsRenderWithTheBuiltinTemplate) {
  start();
  const auto [id, key] = create_key(signup("u@example.com"));
  const std::string conversation = std::string(kQuestion) + ", " + std::string(kCallAndResult);
  const Reply plain = with_key(key, "POST", "/v1/chat/completions", body(kQuestion, false));
  ASSERT_EQ(plain.status, 200) << plain.body;
  const Reply round_trip = with_key(key, "POST", "/v1/chat/completions", body(conversation, false));
  ASSERT_EQ(round_trip.status, 200) << round_trip.body;
  // The built-in vocabulary is byte-level: the call and its result are in the prompt.
  EXPECT_GT(prompt_tokens(round_trip), prompt_tokens(plain) + 60);
  // Streamed too.
  const Reply streamed =
      with_key(key, "POST", "/v1/chat/completions", body(conversation, false).insert(1, R"("stream": true, )"));
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_NE(streamed.body.find("[DONE]"), std::string::npos) << streamed.body;
  // The tool definitions reach the prompt too: the built-in tool block (some 700 bytes) does not
  // fit the test model's context of 256 tokens.
  const Reply with_tools = with_key(key, "POST", "/v1/chat/completions", body(conversation, true));
  ASSERT_EQ(with_tools.status, 400) << with_tools.body;
  EXPECT_EQ(with_tools.error_code(), "context_length_exceeded");
}

}  // namespace
}  // namespace parley
