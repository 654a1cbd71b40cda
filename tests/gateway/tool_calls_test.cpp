// Tools, tool_choice and reasoning through /v1/chat/completions end to end
// (gateway/tool_calling.h), with random-weight models of two template families: the built-in
// ChatML (Parley's Hermes-style <tool_call> format) and a template that reads `tools` with no
// family markers (generic JSON) and opens <think> in its generation prompt. Whatever the weights,
// required and named tool_choice return valid calls whose arguments satisfy the schemas, parallel
// calls have distinct indexes, and streamed and non-streamed replies agree.
#include <map>

#include "accounts_fixture.h"
#include "api/conversation_response.h"
#include "gateway/conversation_reply.h"
#include "synth_shapes.h"
#include "tokenizer/vocab.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
namespace json = boost::json;

constexpr std::string_view kThinkTemplate =
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if tools %}<|im_start|>system\nYou may call tools.<|im_end|>\n{% endif %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}";

// Bounded so that a random model finishes a call well within max_tokens (one token per byte).
constexpr std::string_view kTools = R"("tools": [
  {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 8},
                   "unit": {"enum": ["c", "f"]}}, "required": ["city", "unit"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "get_time",
    "parameters": {"type": "object", "properties": {"tz": {"type": "integer", "minimum": -12, "maximum": 14}},
                   "required": ["tz"], "additionalProperties": false}}}])";

class ToolCallsTest : public AccountsTest {
 protected:
  static void SetUpTestSuite() {
    AccountsTest::SetUpTestSuite();
    for (const std::string kind : {"tools", "think", "trigger"}) {
      auto md = builtin_vocab_metadata("bytes");
      ASSERT_TRUE(md.ok());
      if (kind == "think") md->emplace_back("tokenizer.chat_template", GgufValue::string(std::string(kThinkTemplate)));
      // As Qwen 2.5 adds them to the Qwen 2 vocabulary: the call markers as tokens of their own,
      // so "auto" has a trigger (kTriggerToken).
      if (kind == "trigger") {
        ASSERT_TRUE(
            add_vocab_tokens(*md, {"<tool_call>", "</tool_call>"}, static_cast<std::int32_t>(TokenType::kUserDefined))
                .ok());
      }
      const SynthOptions o = testing::one_layer_synth(2048);
      const std::string path = (model_dir_ / (kind + ".gguf")).string();
      ASSERT_TRUE(synth_model(o, *md, path).ok());
      (kind == "tools" ? tools_path_ : kind == "think" ? think_path_ : trigger_path_) = path;
    }
  }

  // Serves the model at `path` (its id is the file's stem).
  void start_with(const std::string& path) {
    const std::string saved = model_path_;
    model_path_ = path;
    start();
    model_path_ = saved;
    key_ = create_key(signup("u" + std::to_string(++starts_) + "@example.com")).second;
  }

  Reply post(const std::string& model, const std::string& extra, int seed, bool stream = false, int max_tokens = 400) {
    const std::string body = R"({"model": ")" + model +
                             R"(", "messages": [{"role": "user", "content": "Weather in Paris?"}], "max_tokens": )" +
                             std::to_string(max_tokens) + R"(, "seed": )" + std::to_string(seed) +
                             (stream ? R"(, "stream": true)" : "") + (extra.empty() ? "" : ", " + extra) + "}";
    return with_key(key_, "POST", "/v1/chat/completions", body);
  }

  inline static std::string tools_path_;
  inline static std::string think_path_;
  inline static std::string trigger_path_;
  static constexpr int kTriggerToken = kBuiltinBytesVocabSize;  // <tool_call>, the first token added
  std::string key_;
  int starts_ = 0;
};

struct Call {
  std::string id;
  std::string name;
  std::string arguments;
};

struct Message {
  std::string content;
  bool content_null = false;
  std::string reasoning;
  std::vector<Call> calls;
  std::string finish;
  std::size_t argument_pieces = 0;  // streamed: chunks with arguments
};

Message message_of(const Reply& r) {
  Message m;
  const json::value& choice = r.json.at("choices").at(0);
  m.finish = std::string(choice.at("finish_reason").as_string());
  const json::object& msg = choice.at("message").as_object();
  m.content_null = msg.at("content").is_null();
  if (!m.content_null) m.content = std::string(msg.at("content").as_string());
  if (const json::value* rc = msg.if_contains("reasoning_content")) m.reasoning = std::string(rc->as_string());
  if (const json::value* tc = msg.if_contains("tool_calls")) {
    for (const json::value& c : tc->as_array()) {
      EXPECT_EQ(c.at("type"), "function");
      m.calls.push_back({std::string(c.at("id").as_string()), std::string(c.at("function").at("name").as_string()),
                         std::string(c.at("function").at("arguments").as_string())});
    }
  }
  return m;
}

