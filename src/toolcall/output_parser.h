// OutputParser: turns a model's generated text, fed in pieces of any size as it is generated,
// into events (toolcall/output_event.h): the reasoning ("thinking"), the content, and tool calls
// in the syntax of the model's family. One per generated sequence (n > 1: one per choice).
//
//   text -> ReasoningSplitter (<think>...</think> at the start, unless inline) -> reasoning events
//                             -> content text -> the family's CallParser (with tools) -> content
//                                                                                       and call events
//
// The events never depend on how the text was split: feeding "abc" or "a", "b", "c" gives the
// same events once merged (append_event). Malformed calls come back as content; nothing here
// fails or throws. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "toolcall/call_parser.h"
#include "toolcall/output_event.h"
#include "toolcall/tool_family.h"

namespace parley {

struct OutputParserOptions {
  ToolFamily family = ToolFamily::kBuiltin;
  bool parse_tools = false;  // tools were given and tool_choice is not "none"
  ReasoningSyntax reasoning = ReasoningSyntax::kNone;
  bool reasoning_inline = false;     // reasoning_format "inline": the thinking stays in the content
  bool starts_in_reasoning = false;  // the prompt ended with the opening tag (DeepSeek R1 templates)
  // Calls are held until complete (unconstrained generation may write malformed ones); without
  // it, calls stream as they are generated (a grammar guarantees their syntax).
  bool hold_calls = true;
  ToolCallIdFn new_id;  // empty: new_tool_call_id(family)
};

// A new call id: "call_" and 24 random letters and digits; for Mistral, 9 letters and digits (its
// template refuses other ids when the calls come back in the conversation).
std::string new_tool_call_id(ToolFamily family);

// Splits reasoning from content: the reasoning is what lies between the opening tag at the start
// of the output (after whitespace), or the start itself when the prompt opened it, and the
// closing tag. Whitespace around the reasoning is dropped.
class ReasoningSplitter {
 public:
  ReasoningSplitter(std::string_view open, std::string_view close, bool starts_open);
  // Reasoning events go to `out`; the content's text is appended to `content`.
  void feed(std::string_view text, std::vector<OutputEvent>& out, std::string& content);
  void finish(std::vector<OutputEvent>& out, std::string& content);

 private:
  enum class State : std::uint8_t { kStart, kReasoning, kAfter, kContent };
  void run(bool final, std::vector<OutputEvent>& out, std::string& content);
  void reasoning(std::string_view text, std::vector<OutputEvent>& out);

  std::string open_;
  std::string close_;
  State state_;
  std::string buf_;
  std::string ws_held_;
  bool reasoning_started_ = false;
};

class OutputParser {
 public:
  explicit OutputParser(OutputParserOptions options);
  ~OutputParser();
  OutputParser(OutputParser&&) noexcept;
  OutputParser& operator=(OutputParser&&) noexcept;

  void feed(std::string_view text, std::vector<OutputEvent>& out);
  // The end of the output: flushes everything held (every call ends; see call_parser.h).
  void finish(std::vector<OutputEvent>& out);
  // From here on the output is constrained by a grammar (a trigger token was generated): calls
  // stream as they are generated, the one in progress included.
  void release_calls(std::vector<OutputEvent>& out);

  // Whether any call started so far.
  bool has_tool_calls() const { return has_calls_; }

 private:
  void pass(std::string_view content, std::vector<OutputEvent>& out, bool final);
  void note(const std::vector<OutputEvent>& out, std::size_t from);

  OutputParserOptions options_;
  std::unique_ptr<ReasoningSplitter> splitter_;
  std::unique_ptr<CallParser> calls_;
  bool has_calls_ = false;
};

}  // namespace parley
