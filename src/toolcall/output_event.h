// What the output parser (toolcall/output_parser.h) makes of a model's generated text: a stream
// of events (content, reasoning, tool-call starts and argument pieces), and their sum.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley {

struct OutputEvent {
  enum class Kind : std::uint8_t {
    kContent,            // text: a piece of the answer
    kReasoning,          // text: a piece of the thinking
    kToolCallStart,      // a call begins: index, id, text = the function's name
    kToolCallArguments,  // text: the next piece of call `index`'s arguments (JSON text)
  };
  Kind kind = Kind::kContent;
  std::int32_t index = 0;  // tool calls: 0, 1, ... in the order they start
  std::string text;
  std::string id;  // kToolCallStart
};

struct ParsedToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

// The events summed up: what a non-streamed response returns.
struct ParsedOutput {
  std::string content;
  std::string reasoning;
  std::vector<ParsedToolCall> tool_calls;

  void apply(const OutputEvent& e);
  void apply(const std::vector<OutputEvent>& events) {
    for (const OutputEvent& e : events) apply(e);
  }
};

// Appends `e` to `out`, merged into the last event when both are pieces of the same thing
// (content, reasoning, or the arguments of the same call).
void append_event(std::vector<OutputEvent>& out, OutputEvent e);

}  // namespace parley