// Reassembles a streamed reply, checking the order the clients rely on: a call's first piece has
// its index (the next one), id, type and name, later pieces only arguments; every call's pieces
// come before the chunk with finish_reason, which is last.
Message stream_of(const Reply& r) {
  Message m;
  std::size_t pos = 0;
  bool finished = false;
  while ((pos = r.body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = r.body.find('\n', pos);
    const std::string data = r.body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") break;
    const json::value v = json::parse(data);
    for (const json::value& c : v.at("choices").as_array()) {
      EXPECT_FALSE(finished) << "a chunk after the finish chunk: " << data;
      const json::object& d = c.at("delta").as_object();
      if (const json::value* x = d.if_contains("content"); x && x->is_string()) m.content += x->as_string();
      if (const json::value* x = d.if_contains("reasoning_content")) m.reasoning += x->as_string();
      if (const json::value* tcs = d.if_contains("tool_calls")) {
        for (const json::value& tc : tcs->as_array()) {
          const auto index = static_cast<std::size_t>(tc.at("index").as_int64());
          const json::object& f = tc.at("function").as_object();
          if (tc.as_object().contains("id")) {
            EXPECT_EQ(index, m.calls.size()) << "calls start at 0, 1, ... in order: " << data;
            EXPECT_EQ(tc.at("type"), "function");
            m.calls.push_back({std::string(tc.at("id").as_string()), std::string(f.at("name").as_string()), ""});
          } else {
            EXPECT_EQ(index + 1, m.calls.size()) << "arguments of the call in progress: " << data;
            EXPECT_FALSE(f.contains("name"));
          }
          if (index < m.calls.size()) m.calls[index].arguments += f.at("arguments").as_string();
          if (!f.at("arguments").as_string().empty()) ++m.argument_pieces;
        }
      }
      if (c.at("finish_reason").is_string()) {
        m.finish = std::string(c.at("finish_reason").as_string());
        finished = true;
      }
    }
  }
  EXPECT_TRUE(finished) << r.body;
  return m;
}

// The checks a validator makes for kTools' schemas.
void expect_valid_call(const Call& c) {
  SCOPED_TRACE(c.name + " " + c.arguments);
  EXPECT_TRUE(c.id.starts_with("call_")) << c.id;
  json::error_code ec;
  const json::value v = json::parse(c.arguments, ec);
  ASSERT_FALSE(ec) << "arguments are not JSON";
  ASSERT_TRUE(v.is_object());
  const json::object& o = v.as_object();
  if (c.name == "get_weather") {
    ASSERT_EQ(o.size(), 2u);
    ASSERT_TRUE(o.contains("city") && o.at("city").is_string());
    EXPECT_LE(o.at("city").as_string().size(), 8u * 4);
    ASSERT_TRUE(o.contains("unit"));
    EXPECT_TRUE(o.at("unit") == "c" || o.at("unit") == "f");
  } else {
    ASSERT_EQ(c.name, "get_time");
    ASSERT_EQ(o.size(), 1u);
    ASSERT_TRUE(o.contains("tz") && o.at("tz").is_int64());
    EXPECT_GE(o.at("tz").as_int64(), -12);
    EXPECT_LE(o.at("tz").as_int64(), 14);
  }
}

void expect_same(const Message& a, const Message& b) {
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.reasoning, b.reasoning);
  EXPECT_EQ(a.finish, b.finish);
  ASSERT_EQ(a.calls.size(), b.calls.size());
  for (std::size_t i = 0; i < a.calls.size(); ++i) {
    EXPECT_EQ(a.calls[i].name, b.calls[i].name);
    EXPECT_EQ(a.calls[i].arguments, b.calls[i].arguments);
  }
}

