#include "api/openai_request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/openai_response.h"

namespace parley {
namespace {

Status error_of(std::string_view body) {
  auto r = parse_chat_completion_request(body);
  return r.ok() ? ok_status() : r.status();
}

TEST(ChatRequest, ParsesAllSupportedFields) {
  auto r = parse_chat_completion_request(R"({
    "model": "tiny", "stream": true, "stream_options": {"include_usage": true},
    "messages": [
      {"role": "developer", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "content": "42", "tool_call_id": "c1"},
      {"role": "user", "content": "and?", "name": "ann"}],
    "max_completion_tokens": 50, "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "n": 2,
    "stop": ["END", ""], "seed": 42, "presence_penalty": 0.5, "frequency_penalty": -0.5,
    "logit_bias": {"15": -100, "7": 2.5}, "logprobs": true, "top_logprobs": 3, "user": "u1",
    "top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1, "unknown_field": {"ignored": true},
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->model, "tiny");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  ASSERT_EQ(r->messages.size(), 5u);
  EXPECT_EQ(r->messages[0].role, "system");  // developer is folded into system
  EXPECT_EQ(*r->messages[1].content, "Hello\nthere");
  EXPECT_FALSE(r->messages[2].content.has_value());
  EXPECT_FALSE(r->messages[2].tool_calls_json.empty());
  EXPECT_EQ(r->messages[3].tool_call_id, "c1");
  EXPECT_EQ(r->messages[4].name, "ann");
  EXPECT_EQ(*r->max_tokens, 50);  // max_completion_tokens wins
  EXPECT_EQ(r->n, 2);
  EXPECT_EQ(r->sampling.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(*r->sampling.seed, 42);
  EXPECT_EQ(r->sampling.logit_bias.size(), 2u);
  EXPECT_TRUE(r->logprobs);
  EXPECT_EQ(r->top_logprobs, 3);
  EXPECT_EQ(*r->sampling.top_k, 40);
  EXPECT_FALSE(r->tools_json.empty());
  // The normalised messages are valid JSON for the chat template.
  const auto msgs = boost::json::parse(r->messages_json).as_array();
  EXPECT_EQ(msgs[0].as_object().at("role").as_string(), "system");
  EXPECT_TRUE(msgs[2].as_object().at("content").is_null());
  EXPECT_EQ(msgs[1].as_object().at("content").as_string(), "Hello\nthere");
}

TEST(ChatRequest, ErrorsNameTheParameter) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"messages": [{"role": "user", "content": "x"}]})", "model"},
      {R"({"model": "m"})", "messages"},
      {R"({"model": "m", "messages": []})", "messages"},
      {R"({"model": "m", "messages": "hi"})", "messages"},
      {R"({"model": "m", "messages": [{"content": "x"}]})", "messages[0].role"},
      {R"({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})", "messages[0].role"},
      {R"({"model": "m", "messages": [{"role": "user"}]})", "messages[0].content"},
      {R"({"model": "m", "messages": [{"role": "user", "content": 5}]})", "messages[0].content"},
      {R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0].type"},
      {R"({"model": "m", "messages": [{"role": "tool", "content": "x"}]})", "messages[0].tool_call_id"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3})", "temperature"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", "temperature"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 0})", "top_p"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 0})", "n"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 1.5})", "n"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]})", "stop"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [1]})", "stop[0]"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"abc": 1}})", "logit_bias"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"5": 101}})", "logit_bias.5"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", "top_logprobs"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21})", "top_logprobs"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "presence_penalty": -3})", "presence_penalty"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}})", "stream_options"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"})", "stream"},
  };
  for (const Case& c : cases) {
    const Status st = error_of(c.body);
    ASSERT_FALSE(st.ok()) << c.body;
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << c.body;
    EXPECT_EQ(st.detail("param"), c.param) << c.body << " -> " << st.message();
  }
  // Null means "not given" for optional fields.
  EXPECT_TRUE(error_of(R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": null, "stop": null})").ok());
}

TEST(ChatRequest, MalformedJsonAndDepthLimits) {
  for (const char* body : {"", "{", "[]", "null", "{\"model\": \"m\",}", "\xFF\xFE"}) {
    const Status st = error_of(body);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << body;
    EXPECT_TRUE(st.detail("param").empty());
  }
  std::string deep = R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "x": )";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += "}";
  EXPECT_EQ(error_of(deep).code(), ErrorCode::kInvalidArgument);
}

