// The grammar of a family's tool-call syntax around the tools' parameter schemas
// (grammar/json_schema.h), so that generation can only write well-formed calls to the given tools
// with valid arguments: with tool_choice "required" (or a named function) from the first token;
// with "auto" after a trigger token that opens a call (GenerateRequest::grammar_triggers).
//
// The calls are written the way the family's templates render them (e.g. Hermes:
// <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>, calls separated by "\n"); the
// arguments' whitespace is flexible within bounds (JsonSchemaOptions). A marker that is a control
// token in the model's vocabulary (e.g. Mistral's [TOOL_CALLS]) is that token in the grammar.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"
#include "tokenizer/vocab.h"
#include "toolcall/tool_family.h"

namespace parley {

struct ToolSpec {
  std::string name;             // [A-Za-z0-9_-]{1,64}
  std::string parameters_json;  // a JSON Schema; "" or "{}": any JSON object
  bool strict = false;          // unsupported schema keywords are errors (else ignored)
};

struct ToolGrammarOptions {
  ToolFamily family = ToolFamily::kBuiltin;
  std::vector<ToolSpec> tools;  // the tools it may call: all of them, or the named one
  bool parallel = true;         // one or more calls (where the family allows several), else one
  bool after_trigger = false;   // the text starts after the family's opening marker (auto)
  bool close_thinking = false;  // the prompt opened <think>: the output closes it first
};

// Control tokens by their text (the markers that are control tokens in this vocabulary).
using ControlMarkers = std::map<std::string, TokenId, std::less<>>;

// Errors are kInvalidArgument: a schema that cannot be compiled (with strict, an unsupported
// keyword; detail "param" = "tools[<name>]" + the JSON pointer in its schema), no tools.
Result<Grammar> build_tool_grammar(const ToolGrammarOptions& options, const ControlMarkers& controls,
                                   const GrammarLimits& limits = {});

// Identifies the grammar of `options` completely (for GrammarCompiler's cache; the control
// markers are the vocabulary's, which the compiler is per).
std::string tool_grammar_key(const ToolGrammarOptions& options);

}  // namespace parley
