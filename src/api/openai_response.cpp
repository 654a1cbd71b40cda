#include "api/openai_response.h"

#include <boost/json.hpp>

namespace parley {
namespace json = boost::json;
namespace {

json::value nullable(std::string_view s) { return s.empty() ? json::value(nullptr) : json::value(s); }

json::object usage_object(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", json::object{{"cached_tokens", u.cached_tokens}}}};
}

json::array bytes_array(const std::vector<std::uint8_t>& b) {
  json::array a;
  for (const std::uint8_t x : b) a.push_back(x);
  return a;
}

// Chat format: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}
json::value chat_logprobs(const std::vector<TokenLogprobOut>& lps) {
  json::array content;
  for (const auto& t : lps) {
    json::array top;
    for (const auto& alt : t.top) top.push_back(json::object{{"token", alt.token}, {"logprob", alt.logprob}, {"bytes", bytes_array(alt.bytes)}});
    content.push_back(json::object{{"token", t.token}, {"logprob", t.logprob}, {"bytes", bytes_array(t.bytes)}, {"top_logprobs", std::move(top)}});
  }
  return json::object{{"content", std::move(content)}, {"refusal", nullptr}};
}

// Completions (legacy) format: parallel arrays.
json::value completion_logprobs(const std::vector<TokenLogprobOut>& lps, std::int64_t text_offset) {
  json::array tokens, token_logprobs, top_logprobs, offsets;
  std::int64_t offset = text_offset;
  for (const auto& t : lps) {
    tokens.push_back(json::value(t.token));
    token_logprobs.push_back(t.logprob);
    json::object top;
    for (const auto& alt : t.top) top[alt.token] = alt.logprob;
    top_logprobs.push_back(std::move(top));
    offsets.push_back(offset);
    offset += static_cast<std::int64_t>(t.token.size());
  }
  return json::object{{"tokens", std::move(tokens)},
                      {"token_logprobs", std::move(token_logprobs)},
                      {"top_logprobs", std::move(top_logprobs)},
                      {"text_offset", std::move(offsets)}};
}

json::object envelope(std::string_view id, std::string_view object, std::int64_t created, std::string_view model) {
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model}, {"system_fingerprint", "parley"}};
}

json::object chat_message(const ChatChoiceOut& c) {
  json::object m{{"role", "assistant"}};
  m["content"] = c.content.empty() && !c.tool_calls.empty() ? json::value(nullptr) : json::value(c.content);
  if (!c.reasoning_content.empty()) m["reasoning_content"] = c.reasoning_content;
  if (!c.tool_calls.empty()) {
    json::array calls;
    for (const ToolCallOut& t : c.tool_calls) {
      calls.push_back(json::object{{"id", t.id},
                                   {"type", "function"},
                                   {"function", json::object{{"name", t.name}, {"arguments", t.arguments}}}});
    }
    m["tool_calls"] = std::move(calls);
  }
  m["refusal"] = nullptr;
  return m;
}

json::object tool_call_delta(const ChatDeltaOut::ToolCallPiece& p) {
  if (!p.start) return {{"index", p.index}, {"function", json::object{{"arguments", p.arguments}}}};
  return {{"index", p.index},
          {"id", p.id},
          {"type", "function"},
          {"function", json::object{{"name", p.name}, {"arguments", p.arguments}}}};
}

}  // namespace

std::string error_body(std::string_view message, std::string_view type, std::string_view param, std::string_view code) {
  return json::serialize(json::object{
      {"error", json::object{{"message", message}, {"type", type}, {"param", nullable(param)}, {"code", nullable(code)}}}});
}

std::string chat_completion_json(std::string_view id, std::int64_t created, std::string_view model,
                                 const std::vector<ChatChoiceOut>& choices, const Usage& usage) {
  json::object o = envelope(id, "chat.completion", created, model);
  json::array cs;
  for (const auto& c : choices) {
    cs.push_back(json::object{{"index", c.index},
                              {"message", chat_message(c)},
                              {"logprobs", c.logprobs ? chat_logprobs(*c.logprobs) : json::value(nullptr)},
                              {"finish_reason", c.finish_reason}});
  }
  o["choices"] = std::move(cs);
  o["usage"] = usage_object(usage);
  return json::serialize(o);
}

