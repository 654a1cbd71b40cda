#include "api/openai_request.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "api/json_fields.h"
#include "api/openai_structured.h"

namespace parley {
namespace json = boost::json;
using namespace api_json;

Status invalid_param(std::string_view param, std::string message) {
  return Status(ErrorCode::kInvalidArgument, std::move(message)).with_detail("param", std::string(param));
}

namespace {

Status parse_stream_options(const json::object& o, bool stream, bool* include_usage) {
  const json::value* so = field(o, "stream_options");
  if (so == nullptr) return ok_status();
  if (!stream) return invalid_param("stream_options", "'stream_options' is only allowed when 'stream' is true.");
  if (!so->is_object()) return type_error("stream_options", "an object", *so);
  return get_bool(so->as_object(), "include_usage", include_usage).with_context("stream_options");
}

// The "cache_scope" extension: "private" (or absent) or "shared".
Status parse_cache_scope(const json::object& o, bool* shared) {
  std::string v = "private";
  RETURN_IF_ERROR(get_string(o, "cache_scope", &v));
  if (v != "private" && v != "shared") {
    return invalid_param("cache_scope", "'cache_scope' must be 'private' or 'shared'.");
  }
  *shared = v == "shared";
  return ok_status();
}

// The "priority" extension: "" when absent, else "interactive" or "batch".
Status parse_priority_field(const json::object& o, std::string* priority) {
  RETURN_IF_ERROR(get_string(o, "priority", priority));
  if (!priority->empty() && *priority != "interactive" && *priority != "batch") {
    return invalid_param("priority", "'priority' must be 'interactive' or 'batch'.");
  }
  return ok_status();
}

Status parse_n(const json::object& o, const ApiLimits& limits, std::int32_t* n) {
  std::optional<std::int64_t> v;
  RETURN_IF_ERROR(get_integer(o, "n", 1, limits.max_n, &v));
  if (v) *n = static_cast<std::int32_t>(*v);
  return ok_status();
}

// Text of a message's content: a string, or an array of text parts.
Status message_content(const json::value& c, std::string_view param, std::string* out) {
  if (c.is_string()) {
    *out = std::string(c.as_string());
    return ok_status();
  }
  if (!c.is_array()) return type_error(param, "a string or an array of content parts", c);
  std::string text;
  for (std::size_t i = 0; i < c.as_array().size(); ++i) {
    const std::string p = fmt::format("{}[{}]", param, i);
    const json::value& part = c.as_array()[i];
    if (!part.is_object()) return type_error(p, "an object", part);
    std::string type;
    RETURN_IF_ERROR(get_string(part.as_object(), "type", &type, true).with_detail("param", p + ".type"));
    if (type != "text") {
      return invalid_param(p + ".type", fmt::format("Content parts of type '{}' are not supported; only 'text' is.", type));
    }
    std::string t;
    RETURN_IF_ERROR(get_string(part.as_object(), "text", &t, true).with_detail("param", p + ".text"));
    if (!text.empty()) text += "\n";
    text += t;
  }
  *out = std::move(text);
  return ok_status();
}

Status parse_messages(const json::object& o, const ApiLimits& limits, ChatCompletionRequest* r) {
  const json::value* v = field(o, "messages");
  if (v == nullptr) return invalid_param("messages", "'messages' is required.");
  if (!v->is_array()) return type_error("messages", "an array", *v);
  const json::array& arr = v->as_array();
  if (arr.empty()) return invalid_param("messages", "'messages' must contain at least one message.");
  if (arr.size() > limits.max_messages) {
    return invalid_param("messages", fmt::format("At most {} messages are allowed.", limits.max_messages));
  }
  json::array normalised;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = fmt::format("messages[{}]", i);
    if (!arr[i].is_object()) return type_error(p, "an object", arr[i]);
    const json::object& m = arr[i].as_object();
    ChatMessage msg;
    RETURN_IF_ERROR(get_string(m, "role", &msg.role, true).with_detail("param", p + ".role"));
    if (msg.role == "developer") msg.role = "system";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool") {
      return invalid_param(p + ".role", fmt::format("Invalid role '{}': expected 'system', 'developer', 'user', "
                                                    "'assistant' or 'tool'.", msg.role));
    }
    json::object out{{"role", msg.role}};
    if (const json::value* c = field(m, "content")) {
      std::string text;
      RETURN_IF_ERROR(message_content(*c, p + ".content", &text));
      msg.content = text;
      out["content"] = text;
    } else {
      out["content"] = nullptr;
    }
    if (const json::value* tc = field(m, "tool_calls")) {
      if (msg.role != "assistant") return invalid_param(p + ".tool_calls", "Only assistant messages may have 'tool_calls'.");
      if (!tc->is_array()) return type_error(p + ".tool_calls", "an array", *tc);
      msg.tool_calls_json = json::serialize(*tc);
      out["tool_calls"] = *tc;
    }
    if (!msg.content && msg.tool_calls_json.empty()) {
      return invalid_param(p + ".content", "'content' is required (it may be null only for assistant tool calls).");
    }
    RETURN_IF_ERROR(get_string(m, "name", &msg.name).with_detail("param", p + ".name"));
    if (!msg.name.empty()) out["name"] = msg.name;
    RETURN_IF_ERROR(get_string(m, "tool_call_id", &msg.tool_call_id).with_detail("param", p + ".tool_call_id"));
    if (msg.role == "tool" && msg.tool_call_id.empty()) {
      return invalid_param(p + ".tool_call_id", "Tool messages need 'tool_call_id'.");
    }
    if (!msg.tool_call_id.empty()) out["tool_call_id"] = msg.tool_call_id;
    r->messages.push_back(std::move(msg));
    normalised.push_back(std::move(out));
  }
  r->messages_json = json::serialize(normalised);
  return ok_status();
}

}  // namespace

