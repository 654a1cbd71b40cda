// response_format through the OpenAI API end to end (gateway/structured_output.h): with the
// random-weight test model, every reply is JSON of the requested shape and ends with "stop" once
// the value is complete, streamed or not, on chat and completions; "length" only when max_tokens
// runs out; a schema the compiler refuses in strict mode is a 400 naming the keyword.
#include "accounts_fixture.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
namespace json = boost::json;

// Every field bounded, so that a model with random weights finishes well within the test
// model's context of 256 tokens.
constexpr std::string_view kSchema = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 8},
    "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "mood": {"enum": ["happy", "sad", null]},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
    "ok": {"type": "boolean"}},
  "required": ["name", "age", "mood", "tags", "ok"], "additionalProperties": false})";

std::string format(std::string_view schema, bool strict = true) {
  return R"("response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": )" +
         std::string(strict ? "true" : "false") + R"(, "schema": )" + std::string(schema) + "}}";
}

std::string chat_body(const std::string& extra, int seed, bool stream = false, int max_tokens = 200) {
  return R"({"model": "tiny", "messages": [{"role": "user", "content": "Describe someone."}], "max_tokens": )" +
         std::to_string(max_tokens) + R"(, "seed": )" + std::to_string(seed) + (stream ? R"(, "stream": true)" : "") +
         ", " + extra + "}";
}

// The checks a validator would make for kSchema.
void expect_person(const std::string& text) {
  json::error_code ec;
  const json::value v = json::parse(text, ec);
  ASSERT_FALSE(ec) << "not JSON: " << text;
  ASSERT_TRUE(v.is_object()) << text;
  const json::object& o = v.as_object();
  EXPECT_EQ(o.size(), 5u) << text;
  ASSERT_TRUE(o.contains("name") && o.at("name").is_string()) << text;
  EXPECT_LE(o.at("name").as_string().size(), 8u * 4) << text;
  ASSERT_TRUE(o.contains("age") && o.at("age").is_int64()) << text;
  EXPECT_GE(o.at("age").as_int64(), 0) << text;
  EXPECT_LE(o.at("age").as_int64(), 120) << text;
  ASSERT_TRUE(o.contains("mood")) << text;
  EXPECT_TRUE(o.at("mood").is_null() || o.at("mood") == "happy" || o.at("mood") == "sad") << text;
  ASSERT_TRUE(o.contains("tags") && o.at("tags").is_array()) << text;
  EXPECT_LE(o.at("tags").as_array().size(), 2u) << text;
  ASSERT_TRUE(o.contains("ok") && o.at("ok").is_bool()) << text;
}

// The content and the last finish_reason of an SSE chat or completion stream.
std::pair<std::string, std::string> read_stream(const std::string& body, bool chat) {
  std::string text, finish;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find('\n', pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") break;
    const json::value v = json::parse(data);
    for (const json::value& c : v.at("choices").as_array()) {
      const json::value* piece = chat ? c.at("delta").as_object().if_contains("content") : &c.at("text");
      if (piece != nullptr && piece->is_string()) text += piece->as_string();
      if (c.at("finish_reason").is_string()) finish = std::string(c.at("finish_reason").as_string());
    }
  }
  return {text, finish};
}

TEST_F(AccountsTest, JsonSchemaRepliesAreCompleteAndValid) {
  start();
  const auto [id, key] = create_key(signup("u@example.com"));
  for (int seed = 1; seed <= 6; ++seed) {
    const Reply r = with_key(key, "POST", "/v1/chat/completions", chat_body(format(kSchema), seed));
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value& choice = r.json.at("choices").at(0);
    EXPECT_EQ(choice.at("finish_reason"), "stop") << r.body;
    expect_person(std::string(choice.at("message").at("content").as_string()));
  }
}

