#include "toolcall/tool_syntax.h"

#include <algorithm>
#include <array>

#include "toolcall/markers.h"

namespace parley {
namespace {

constexpr std::array<std::string_view, 18> kAllMarkers = {
    markers::kThinkOpen,     markers::kThinkClose,     markers::kHermesOpen,      markers::kHermesClose,
    markers::kPythonTag,     markers::kMistralCalls,   markers::kR7BThinkingOpen, markers::kR7BThinkingClose,
    markers::kR7BActionOpen, markers::kR7BActionClose, markers::kR7BResponseOpen, markers::kR7BResponseClose,
    markers::kR1CallsBegin,  markers::kR1CallsEnd,     markers::kR1CallBegin,     markers::kR1CallEnd,
    markers::kR1Sep,         markers::kFunctionClose,
};

// The marker that opens a call, where it can be a single token.
std::string_view opening_marker(ToolFamily family) {
  switch (family) {
    case ToolFamily::kHermes:
    case ToolFamily::kBuiltin:
      return markers::kHermesOpen;
    case ToolFamily::kLlama3:
      return markers::kPythonTag;
    case ToolFamily::kMistral:
      return markers::kMistralCalls;
    case ToolFamily::kCommandR7B:
      return markers::kR7BActionOpen;
    case ToolFamily::kDeepSeekR1:
      return markers::kR1CallsBegin;
    default:
      return {};
  }
}

}  // namespace

ToolSyntax ToolSyntax::create(std::string_view template_source, const Tokenizer& tokenizer,
                              std::optional<ToolFamily> family) {
  ToolSyntax s;
  s.traits_ = detect_template_traits(template_source);
  if (family) s.traits_.family = *family;
  const Vocab& vocab = tokenizer.vocab();
  for (const std::string_view m : kAllMarkers) {
    const TokenId id = vocab.find(m);
    if (id == kNoToken) continue;
    const TokenType type = vocab.types[static_cast<std::size_t>(id)];
    if (type == TokenType::kControl || type == TokenType::kUnknown) s.controls_.emplace(std::string(m), id);
  }
  const std::string_view open = opening_marker(s.traits_.family);
  if (!open.empty()) {
    const TokenId id = vocab.find(open);
    // Only a token that stands for exactly the marker: the grammar takes over right after it.
    if (id != kNoToken && (s.controls_.contains(open) || tokenizer.token_piece(id) == open)) s.triggers_.push_back(id);
  }
  return s;
}

std::optional<std::string_view> ToolSyntax::marker_text(TokenId token) const {
  for (const auto& [text, id] : controls_) {
    if (id == token) return std::string_view(text);
  }
  return std::nullopt;
}

bool ToolSyntax::prompt_opens_reasoning(std::span<const TokenId> prompt, const Tokenizer& tokenizer) const {
  if (traits_.reasoning != ReasoningSyntax::kThinkTags || prompt.empty()) return false;
  const std::size_t n = std::min<std::size_t>(prompt.size(), 8);
  std::string tail = tokenizer.decode(prompt.subspan(prompt.size() - n), {.render_special = true});
  while (!tail.empty() && (tail.back() == ' ' || tail.back() == '\n' || tail.back() == '\r' || tail.back() == '\t')) {
    tail.pop_back();
  }
  return tail.ends_with(markers::kThinkOpen);
}

Result<Grammar> ToolSyntax::grammar(ToolGrammarOptions options, const GrammarLimits& limits) const {
  options.family = traits_.family;
  return build_tool_grammar(options, controls_, limits);
}

}  // namespace parley
