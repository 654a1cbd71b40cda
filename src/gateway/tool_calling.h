// Tool calling and reasoning on /v1/chat/completions: how a request's tools, tool_choice,
// parallel_tool_calls and reasoning_format shape the generation (a grammar, grammar triggers) and
// how each choice's generated text becomes content, reasoning_content and tool_calls
// (toolcall/output_parser.h, in the syntax of the model's family: toolcall/tool_syntax.h).
//
//   tool_choice       generation                                       parsing
//   none (or no tools) free (response_format's grammar, if any)        reasoning only
//   auto              free until the model writes a token that opens   calls held until whole
//                     a call (grammar_triggers); then the call grammar  (malformed: content); after
//                     (when the family's opening marker is one token    a trigger, they stream
//                     and no response_format is set)
//   required          the call grammar from the first token: one call  calls stream (the grammar
//                     or several (parallel_tool_calls) to any tool      guarantees their syntax)
//   named function    the same, to that tool only
//
// Compiling runs on the caller's thread (the gateway's request pool) with the model's cached
// GrammarCompiler. Errors: a tool schema the compiler refuses (strict: an unsupported keyword) is
// a 400 with param "tools".
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "api/openai_request.h"
#include "base/result.h"
#include "engine/request.h"
#include "grammar/grammar_compiler.h"
#include "tokenizer/tokenizer.h"
#include "toolcall/output_parser.h"
#include "toolcall/tool_syntax.h"

namespace parley {

// What the response side does with each choice's text.
struct ChatOutputPlan {
  OutputParserOptions parser;
  std::vector<TokenId> release_on;     // generated trigger tokens: the grammar took over
  const ToolSyntax* syntax = nullptr;  // the model's markers (control tokens' text)
  // Whether the text needs parsing at all (tools to parse, or reasoning to split).
  bool needed() const {
    return parser.parse_tools || (parser.reasoning != ReasoningSyntax::kNone && !parser.reasoning_inline);
  }
};

// Sets request->grammar (replacing the response_format grammar the caller put there, for
// required/named, or for auto when the model has a trigger token and no response_format is set)
// and request->grammar_triggers, and returns the plan for the response side.
Result<ChatOutputPlan> attach_tools(const ChatCompletionRequest& r, const ToolSyntax& syntax,
                                    const Tokenizer& tokenizer, GrammarCompiler& compiler, GenerateRequest* request);

// Reasoning only (no tools): the conversation API's replies.
ChatOutputPlan reasoning_plan(const ToolSyntax& syntax, const Tokenizer& tokenizer, std::span<const TokenId> prompt);

// One choice's output as it is generated: text (and the control tokens the detokenizer drops)
// in, OutputEvents out, and their sum. Not thread-safe.
class ChatOutput {
 public:
  explicit ChatOutput(const ChatOutputPlan& plan);

  // The text a generated token stands for that the detokenizer does not give (a marker that is
  // a control token in this vocabulary), else "".
  std::string_view marker_text(TokenId token) const;
  // Whether `token` makes the grammar take over (after it, calls stream as they are generated).
  bool releases(TokenId token) const;

  void feed(std::string_view text, std::vector<OutputEvent>& out);
  void release(std::vector<OutputEvent>& out);
  void finish(std::vector<OutputEvent>& out);  // once, at the end

  const ParsedOutput& parsed() const { return parsed_; }
  bool has_tool_calls() const { return !parsed_.tool_calls.empty(); }

 private:
  void sum(const std::vector<OutputEvent>& out, std::size_t from);

  const ToolSyntax* syntax_;
  std::vector<TokenId> release_on_;
  OutputParser parser_;
  ParsedOutput parsed_;
};

}  // namespace parley