TEST_F(ToolCallsTest, RequiredAndNamedAlwaysReturnValidCalls) {
  for (const std::string model : {"tools", "think"}) {
    start_with(model == "tools" ? tools_path_ : think_path_);
    for (int seed = 1; seed <= 4; ++seed) {
      SCOPED_TRACE(model + " seed " + std::to_string(seed));
      const Reply r =
          post(model, std::string(kTools) + R"(, "tool_choice": "required", "parallel_tool_calls": false)", seed);
      ASSERT_EQ(r.status, 200) << r.body;
      const Message m = message_of(r);
      EXPECT_EQ(m.finish, "tool_calls") << r.body;
      ASSERT_EQ(m.calls.size(), 1u) << r.body;
      expect_valid_call(m.calls[0]);
      EXPECT_TRUE(m.content_null) << r.body;

      const Reply named = post(
          model, std::string(kTools) + R"(, "tool_choice": {"type": "function", "function": {"name": "get_time"}})",
          seed);
      ASSERT_EQ(named.status, 200) << named.body;
      const Message n = message_of(named);
      EXPECT_EQ(n.finish, "tool_calls") << named.body;
      ASSERT_FALSE(n.calls.empty()) << named.body;
      for (const Call& c : n.calls) {
        EXPECT_EQ(c.name, "get_time");
        expect_valid_call(c);
      }
    }
    stop();
  }
}

TEST_F(ToolCallsTest, ParallelCallsHaveDistinctIndexesAndStreamingAgrees) {
  start_with(tools_path_);
  std::size_t most = 0;
  for (int seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::string extra = std::string(kTools) + R"(, "tool_choice": "required")";
    const Reply whole = post("tools", extra, seed, false, 600);
    ASSERT_EQ(whole.status, 200) << whole.body;
    const Message a = message_of(whole);
    const Reply streamed = post("tools", extra, seed, true, 600);
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    const Message b = stream_of(streamed);
    expect_same(a, b);
    EXPECT_GT(b.argument_pieces, b.calls.size()) << "arguments stream in increments";
    std::map<std::string, int> ids;
    for (const Call& c : a.calls) ++ids[c.id];
    EXPECT_EQ(ids.size(), a.calls.size()) << "ids are distinct";
    if (a.finish == "tool_calls") {
      for (const Call& c : a.calls) expect_valid_call(c);
    } else {
      EXPECT_EQ(a.finish, "length");  // many calls ran out of tokens: the last one is cut
    }
    most = std::max(most, a.calls.size());
  }
  // The grammar lets a call follow a call: over these seeds a random model makes several.
  EXPECT_GE(most, 2u);
}

TEST_F(ToolCallsTest, NoneAndAutoLeaveTheTextAlone) {
  start_with(tools_path_);
  for (const char* choice : {R"("none")", R"("auto")"}) {
    const Reply r = post("tools", std::string(kTools) + R"(, "tool_choice": )" + choice, 1, false, 20);
    ASSERT_EQ(r.status, 200) << r.body;
    const Message m = message_of(r);
    EXPECT_TRUE(m.calls.empty()) << r.body;  // random bytes never spell a well-formed call
    EXPECT_FALSE(m.content_null);
    EXPECT_EQ(m.finish, "length");
  }
  // A strict tool whose schema has an unsupported keyword: 400 naming the tools.
  const Reply bad = post("tools",
                         R"("tools": [{"type": "function", "function": {"name": "f", "strict": true, "parameters":
                            {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 3}}}}}],
                            "tool_choice": "required")",
                         1);
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json.at("error").at("param"), "tools");
  EXPECT_NE(std::string(bad.json.at("error").at("message").as_string()).find("multipleOf"), std::string::npos);
}

// With "auto" the text is free until the model opens a call; from its opening token on, the
// call's grammar holds. logit_bias makes the random model open one at once: what follows is a
// valid call (never random bytes), the reply finishes as "tool_calls", streamed or not. Without
// the bias the same request is plain text.
TEST_F(ToolCallsTest, AutoConstrainsTheCallOnceTheModelOpensIt) {
  start_with(trigger_path_);
  const std::string bias = R"("logit_bias": {")" + std::to_string(kTriggerToken) + R"(": 100})";
  for (int seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::string extra = std::string(kTools) + R"(, "tool_choice": "auto", "parallel_tool_calls": false, )" + bias;
    const Reply whole = post("trigger", extra, seed);
    ASSERT_EQ(whole.status, 200) << whole.body;
    const Message a = message_of(whole);
    EXPECT_EQ(a.finish, "tool_calls") << whole.body;
    ASSERT_EQ(a.calls.size(), 1u) << whole.body;
    expect_valid_call(a.calls[0]);
    EXPECT_TRUE(a.content_null) << whole.body;
    const Reply streamed = post("trigger", extra, seed, true);
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    expect_same(a, stream_of(streamed));
  }
  const Reply free = post("trigger", std::string(kTools) + R"(, "tool_choice": "auto")", 1, false, 20);
  ASSERT_EQ(free.status, 200) << free.body;
  const Message f = message_of(free);
  EXPECT_TRUE(f.calls.empty()) << free.body;
  EXPECT_EQ(f.finish, "length");
}

