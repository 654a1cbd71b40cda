// OpenAI wire responses: JSON bodies of completions, chat completions, their streamed chunks,
// model lists and error bodies, and Server-Sent Events framing. Byte-compatible with what the
// official client libraries parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley {

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_tokens = 0;  // prompt tokens served from the prefix cache
};

// The logprob of one generated token, as OpenAI reports it (chat: content[]; completions: the
// legacy parallel arrays).
struct TokenLogprobOut {
  std::string token;               // the token's text (invalid UTF-8 replaced)
  float logprob = 0;
  std::vector<std::uint8_t> bytes;  // the token's exact bytes
  struct Alternative {
    std::string token;
    float logprob;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Alternative> top;
};

// One tool call of an assistant message: function.arguments is JSON text (a string on the wire).
struct ToolCallOut {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ChatChoiceOut {
  std::int32_t index = 0;
  std::string content;
  std::string finish_reason;  // "stop", "length", "tool_calls"
  std::optional<std::vector<TokenLogprobOut>> logprobs;
  // message.reasoning_content (the model's thinking, DeepSeek's and vLLM's field); absent if empty.
  std::string reasoning_content;
  // message.tool_calls; with calls and no content, message.content is null (as OpenAI sends it).
  std::vector<ToolCallOut> tool_calls;
};

// What one streamed chunk's delta carries beyond the role: content, reasoning, or a piece of a
// tool call (delta.tool_calls[0]: with `start`, index, id, type and function.name, then pieces
// with index and function.arguments).
struct ChatDeltaOut {
  std::optional<std::string_view> content;
  std::optional<std::string_view> reasoning_content;
  struct ToolCallPiece {
    std::int32_t index = 0;
    bool start = false;
    std::string_view id;
    std::string_view name;
    std::string_view arguments;
  };
  std::optional<ToolCallPiece> tool_call;
};

struct CompletionChoiceOut {
  std::int32_t index = 0;
  std::string text;
  std::string finish_reason;
  std::optional<std::vector<TokenLogprobOut>> logprobs;
  std::int64_t text_offset_base = 0;  // where the generated text starts in `text` (echo)
};

struct ModelInfoOut {
  std::string id;
  std::int64_t created = 0;
  std::string owned_by = "parley";
  // Parley's fields beside OpenAI's (models loaded on demand, docs/api.md): written when set.
  std::int64_t size_bytes = -1;  // the model file's size (-1: not written)
  std::optional<bool> loaded;    // whether its weights are in memory now
  std::string state;             // unloaded, loading, loaded, unloading, failed ("": not written)
  std::optional<bool> pinned;
};

// {"error":{"message":...,"type":...,"param":...,"code":...}}; empty param/code become null.
std::string error_body(std::string_view message, std::string_view type, std::string_view param, std::string_view code);

std::string chat_completion_json(std::string_view id, std::int64_t created, std::string_view model,
                                 const std::vector<ChatChoiceOut>& choices, const Usage& usage);
// One chunk of a streamed chat completion for one choice. `role` is sent in the first chunk of a
// choice; `content` when there is text; `finish_reason` in the last.
std::string chat_chunk_json(std::string_view id, std::int64_t created, std::string_view model, std::int32_t index,
                            std::optional<std::string_view> role, std::optional<std::string_view> content,
                            const std::vector<TokenLogprobOut>* logprobs, std::optional<std::string_view> finish_reason);
// A chunk whose delta is `delta` (chat_chunk_json is the content-only case).
std::string chat_delta_chunk_json(std::string_view id, std::int64_t created, std::string_view model, std::int32_t index,
                                  const ChatDeltaOut& delta, const std::vector<TokenLogprobOut>* logprobs,
                                  std::optional<std::string_view> finish_reason);
// The final usage chunk (stream_options.include_usage): empty choices.
std::string chat_usage_chunk_json(std::string_view id, std::int64_t created, std::string_view model, const Usage& usage);

std::string completion_json(std::string_view id, std::int64_t created, std::string_view model,
                            const std::vector<CompletionChoiceOut>& choices, const Usage& usage);
std::string completion_chunk_json(std::string_view id, std::int64_t created, std::string_view model, std::int32_t index,
                                  std::string_view text, const std::vector<TokenLogprobOut>* logprobs,
                                  std::int64_t text_offset, std::optional<std::string_view> finish_reason);
std::string completion_usage_chunk_json(std::string_view id, std::int64_t created, std::string_view model,
                                        const Usage& usage);

std::string model_json(const ModelInfoOut& m);
std::string model_list_json(const std::vector<ModelInfoOut>& models);

// "data: <payload>\n\n"
std::string sse_event(std::string_view payload);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace parley