Result<ChatCompletionRequest> parse_chat_completion_request(std::string_view body, const ApiLimits& limits) {
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, limits));
  ChatCompletionRequest r;
  RETURN_IF_ERROR(get_string(o, "model", &r.model, true));
  RETURN_IF_ERROR(parse_messages(o, limits, &r));
  RETURN_IF_ERROR(get_bool(o, "stream", &r.stream));
  RETURN_IF_ERROR(parse_stream_options(o, r.stream, &r.include_usage));
  std::optional<std::int64_t> mt, mct;
  RETURN_IF_ERROR(get_integer(o, "max_tokens", 1, INT32_MAX, &mt));
  RETURN_IF_ERROR(get_integer(o, "max_completion_tokens", 1, INT32_MAX, &mct));
  r.max_tokens = mct ? mct : mt;
  RETURN_IF_ERROR(parse_n(o, limits, &r.n));
  RETURN_IF_ERROR(get_bool(o, "logprobs", &r.logprobs));
  std::optional<std::int64_t> tl;
  RETURN_IF_ERROR(get_integer(o, "top_logprobs", 0, 20, &tl));
  if (tl && !r.logprobs) return invalid_param("top_logprobs", "'top_logprobs' requires 'logprobs' to be true.");
  r.top_logprobs = static_cast<std::int32_t>(tl.value_or(0));
  RETURN_IF_ERROR(get_string(o, "user", &r.user));
  RETURN_IF_ERROR(parse_tools(o, &r));
  RETURN_IF_ERROR(parse_response_format(o, &r.response_format));
  RETURN_IF_ERROR(parse_sampling(o, limits, &r.sampling));
  RETURN_IF_ERROR(parse_cache_scope(o, &r.cache_shared));
  RETURN_IF_ERROR(parse_priority_field(o, &r.priority));
  return r;
}

Result<CompletionRequest> parse_completion_request(std::string_view body, const ApiLimits& limits) {
  ASSIGN_OR_RETURN(const json::object o, parse_object(body, limits));
  CompletionRequest r;
  RETURN_IF_ERROR(get_string(o, "model", &r.model, true));
  const json::value* p = field(o, "prompt");
  if (p == nullptr) return invalid_param("prompt", "'prompt' is required.");
  const auto token_list = [](const json::array& a, std::string_view param) -> Result<std::vector<std::int32_t>> {
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSIGN_OR_RETURN(const std::int64_t id, as_integer(a[i], fmt::format("{}[{}]", param, i)));
      if (id < 0 || id > INT32_MAX) return invalid_param(param, fmt::format("{} is not a token id.", id));
      ids.push_back(static_cast<std::int32_t>(id));
    }
    return ids;
  };
  if (p->is_string()) {
    r.prompts.push_back({std::string(p->as_string()), {}, false});
  } else if (p->is_array()) {
    const json::array& a = p->as_array();
    if (a.empty()) return invalid_param("prompt", "'prompt' must not be empty.");
    if (a.front().is_string()) {
      if (a.size() > limits.max_prompts) return invalid_param("prompt", fmt::format("At most {} prompts are allowed.", limits.max_prompts));
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_string()) return type_error(fmt::format("prompt[{}]", i), "a string", a[i]);
        r.prompts.push_back({std::string(a[i].as_string()), {}, false});
      }
    } else if (a.front().is_array()) {
      if (a.size() > limits.max_prompts) return invalid_param("prompt", fmt::format("At most {} prompts are allowed.", limits.max_prompts));
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_array()) return type_error(fmt::format("prompt[{}]", i), "an array of token ids", a[i]);
        ASSIGN_OR_RETURN(auto ids, token_list(a[i].as_array(), fmt::format("prompt[{}]", i)));
        r.prompts.push_back({{}, std::move(ids), true});
      }
    } else {
      ASSIGN_OR_RETURN(auto ids, token_list(a, "prompt"));
      r.prompts.push_back({{}, std::move(ids), true});
    }
  } else {
    return type_error("prompt", "a string, an array of strings or an array of token ids", *p);
  }
  if (const json::value* suffix = field(o, "suffix"); suffix && !(suffix->is_string() && suffix->as_string().empty())) {
    return invalid_param("suffix", "'suffix' (fill-in-the-middle) is not supported.");
  }
  RETURN_IF_ERROR(get_bool(o, "stream", &r.stream));
  RETURN_IF_ERROR(parse_stream_options(o, r.stream, &r.include_usage));
  std::optional<std::int64_t> mt;
  RETURN_IF_ERROR(get_integer(o, "max_tokens", 0, INT32_MAX, &mt));
  if (mt) r.max_tokens = *mt;
  RETURN_IF_ERROR(parse_n(o, limits, &r.n));
  std::optional<std::int64_t> best_of;
  RETURN_IF_ERROR(get_integer(o, "best_of", 1, limits.max_n, &best_of));
  if (best_of && *best_of != r.n) return invalid_param("best_of", "'best_of' other than 'n' is not supported.");
  RETURN_IF_ERROR(get_bool(o, "echo", &r.echo));
  std::optional<std::int64_t> lp;
  RETURN_IF_ERROR(get_integer(o, "logprobs", 0, 5, &lp));
  if (lp) r.logprobs = static_cast<std::int32_t>(*lp);
  RETURN_IF_ERROR(get_string(o, "user", &r.user));
  RETURN_IF_ERROR(parse_response_format(o, &r.response_format));
  RETURN_IF_ERROR(parse_sampling(o, limits, &r.sampling));
  RETURN_IF_ERROR(parse_cache_scope(o, &r.cache_shared));
  RETURN_IF_ERROR(parse_priority_field(o, &r.priority));
  return r;
}

}  // namespace parley
