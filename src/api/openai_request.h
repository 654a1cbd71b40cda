// OpenAI wire requests as typed structs: JSON bodies of POST /v1/chat/completions and
// /v1/completions are parsed and validated here, at the edge. Unknown fields are ignored; wrong
// types and out-of-range values are kInvalidArgument errors whose detail "param" names the field
// (e.g. "messages[2].content"), so the gateway can answer OpenAI's 400 error body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace parley {

struct ApiLimits {
  std::size_t max_messages = 4096;
  std::size_t max_stop = 4;          // OpenAI's limit on stop sequences
  std::size_t max_stop_bytes = 256;
  std::int32_t max_n = 16;
  std::size_t max_prompts = 64;      // /v1/completions prompt arrays
  int max_json_depth = 64;
};

// Sampling and stop fields shared by both endpoints.
struct SamplingFields {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<double> min_p;
  std::optional<double> repetition_penalty;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  std::optional<std::int64_t> seed;
  std::vector<std::pair<std::int32_t, double>> logit_bias;  // token id, bias
  std::vector<std::string> stop;
  bool ignore_eos = false;  // extension (as in vLLM): keep generating past end-of-generation tokens
};

struct ChatMessage {
  std::string role;     // system, user, assistant, tool (developer is folded into system)
  std::optional<std::string> content;  // text parts joined; null for an assistant turn with only tool calls
  std::string name;
  std::string tool_call_id;
  std::string tool_calls_json;  // the assistant's tool_calls array as JSON, "" if none
};

// response_format (chat and completions).
struct ResponseFormat {
  enum class Type { kText, kJsonObject, kJsonSchema };
  Type type = Type::kText;
  std::string name;         // json_schema.name
  std::string schema_json;  // json_schema.schema, serialized (the grammar compiler reads it)
  bool strict = false;      // json_schema.strict
};

struct ToolDef {                // tools[i] with type "function"
  std::string name;             // [A-Za-z0-9_-]{1,64}
  std::string description;
  std::string parameters_json;  // the JSON Schema of the arguments, serialized ("{}" when absent)
  bool strict = false;
};

struct ToolChoice {
  enum class Mode { kNone, kAuto, kRequired, kFunction };
  Mode mode = Mode::kAuto;  // OpenAI's default: auto when tools are given, none otherwise
  std::string function;     // kFunction: the tool's name (400 when not among tools)
};

struct ChatCompletionRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::string messages_json;  // the normalised messages as a JSON array, for the chat template
  std::string tools_json;     // the tools array as JSON, "" if none
  bool stream = false;
  bool include_usage = false;
  std::optional<std::int64_t> max_tokens;  // max_completion_tokens or max_tokens
  std::int32_t n = 1;
  bool logprobs = false;
  std::int32_t top_logprobs = 0;
  std::string user;
  SamplingFields sampling;
  // Extension "cache_scope": "shared" declares the whole prompt public for the prefix cache
  // (reusable by every account); "private" (the default) keeps it in the caller's scope. Who may
  // ask for "shared" is the gateway's decision.
  bool cache_shared = false;
  std::optional<ResponseFormat> response_format;
  std::vector<ToolDef> tools;  // besides tools_json, which the template still gets
  ToolChoice tool_choice;
  bool parallel_tool_calls = true;
  // Extension "reasoning_format": "separate" (default: thinking in reasoning_content) | "inline".
  enum class ReasoningFormat { kSeparate, kInline } reasoning_format = ReasoningFormat::kSeparate;
  // Extension "priority": "interactive" or "batch" (the engine's priority classes); "" when the
  // request does not say (the caller's default applies: the gateway decides).
  std::string priority;
};

struct CompletionRequest {
  std::string model;
  // Each prompt is text or token ids (OpenAI accepts a string, an array of strings, an array of
  // token ids, or an array of token-id arrays).
  struct Prompt {
    std::string text;
    std::vector<std::int32_t> tokens;
    bool is_tokens = false;
  };
  std::vector<Prompt> prompts;
  bool stream = false;
  bool include_usage = false;
  std::int64_t max_tokens = 16;  // OpenAI's default for completions
  std::int32_t n = 1;
  bool echo = false;
  std::optional<std::int32_t> logprobs;  // 0..5 alternatives
  std::string user;
  SamplingFields sampling;
  bool cache_shared = false;  // extension "cache_scope", as in ChatCompletionRequest
  std::optional<ResponseFormat> response_format;
  std::string priority;       // extension "priority", as in ChatCompletionRequest
};

Result<ChatCompletionRequest> parse_chat_completion_request(std::string_view body, const ApiLimits& limits = {});
Result<CompletionRequest> parse_completion_request(std::string_view body, const ApiLimits& limits = {});

// An invalid-request error naming the offending parameter (detail "param").
Status invalid_param(std::string_view param, std::string message);

}  // namespace parley