std::string chat_chunk_json(std::string_view id, std::int64_t created, std::string_view model, std::int32_t index,
                            std::optional<std::string_view> role, std::optional<std::string_view> content,
                            const std::vector<TokenLogprobOut>* logprobs, std::optional<std::string_view> finish_reason) {
  json::object o = envelope(id, "chat.completion.chunk", created, model);
  json::object delta;
  if (role) delta["role"] = *role;
  if (content) delta["content"] = *content;
  o["choices"] = json::array{json::object{{"index", index},
                                          {"delta", std::move(delta)},
                                          {"logprobs", logprobs ? chat_logprobs(*logprobs) : json::value(nullptr)},
                                          {"finish_reason", finish_reason ? json::value(*finish_reason) : json::value(nullptr)}}};
  return json::serialize(o);
}

std::string chat_delta_chunk_json(std::string_view id, std::int64_t created, std::string_view model, std::int32_t index,
                                  const ChatDeltaOut& d, const std::vector<TokenLogprobOut>* logprobs,
                                  std::optional<std::string_view> finish_reason) {
  json::object o = envelope(id, "chat.completion.chunk", created, model);
  json::object delta;
  if (d.content) delta["content"] = *d.content;
  if (d.reasoning_content) delta["reasoning_content"] = *d.reasoning_content;
  if (d.tool_call) delta["tool_calls"] = json::array{tool_call_delta(*d.tool_call)};
  o["choices"] =
      json::array{json::object{{"index", index},
                               {"delta", std::move(delta)},
                               {"logprobs", logprobs ? chat_logprobs(*logprobs) : json::value(nullptr)},
                               {"finish_reason", finish_reason ? json::value(*finish_reason) : json::value(nullptr)}}};
  return json::serialize(o);
}

std::string chat_usage_chunk_json(std::string_view id, std::int64_t created, std::string_view model, const Usage& usage) {
  json::object o = envelope(id, "chat.completion.chunk", created, model);
  o["choices"] = json::array{};
  o["usage"] = usage_object(usage);
  return json::serialize(o);
}

std::string completion_json(std::string_view id, std::int64_t created, std::string_view model,
                            const std::vector<CompletionChoiceOut>& choices, const Usage& usage) {
  json::object o = envelope(id, "text_completion", created, model);
  json::array cs;
  for (const auto& c : choices) {
    cs.push_back(json::object{{"index", c.index},
                              {"text", c.text},
                              {"logprobs", c.logprobs ? completion_logprobs(*c.logprobs, c.text_offset_base) : json::value(nullptr)},
                              {"finish_reason", c.finish_reason}});
  }
  o["choices"] = std::move(cs);
  o["usage"] = usage_object(usage);
  return json::serialize(o);
}

std::string completion_chunk_json(std::string_view id, std::int64_t created, std::string_view model, std::int32_t index,
                                  std::string_view text, const std::vector<TokenLogprobOut>* logprobs,
                                  std::int64_t text_offset, std::optional<std::string_view> finish_reason) {
  json::object o = envelope(id, "text_completion", created, model);
  o["choices"] = json::array{json::object{{"index", index},
                                          {"text", text},
                                          {"logprobs", logprobs ? completion_logprobs(*logprobs, text_offset) : json::value(nullptr)},
                                          {"finish_reason", finish_reason ? json::value(*finish_reason) : json::value(nullptr)}}};
  return json::serialize(o);
}

std::string completion_usage_chunk_json(std::string_view id, std::int64_t created, std::string_view model,
                                        const Usage& usage) {
  json::object o = envelope(id, "text_completion", created, model);
  o["choices"] = json::array{};
  o["usage"] = usage_object(usage);
  return json::serialize(o);
}

namespace {

json::object model_object(const ModelInfoOut& m) {
  json::object o{{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", m.owned_by}};
  if (m.size_bytes >= 0) o["size_bytes"] = m.size_bytes;
  if (m.loaded) o["loaded"] = *m.loaded;
  if (!m.state.empty()) o["state"] = m.state;
  if (m.pinned) o["pinned"] = *m.pinned;
  return o;
}

}  // namespace

std::string model_json(const ModelInfoOut& m) { return json::serialize(model_object(m)); }

std::string model_list_json(const std::vector<ModelInfoOut>& models) {
  json::array data;
  for (const auto& m : models) data.push_back(model_object(m));
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

std::string sse_event(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out += "data: ";
  out += payload;
  out += "\n\n";
  return out;
}

}  // namespace parley
