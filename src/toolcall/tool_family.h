// Tool-call syntaxes by model family, and how a model's family is told from its chat template.
//
// A model writes tool calls in the syntax it was trained on, which its chat template shows (the
// template renders earlier calls back into the prompt, and often describes the format). The
// family is chosen from the template's text once, when the model loads:
//
//   template text contains                                  family
//   <｜tool▁calls▁begin｜>                                   kDeepSeekR1
//   <|START_ACTION|>                                        kCommandR7B
//   <|START_OF_TURN_TOKEN|> and "Action:"                   kCommandR (Command R / R+ tool use)
//   ">>>" and "recipient"                                   kFunctionaryV32
//   <function=                                              kFunctionaryV31
//   functools[                                              kFireFunction
//   [TOOL_CALLS]                                            kMistral
//   <tool_call>                                             kHermes (Hermes 2/3, Qwen 2.5)
//   <|start_header_id|> and "parameters" or "ipython"       kLlama3 (Llama 3.1, 3.2, 3.3)
//   anything else that renders `tools`                      kGeneric (JSON)
//
// A template whose code never reads the `tools` (or FireFunction's `functions`) variable cannot
// show tool definitions to the model: the gateway then writes them into the system prompt in
// Parley's built-in format (docs/api.md), which is kBuiltin, whatever markers the template has.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace parley {

enum class ToolFamily : std::uint8_t {
  kBuiltin,         // Parley's format for templates without tools: Hermes-style <tool_call> JSON
  kHermes,          // <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>
  kLlama3,          // {"name": ..., "parameters": {...}} (optionally after <|python_tag|>)
  kMistral,         // [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]
  kFunctionaryV31,  // <function=name>{...}</function>
  kFunctionaryV32,  // >>>name\n{...} (the prompt ends with ">>>"; "all" is plain content)
  kCommandR,        // Action: ```json [{"tool_name": ..., "parameters": {...}}] ```
  kCommandR7B,      // <|START_ACTION|>[{"tool_call_id": "0", "tool_name": ..., "parameters": {...}}]<|END_ACTION|>
  kFireFunction,    // functools[{"name": ..., "arguments": {...}}, ...]
  kDeepSeekR1,  // <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```...
  kGeneric,  // {"tool_calls": [{"name": ..., "arguments": {...}}, ...]}
};

// How a model marks its reasoning ("thinking") before the answer.
enum class ReasoningSyntax : std::uint8_t {
  kNone,
  kThinkTags,   // <think> ... </think> (DeepSeek R1 distills, Qwen3, QwQ)
  kCommandR7B,  // <|START_THINKING|> ... <|END_THINKING|>
};

struct TemplateTraits {
  ToolFamily family = ToolFamily::kBuiltin;
  bool renders_tools = false;  // the template's code reads `tools` (or `functions`)
  ReasoningSyntax reasoning = ReasoningSyntax::kNone;
};

TemplateTraits detect_template_traits(std::string_view template_source);

// Whether the code of a Jinja template (inside {{ }} and {% %}, outside string literals) uses the
// identifier `name` as a variable (not as an attribute: `x.tools` does not count).
bool template_uses_variable(std::string_view template_source, std::string_view name);

// "builtin", "hermes", "llama3", "mistral", "functionary-v3.1", "functionary-v3.2", "command-r",
// "command-r7b", "firefunction-v2", "deepseek-r1", "generic".
std::string_view tool_family_name(ToolFamily family);
std::optional<ToolFamily> tool_family_from_name(std::string_view name);

// Whether a family's syntax can hold several calls in one reply (Llama 3's templates refuse
// more than one; the grammar then allows one whatever parallel_tool_calls says).
bool family_allows_parallel(ToolFamily family);

}  // namespace parley
