// ToolSyntax: a served model's tool-call and reasoning syntax, worked out once when the model
// loads, from its chat template (toolcall/tool_family.h) and its vocabulary: which markers are
// control tokens (the detokenizer drops those from text, so whoever feeds an OutputParser must
// put their text back: marker_text()), and which single tokens open a call (the grammar triggers
// for tool_choice "auto").
//
// Immutable; any thread.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"
#include "tokenizer/tokenizer.h"
#include "toolcall/output_parser.h"
#include "toolcall/tool_family.h"
#include "toolcall/tool_grammar.h"

namespace parley {

class ToolSyntax {
 public:
  ToolSyntax() = default;
  // `family`: a family named by the operator instead of the template's (std::nullopt: detect).
  static ToolSyntax create(std::string_view template_source, const Tokenizer& tokenizer,
                           std::optional<ToolFamily> family = std::nullopt);

  const TemplateTraits& traits() const { return traits_; }
  ToolFamily family() const { return traits_.family; }
  ReasoningSyntax reasoning() const { return traits_.reasoning; }

  // The text of `token` when it is a control token the parsers need (a family or reasoning
  // marker), else nullopt (its text is what the detokenizer gives).
  std::optional<std::string_view> marker_text(TokenId token) const;
  bool has_marker_tokens() const { return !controls_.empty(); }
  const ControlMarkers& control_markers() const { return controls_; }
  // Single tokens whose text opens a call in this family (empty when the opening marker is not
  // one token, or the family's calls start the output).
  const std::vector<TokenId>& trigger_tokens() const { return triggers_; }

  // Whether the prompt's end leaves the reasoning open (it ends with the opening tag and
  // whitespace, as DeepSeek R1's templates do): the output starts inside the thinking.
  bool prompt_opens_reasoning(std::span<const TokenId> prompt, const Tokenizer& tokenizer) const;

  // The grammar options and key for this family (the caller fills tools and flags).
  Result<Grammar> grammar(ToolGrammarOptions options, const GrammarLimits& limits = {}) const;

 private:
  TemplateTraits traits_;
  ControlMarkers controls_;
  std::vector<TokenId> triggers_;
};

}  // namespace parley