TEST(CompletionRequest, PromptForms) {
  auto a = parse_completion_request(R"({"model": "m", "prompt": "Once"})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->prompts.size(), 1u);
  EXPECT_EQ(a->max_tokens, 16);  // OpenAI's default
  auto b = parse_completion_request(R"({"model": "m", "prompt": ["a", "b"], "echo": true, "logprobs": 2, "max_tokens": 5})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->prompts.size(), 2u);
  EXPECT_TRUE(b->echo);
  EXPECT_EQ(*b->logprobs, 2);
  auto c = parse_completion_request(R"({"model": "m", "prompt": [1, 2, 3]})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->prompts[0].is_tokens);
  EXPECT_EQ(c->prompts[0].tokens, (std::vector<std::int32_t>{1, 2, 3}));
  auto d = parse_completion_request(R"({"model": "m", "prompt": [[1], [2, 3]]})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->prompts.size(), 2u);
  EXPECT_EQ(parse_completion_request(R"({"model": "m"})").status().detail("param"), "prompt");
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": [-1]})").status().detail("param"), "prompt");
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": "x", "suffix": "y"})").status().detail("param"), "suffix");
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": "x", "logprobs": 6})").status().detail("param"), "logprobs");
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": "x", "best_of": 3})").status().detail("param"), "best_of");
}

TEST(ChatRequest, CacheScopeExtensionIsPrivateOrShared) {
  const std::string head = R"({"model": "m", "messages": [{"role": "user", "content": "hi"}])";
  EXPECT_FALSE(parse_chat_completion_request(head + "}")->cache_shared);
  EXPECT_FALSE(parse_chat_completion_request(head + R"(, "cache_scope": null})")->cache_shared);
  EXPECT_FALSE(parse_chat_completion_request(head + R"(, "cache_scope": "private"})")->cache_shared);
  EXPECT_TRUE(parse_chat_completion_request(head + R"(, "cache_scope": "shared"})")->cache_shared);
  for (const char* bad : {R"("public")", R"("Shared")", R"("")", "true", "1"}) {
    const Status st = parse_chat_completion_request(head + ", \"cache_scope\": " + bad + "}").status();
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.detail("param"), "cache_scope") << bad;
  }
}

TEST(ChatRequest, PriorityExtensionIsInteractiveOrBatch) {
  const std::string head = R"({"model": "m", "messages": [{"role": "user", "content": "hi"}])";
  EXPECT_EQ(parse_chat_completion_request(head + "}")->priority, "");
  EXPECT_EQ(parse_chat_completion_request(head + R"(, "priority": null})")->priority, "");
  EXPECT_EQ(parse_chat_completion_request(head + R"(, "priority": "interactive"})")->priority, "interactive");
  EXPECT_EQ(parse_chat_completion_request(head + R"(, "priority": "batch"})")->priority, "batch");
  for (const char* bad : {R"("high")", R"("Batch")", "1", "true"}) {
    const Status st = parse_chat_completion_request(head + ", \"priority\": " + bad + "}").status();
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.detail("param"), "priority") << bad;
  }
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": "x", "priority": "batch"})")->priority, "batch");
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": "x", "priority": "low"})").status().detail("param"),
            "priority");
}

TEST(CompletionRequest, CacheScopeExtensionIsPrivateOrShared) {
  EXPECT_FALSE(parse_completion_request(R"({"model": "m", "prompt": "x"})")->cache_shared);
  EXPECT_TRUE(parse_completion_request(R"({"model": "m", "prompt": "x", "cache_scope": "shared"})")->cache_shared);
  EXPECT_EQ(parse_completion_request(R"({"model": "m", "prompt": "x", "cache_scope": "all"})").status().detail("param"),
            "cache_scope");
}

TEST(Responses, ShapesMatchOpenAI) {
  namespace json = boost::json;
  const Usage u{10, 5, 4};
  std::vector<TokenLogprobOut> lp = {{"Hi", -0.5f, {'H', 'i'}, {{"Hi", -0.5f, {'H', 'i'}}, {"Yo", -1.5f, {'Y', 'o'}}}}};
  const auto c = json::parse(chat_completion_json("chatcmpl-1", 1700000000, "tiny", {{0, "Hi", "stop", lp}}, u)).as_object();
  EXPECT_EQ(c.at("object").as_string(), "chat.completion");
  const auto& choice = c.at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("message").as_object().at("role").as_string(), "assistant");
  EXPECT_EQ(choice.at("finish_reason").as_string(), "stop");
  const auto& token = choice.at("logprobs").as_object().at("content").as_array()[0].as_object();
  EXPECT_EQ(token.at("top_logprobs").as_array().size(), 2u);
  EXPECT_EQ(c.at("usage").as_object().at("total_tokens").as_int64(), 15);
  EXPECT_EQ(c.at("usage").as_object().at("prompt_tokens_details").as_object().at("cached_tokens").as_int64(), 4);

  const auto first = json::parse(chat_chunk_json("id", 1, "tiny", 0, "assistant", "", nullptr, std::nullopt)).as_object();
  const auto& d = first.at("choices").as_array()[0].as_object();
  EXPECT_EQ(d.at("delta").as_object().at("role").as_string(), "assistant");
  EXPECT_TRUE(d.at("finish_reason").is_null());
  EXPECT_EQ(first.at("object").as_string(), "chat.completion.chunk");
  const auto last = json::parse(chat_chunk_json("id", 1, "tiny", 1, std::nullopt, std::nullopt, nullptr, "length")).as_object();
  EXPECT_TRUE(last.at("choices").as_array()[0].as_object().at("delta").as_object().empty());
  EXPECT_EQ(last.at("choices").as_array()[0].as_object().at("index").as_int64(), 1);
  const auto usage = json::parse(chat_usage_chunk_json("id", 1, "tiny", u)).as_object();
  EXPECT_TRUE(usage.at("choices").as_array().empty());

  const auto comp = json::parse(completion_json("cmpl-1", 1, "tiny", {{0, "abc", "length", lp, 0}}, u)).as_object();
  const auto& lps = comp.at("choices").as_array()[0].as_object().at("logprobs").as_object();
  EXPECT_EQ(lps.at("tokens").as_array()[0].as_string(), "Hi");
  EXPECT_EQ(lps.at("top_logprobs").as_array()[0].as_object().size(), 2u);

  const auto err = json::parse(error_body("bad", "invalid_request_error", "", "")).as_object().at("error").as_object();
  EXPECT_TRUE(err.at("param").is_null());
  EXPECT_TRUE(err.at("code").is_null());
  EXPECT_EQ(sse_event("{}"), "data: {}\n\n");
  const auto models = json::parse(model_list_json({{"a", 1, "parley"}, {"b", 2, "parley"}})).as_object();
  EXPECT_EQ(models.at("data").as_array().size(), 2u);
}

