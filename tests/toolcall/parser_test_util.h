// Helpers of the parser tests: run an OutputParser over text fed in given pieces, and check that
// every way of splitting the text gives the same events.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "toolcall/output_parser.h"

namespace parley::testing {

inline OutputParserOptions tool_options(ToolFamily family, bool hold = true) {
  OutputParserOptions o;
  o.family = family;
  o.parse_tools = true;
  o.hold_calls = hold;
  return o;
}

struct ParseRun {
  std::vector<OutputEvent> events;  // merged
  ParsedOutput out;
};

// Ids are "call_0", "call_1", ... per parser, so that runs compare equal.
inline ParseRun parse_pieces(OutputParserOptions o, const std::vector<std::string_view>& pieces) {
  auto counter = std::make_shared<int>(0);
  if (!o.new_id) o.new_id = [counter] { return "call_" + std::to_string((*counter)++); };
  OutputParser p(std::move(o));
  ParseRun r;
  std::vector<OutputEvent> ev;
  for (const std::string_view piece : pieces) {
    ev.clear();
    p.feed(piece, ev);
    for (OutputEvent& e : ev) append_event(r.events, std::move(e));
  }
  ev.clear();
  p.finish(ev);
  for (OutputEvent& e : ev) append_event(r.events, std::move(e));
  r.out.apply(r.events);
  return r;
}

inline ParseRun parse_text(const OutputParserOptions& o, std::string_view text) {
  return parse_pieces(o, {text});
}

inline std::string describe(const std::vector<OutputEvent>& events) {
  std::string s;
  for (const OutputEvent& e : events) {
    static constexpr const char* kKinds[] = {"content", "reasoning", "start", "args"};
    s += std::string(kKinds[static_cast<int>(e.kind)]) + "[" + std::to_string(e.index) + "]" + e.id + ":" + e.text +
         "\n";
  }
  return s;
}

// Calls start in order 0, 1, ...; each call's arguments come after its start and before the next
// call's start.
inline void expect_well_ordered(const std::vector<OutputEvent>& events) {
  std::int32_t started = 0;
  for (const OutputEvent& e : events) {
    if (e.kind == OutputEvent::Kind::kToolCallStart) {
      EXPECT_EQ(e.index, started) << describe(events);
      ++started;
    } else if (e.kind == OutputEvent::Kind::kToolCallArguments) {
      EXPECT_EQ(e.index, started - 1) << describe(events);
    }
  }
}

// The events of `text` fed whole equal those of every split in two, and of byte-by-byte feeding.
inline ParseRun expect_split_invariant(const OutputParserOptions& o, std::string_view text) {
  const ParseRun whole = parse_text(o, text);
  expect_well_ordered(whole.events);
  const std::string expected = describe(whole.events);
  for (std::size_t k = 0; k <= text.size(); ++k) {
    const ParseRun split = parse_pieces(o, {text.substr(0, k), text.substr(k)});
    if (describe(split.events) != expected) {
      ADD_FAILURE() << "split at " << k << " of '" << text << "':\n"
                    << describe(split.events) << "whole:\n"
                    << expected;
      return whole;
    }
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  const ParseRun by_byte = parse_pieces(o, bytes);
  EXPECT_EQ(describe(by_byte.events), expected) << "byte by byte: " << text;
  return whole;
}

}  // namespace parley::testing
