#include "gateway/tool_calling.h"

#include <fmt/format.h>

#include <algorithm>

namespace parley {
namespace {

bool constrains_format(const std::optional<ResponseFormat>& f) {
  return f && f->type != ResponseFormat::Type::kText;
}

// The tool grammar compiled with the model's compiler (cached by its key); a schema the compiler
// refuses is the client's error.
Result<CompiledGrammarPtr> compile_tool_grammar(const ToolSyntax& syntax, GrammarCompiler& compiler,
                                                ToolGrammarOptions options) {
  options.family = syntax.family();
  const std::string key = tool_grammar_key(options);
  Result<CompiledGrammarPtr> grammar =
      compiler.compile(key, [&]() -> Result<Grammar> { return syntax.grammar(options, compiler.limits()); });
  if (grammar.ok()) return grammar;
  const Status& st = grammar.status();
  if (st.code() != ErrorCode::kInvalidArgument && st.code() != ErrorCode::kOutOfRange &&
      st.code() != ErrorCode::kResourceExhausted) {
    return st;
  }
  return invalid_param("tools", fmt::format("Invalid tool parameters schema: {}", st.message()));
}

}  // namespace

Result<ChatOutputPlan> attach_tools(const ChatCompletionRequest& r, const ToolSyntax& syntax,
                                    const Tokenizer& tokenizer, GrammarCompiler& compiler, GenerateRequest* request) {
  ChatOutputPlan plan;
  plan.syntax = &syntax;
  OutputParserOptions& o = plan.parser;
  o.family = syntax.family();
  o.reasoning = syntax.reasoning();
  o.reasoning_inline = r.reasoning_format == ChatCompletionRequest::ReasoningFormat::kInline;
  o.starts_in_reasoning = syntax.prompt_opens_reasoning(request->prompt, tokenizer);
  const ToolChoice::Mode mode = r.tool_choice.mode;
  if (r.tools.empty() || mode == ToolChoice::Mode::kNone) return plan;
  o.parse_tools = true;

  ToolGrammarOptions g;
  g.parallel = r.parallel_tool_calls;
  for (const ToolDef& t : r.tools) {
    if (mode != ToolChoice::Mode::kFunction || t.name == r.tool_choice.function) {
      g.tools.push_back({t.name, t.parameters_json, t.strict});
    }
  }
  if (g.tools.empty()) {
    return invalid_param("tool_choice", fmt::format("Tool '{}' is not among the tools.", r.tool_choice.function));
  }
  const bool forced = mode == ToolChoice::Mode::kRequired || mode == ToolChoice::Mode::kFunction;
  if (forced) {
    o.hold_calls = false;  // the grammar guarantees the calls' syntax: stream them
    g.close_thinking = o.starts_in_reasoning;
  } else {
    o.hold_calls = true;  // free text may hold malformed calls: each comes out whole, or as content
    // The constraint can start only at a single token that opens a call; response_format keeps
    // its own grammar (the calls are then parsed from free text).
    if (syntax.trigger_tokens().empty() || constrains_format(r.response_format)) return plan;
    g.after_trigger = true;
  }
  ASSIGN_OR_RETURN(CompiledGrammarPtr grammar, compile_tool_grammar(syntax, compiler, std::move(g)));
  request->grammar = std::move(grammar);
  if (!forced) {
    request->grammar_triggers = syntax.trigger_tokens();
    plan.release_on = syntax.trigger_tokens();
  }
  return plan;
}

ChatOutputPlan reasoning_plan(const ToolSyntax& syntax, const Tokenizer& tokenizer, std::span<const TokenId> prompt) {
  ChatOutputPlan plan;
  plan.syntax = &syntax;
  plan.parser.family = syntax.family();
  plan.parser.reasoning = syntax.reasoning();
  plan.parser.starts_in_reasoning = syntax.prompt_opens_reasoning(prompt, tokenizer);
  return plan;
}

ChatOutput::ChatOutput(const ChatOutputPlan& plan)
    : syntax_(plan.syntax), release_on_(plan.release_on), parser_(plan.parser) {}

std::string_view ChatOutput::marker_text(TokenId token) const {
  if (syntax_ == nullptr || !syntax_->has_marker_tokens()) return {};
  return syntax_->marker_text(token).value_or(std::string_view());
}

bool ChatOutput::releases(TokenId token) const {
  return std::find(release_on_.begin(), release_on_.end(), token) != release_on_.end();
}

void ChatOutput::feed(std::string_view text, std::vector<OutputEvent>& out) {
  const std::size_t from = out.size();
  std::vector<OutputEvent> ev;
  parser_.feed(text, ev);
  out.insert(out.end(), std::make_move_iterator(ev.begin()), std::make_move_iterator(ev.end()));
  sum(out, from);
}

void ChatOutput::release(std::vector<OutputEvent>& out) {
  const std::size_t from = out.size();
  std::vector<OutputEvent> ev;
  parser_.release_calls(ev);
  out.insert(out.end(), std::make_move_iterator(ev.begin()), std::make_move_iterator(ev.end()));
  sum(out, from);
}

void ChatOutput::finish(std::vector<OutputEvent>& out) {
  const std::size_t from = out.size();
  std::vector<OutputEvent> ev;
  parser_.finish(ev);
  out.insert(out.end(), std::make_move_iterator(ev.begin()), std::make_move_iterator(ev.end()));
  sum(out, from);
}

void ChatOutput::sum(const std::vector<OutputEvent>& out, std::size_t from) {
  for (std::size_t i = from; i < out.size(); ++i) parsed_.apply(out[i]);
}

}  // namespace parley
