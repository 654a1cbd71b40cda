#include "chat/chat_template.h"

#include "chat/ast.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/vocab.h"

namespace parley::chat {

struct ChatTemplate::Parsed {
  std::string source;
  std::unique_ptr<Program> program;
};

namespace {

// Jinja2 reads templates with universal newlines and, by default, drops one trailing newline.
std::string normalise_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

Value messages_value(std::span<const ChatMessage> messages) {
  std::vector<Value> out;
  out.reserve(messages.size());
  for (const ChatMessage& m : messages) {
    Dict d;
    d.set(Value("role"), Value(m.role));
    d.set(Value("content"), Value(m.content));
    out.push_back(Value::dict(std::move(d)));
  }
  return Value::list(std::move(out));
}

Result<ChatTemplate> ChatTemplate::parse(std::string_view source, const ParseLimits& limits) {
  if (source.size() > limits.source_bytes_max) {
    return resource_exhausted_error("chat template is {} bytes, over the limit of {}", source.size(),
                                    limits.source_bytes_max);
  }
  auto parsed = std::make_shared<Parsed>();
  parsed->source = normalise_newlines(source);
  ASSIGN_OR_RETURN(parsed->program, parse_program(parsed->source, limits));
  return ChatTemplate(std::move(parsed));
}

const std::string& ChatTemplate::source() const { return parsed_->source; }

Result<std::string> ChatTemplate::render(const ChatInput& input, const RenderLimits& limits) const {
  std::vector<std::pair<std::string, Value>> vars;
  vars.reserve(input.extra.size() + 5);
  // Extras first: lookups take the first match, so they replace the standard names.
  for (const auto& kv : input.extra) vars.push_back(kv);
  vars.emplace_back("messages", input.messages);
  if (!input.tools.is_undefined()) vars.emplace_back("tools", input.tools);
  vars.emplace_back("add_generation_prompt", Value(input.add_generation_prompt));
  vars.emplace_back("bos_token", Value(input.bos_token));
  vars.emplace_back("eos_token", Value(input.eos_token));
  Interpreter interpreter(limits, input.now);
  return interpreter.render(*parsed_->program, vars);
}

// Parley's ChatML, with the built-in tool format (tokenizer/chatml_template.cpp).
std::string_view builtin_chatml_template() { return kChatMlTemplate; }

Result<ChatTemplate> chat_template_for(const Vocab& vocab) {
  if (vocab.chat_template.empty()) return ChatTemplate::parse(kChatMlTemplate);
  auto t = ChatTemplate::parse(vocab.chat_template);
  if (!t.ok()) return t.status().with_context("tokenizer.chat_template");
  return t;
}

}  // namespace parley::chat