TEST_F(AccountsTest, JsonSchemaStreamedAndOnCompletions) {
  start();
  const auto [id, key] = create_key(signup("u@example.com"));
  for (int seed = 1; seed <= 3; ++seed) {
    const Reply r = with_key(key, "POST", "/v1/chat/completions", chat_body(format(kSchema), seed, true));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto [text, finish] = read_stream(r.body, true);
    EXPECT_EQ(finish, "stop") << r.body;
    expect_person(text);
  }
  for (const bool stream : {false, true}) {
    const std::string body = R"({"model": "tiny", "prompt": "A person:", "max_tokens": 200, "seed": 5, "n": 2, )" +
                             std::string(stream ? R"("stream": true, )" : "") + format(kSchema) + "}";
    const Reply r = with_key(key, "POST", "/v1/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    if (stream) {
      const auto [text, finish] = read_stream(r.body, false);  // both choices interleaved: check the finish only
      EXPECT_EQ(finish, "stop") << r.body;
      continue;
    }
    for (const json::value& c : r.json.at("choices").as_array()) {
      EXPECT_EQ(c.at("finish_reason"), "stop") << r.body;
      expect_person(std::string(c.at("text").as_string()));
    }
  }
}

TEST_F(AccountsTest, JsonObjectStartsAnObjectAndLengthMeansMaxTokens) {
  start();
  const auto [id, key] = create_key(signup("u@example.com"));
  // Cut short by max_tokens: "length", and the text is the beginning of an object.
  const Reply r = with_key(key, "POST", "/v1/chat/completions",
                           chat_body(R"("response_format": {"type": "json_object"})", 1, false, 4));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("choices").at(0).at("finish_reason"), "length");
  const std::string text(r.json.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(text.find_first_not_of(" \n\t"), text.find('{')) << text;
  // A one-property schema completes: an object, then "stop" (no end-of-generation token needed).
  const Reply small = with_key(key, "POST", "/v1/chat/completions",
                               chat_body(format(R"({"type": "object", "properties": {"b": {"type": "boolean"}},
                                                     "required": ["b"]})"),
                                         2));
  ASSERT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(small.json.at("choices").at(0).at("finish_reason"), "stop");
  const json::value v = json::parse(small.json.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_TRUE(v.at("b").is_bool());
}

TEST_F(AccountsTest, UnsupportedKeywordsAreErrorsOnlyWhenStrict) {
  start();
  const auto [id, key] = create_key(signup("u@example.com"));
  const std::string schema = R"({"type": "object", "properties": {"age": {"type": "integer", "multipleOf": 5}},
                                 "required": ["age"]})";
  for (const char* path : {"/v1/chat/completions", "/v1/completions"}) {
    const std::string body = std::string(path) == "/v1/completions"
                                 ? R"({"model": "tiny", "prompt": "x", "max_tokens": 30, )" + format(schema) + "}"
                                 : chat_body(format(schema), 1, false, 30);
    const Reply strict = with_key(key, "POST", path, body);
    ASSERT_EQ(strict.status, 400) << strict.body;
    EXPECT_EQ(strict.json.at("error").at("param"), "response_format");
    const std::string message(strict.json.at("error").at("message").as_string());
    EXPECT_NE(message.find("/properties/age/multipleOf"), std::string::npos) << message;
    EXPECT_NE(message.find("multipleOf"), std::string::npos) << message;
  }
  const Reply lenient = with_key(key, "POST", "/v1/chat/completions", chat_body(format(schema, false), 1, false, 60));
  ASSERT_EQ(lenient.status, 200) << lenient.body;
  // A schema that is not a schema, and a malformed format, are 400 too.
  const Reply bad = with_key(key, "POST", "/v1/chat/completions", chat_body(format(R"({"type": "strin"})"), 1));
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json.at("error").at("param"), "response_format");
  const Reply wrong =
      with_key(key, "POST", "/v1/chat/completions", chat_body(R"("response_format": {"type": "xml"})", 1));
  ASSERT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_EQ(wrong.json.at("error").at("param"), "response_format.type");
}

}  // namespace
}  // namespace parley