TEST_F(ToolCallsTest, ReasoningIsSeparateUnlessInline) {
  start_with(think_path_);
  // The prompt opens <think> and random bytes never close it: all of the reply is reasoning.
  const Reply r = post("think", "", 3, false, 24);
  ASSERT_EQ(r.status, 200) << r.body;
  const Message m = message_of(r);
  EXPECT_FALSE(m.reasoning.empty()) << r.body;
  EXPECT_EQ(m.content, "");
  const Reply s = post("think", "", 3, true, 24);
  expect_same(m, stream_of(s));
  const Reply inl = post("think", R"("reasoning_format": "inline")", 3, false, 24);
  ASSERT_EQ(inl.status, 200) << inl.body;
  const Message i = message_of(inl);
  EXPECT_TRUE(i.reasoning.empty());
  EXPECT_FALSE(inl.json.at("choices").at(0).at("message").as_object().contains("reasoning_content"));
  // The same sampled bytes, left inline (whitespace trimming aside).
  EXPECT_NE(i.content.find(m.reasoning.substr(0, 8)), std::string::npos) << i.content << " / " << m.reasoning;
  // With tools required, the grammar closes the thinking first: no reasoning, then the calls.
  const Reply t = post("think", std::string(kTools) + R"(, "tool_choice": "required")", 3, true);
  ASSERT_EQ(t.status, 200) << t.body;
  const Message tm = stream_of(t);
  EXPECT_TRUE(tm.reasoning.empty());
  ASSERT_FALSE(tm.calls.empty()) << t.body;
}

// The conversation API keeps the thinking apart too: streamed as {"reasoning": ...} deltas, stored
// in the assistant message's metadata, and returned as its "reasoning".
TEST_F(ToolCallsTest, ConversationRepliesStoreTheirReasoning) {
  const std::string saved = model_path_;
  model_path_ = think_path_;
  start();
  model_path_ = saved;
  const testing::Session a = signup("think@example.com");
  const Reply created = as(a, "POST", "/api/conversations", "{}");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json.at("id").as_string());
  const Reply sent = as(a, "POST", "/api/conversations/" + id + "/messages", R"({"content":"hi","max_tokens":12})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  std::string streamed;  // the reasoning deltas, in order
  json::value done;
  for (std::size_t at = sent.body.find("event: "); at != std::string::npos; at = sent.body.find("event: ", at + 1)) {
    const std::string name = sent.body.substr(at + 7, sent.body.find('\n', at) - at - 7);
    const std::size_t data = sent.body.find("data: ", at);
    const json::value v = json::parse(sent.body.substr(data + 6, sent.body.find('\n', data) - data - 6));
    if (name == "delta") {
      EXPECT_FALSE(v.as_object().contains("content")) << "nothing closes the thinking: no content";
      if (const json::value* r = v.as_object().if_contains("reasoning")) streamed += r->as_string();
    }
    if (name == "done") done = v;
  }
  ASSERT_TRUE(done.is_object()) << sent.body;
  const json::value& message = done.at("message");
  EXPECT_EQ(message.at("content"), "");
  ASSERT_TRUE(message.as_object().contains("reasoning")) << sent.body;
  EXPECT_EQ(message.at("reasoning").as_string(), streamed);
  EXPECT_FALSE(streamed.empty());
  const Reply tree = as(a, "GET", "/api/conversations/" + id);
  ASSERT_EQ(tree.status, 200);
  bool found = false;
  for (const json::value& m : tree.json.at("messages").as_array()) {
    if (m.at("role") != "assistant") continue;
    found = true;
    EXPECT_EQ(m.at("reasoning").as_string(), streamed);
  }
  EXPECT_TRUE(found);
}

TEST(StoredReasoning, LongThinkingIsCutOnACharacterBoundary) {
  EXPECT_EQ(stored_reasoning("short"), "short");
  std::string long_text(kMaxStoredReasoningBytes - 1, 'a');
  long_text += "\xC3\xA9 and more";  // an é across the limit
  const std::string cut = stored_reasoning(long_text);
  EXPECT_EQ(cut, std::string(kMaxStoredReasoningBytes - 1, 'a') + "\u2026");
  // The longest thinking, of the characters JSON escapes, still fits the store's metadata limit.
  const std::string worst = stored_reasoning(std::string(kMaxStoredReasoningBytes + 10, '"'));
  EXPECT_LE(reply_metadata_json({"length", "", worst}).size(), store::kMaxMetadataBytes);
}

}  // namespace
}  // namespace parley
