// ChatTemplate: renders a conversation into a prompt with a model's chat template, the Jinja
// `tokenizer.chat_template` string of its GGUF file, exactly as Hugging Face transformers'
// apply_chat_template does with Jinja2 (trim_blocks, lstrip_blocks, an immutable sandbox, the
// raise_exception / strftime_now globals and a json.dumps-like tojson).
//
// Templates come from model files and are untrusted: parsing and rendering are bounded in size,
// depth, steps and time (ParseLimits, RenderLimits), and every failure is a Status whose message
// names the template position. A template's own raise_exception(...) (e.g. "Conversation roles
// must alternate user/assistant/...") is a kInvalidArgument error carrying that message.
//
// Thread safety: a ChatTemplate is immutable; render() may run on many threads at once. Copies
// share the parsed template.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "chat/interpreter.h"
#include "chat/parser.h"
#include "chat/value.h"

namespace parley {
struct Vocab;
}

namespace parley::chat {

// A plain text message, for callers that have nothing richer (tools, tool calls) to pass.
struct ChatMessage {
  std::string role;
  std::string content;
};

// [{"role": ..., "content": ...}, ...] as template values.
Value messages_value(std::span<const ChatMessage> messages);

struct ChatInput {
  Value messages = Value::list({});  // list of dicts: role, content, tool_calls, name, tool_call_id...
  Value tools;                       // list of tool schemas; undefined (the default) = no tools
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  // More template variables (documents, enable_thinking, date_string, ...); a name given here
  // replaces the one above.
  std::vector<std::pair<std::string, Value>> extra;
  // The local time strftime_now() formats; empty = now. Tests fix it for reproducible output.
  std::optional<std::tm> now;
};

class ChatTemplate {
 public:
  // Normalises newlines (\r\n and \r become \n; one trailing newline is dropped, as Jinja2 does)
  // and parses. Errors are kInvalidArgument with line and column, or kResourceExhausted.
  static Result<ChatTemplate> parse(std::string_view source, const ParseLimits& limits = {});

  Result<std::string> render(const ChatInput& input, const RenderLimits& limits = {}) const;

  // The normalised source.
  const std::string& source() const;

 private:
  struct Parsed;
  explicit ChatTemplate(std::shared_ptr<const Parsed> parsed) : parsed_(std::move(parsed)) {}
  std::shared_ptr<const Parsed> parsed_;
};

// Parley's ChatML template, used when a model has none; with tools it speaks the built-in tool
// format (tokenizer/chatml_template.cpp, docs/tools.md).
std::string_view builtin_chatml_template();

// The model's chat template (vocab.chat_template), or the built-in ChatML one when the model
// has none. A template that does not parse is an error: the model loader reports it.
Result<ChatTemplate> chat_template_for(const Vocab& vocab);

}  // namespace parley::chat