TEST(Responses, ToolCallsAndReasoning) {
  namespace json = boost::json;
  ChatChoiceOut c;
  c.finish_reason = "tool_calls";
  c.reasoning_content = "Think.";
  c.tool_calls = {{"call_a", "get_weather", R"({"city": "Paris"})"}, {"call_b", "get_time", "{}"}};
  const auto body = json::parse(chat_completion_json("chatcmpl-1", 1, "tiny", {c}, {})).as_object();
  const auto& choice = body.at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("finish_reason").as_string(), "tool_calls");
  const auto& m = choice.at("message").as_object();
  EXPECT_TRUE(m.at("content").is_null());  // calls and no text: null, as OpenAI sends it
  EXPECT_EQ(m.at("reasoning_content").as_string(), "Think.");
  const auto& calls = m.at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].at("id").as_string(), "call_a");
  EXPECT_EQ(calls[0].at("type").as_string(), "function");
  EXPECT_EQ(calls[0].at("function").at("name").as_string(), "get_weather");
  EXPECT_EQ(calls[0].at("function").at("arguments").as_string(), R"({"city": "Paris"})");  // a JSON string
  // No calls, no reasoning: neither key, and content is a string.
  const auto plain = json::parse(chat_completion_json("c", 1, "tiny", {{0, "", "stop", std::nullopt}}, {})).as_object();
  const auto& pm = plain.at("choices").as_array()[0].at("message").as_object();
  EXPECT_EQ(pm.at("content").as_string(), "");
  EXPECT_FALSE(pm.contains("tool_calls"));
  EXPECT_FALSE(pm.contains("reasoning_content"));

  ChatDeltaOut start;
  start.tool_call = ChatDeltaOut::ToolCallPiece{1, true, "call_b", "get_time", ""};
  const auto s = json::parse(chat_delta_chunk_json("id", 1, "tiny", 0, start, nullptr, std::nullopt)).as_object();
  const auto& tc = s.at("choices").as_array()[0].at("delta").at("tool_calls").as_array()[0].as_object();
  EXPECT_EQ(tc.at("index").as_int64(), 1);
  EXPECT_EQ(tc.at("id").as_string(), "call_b");
  EXPECT_EQ(tc.at("type").as_string(), "function");
  EXPECT_EQ(tc.at("function").at("name").as_string(), "get_time");
  EXPECT_EQ(tc.at("function").at("arguments").as_string(), "");
  ChatDeltaOut piece;
  piece.tool_call = ChatDeltaOut::ToolCallPiece{1, false, "", "", "{\"a\""};
  const auto p = json::parse(chat_delta_chunk_json("id", 1, "tiny", 0, piece, nullptr, std::nullopt)).as_object();
  const auto& pc = p.at("choices").as_array()[0].at("delta").at("tool_calls").as_array()[0].as_object();
  EXPECT_FALSE(pc.contains("id"));
  EXPECT_FALSE(pc.at("function").as_object().contains("name"));
  EXPECT_EQ(pc.at("function").at("arguments").as_string(), "{\"a\"");
  ChatDeltaOut r;
  r.reasoning_content = "hm";
  const auto rj = json::parse(chat_delta_chunk_json("id", 1, "tiny", 0, r, nullptr, std::nullopt)).as_object();
  const auto& rd = rj.at("choices").as_array()[0].at("delta").as_object();
  EXPECT_EQ(rd.at("reasoning_content").as_string(), "hm");
  EXPECT_FALSE(rd.contains("content"));
}

}  // namespace
}  // namespace parley
