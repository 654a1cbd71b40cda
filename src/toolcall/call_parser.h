// CallParser: the machinery every family's streaming tool-call parser shares (the families are in
// toolcall/family_parsers.h). Text arrives in pieces of any size; the parser keeps what it has not
// decided yet in a buffer and advances a family-specific state machine over it, emitting events
// as soon as they are certain, so that what it emits never depends on how the text was split.
//
// Calls: a call starts (kToolCallStart) once its function name is known, then its arguments are
// streamed as they arrive. With `hold_calls` (generation not constrained by a grammar, so a call
// may be malformed) a call's events are held until the call closes well-formed; a malformed call
// gives its text back as content. Without it (a grammar guarantees the syntax), a malformed call
// can only come from the end of the output (max_tokens): the call is reported as it stands.
//
// Content: whitespace right before a call, and between calls, is dropped; trailing whitespace is
// held until more content arrives or the output ends.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "toolcall/json_scan.h"
#include "toolcall/output_event.h"

namespace parley {

using ToolCallIdFn = std::function<std::string()>;

// Reads one call object, {"name": "f", "arguments": {...}}, a character at a time. The keys that
// name the function and hold the arguments differ by family; other keys are skipped. Arguments
// given as a JSON string (some models do) are decoded; arguments missing are "{}".
class CallObjectReader {
 public:
  enum class Step : std::uint8_t { kMore, kDone, kError };

  // The name is under "name" or "tool_name" (Command R), the arguments under "arguments" or
  // "parameters" (Llama 3, Command R), whatever the family: being lenient costs nothing.
  CallObjectReader() = default;
  Step feed(char c);  // c is consumed unless kError
  // True once, when the function's name has become known (then in *name).
  bool take_name(std::string* name);
  // The arguments text that may be emitted now (once the name is known), and clears it.
  std::string take_args();

 private:
  enum class State : std::uint8_t {
    kOpen,
    kKeyOrEnd,
    kKey,
    kKeyEscape,
    kColon,
    kValueStart,
    kValue,
    kAfterValue,
    kEnd
  };
  enum class Role : std::uint8_t { kName, kArgs, kOther };
  Step start_value(char c);
  void route(char c);
  Step end_value();
  Step end_object();

  State state_ = State::kOpen;
  bool after_comma_ = false;
  std::string key_;
  Role role_ = Role::kOther;
  JsonScanner value_;
  bool string_args_ = false;
  std::string raw_;  // the current name or string-arguments value
  std::string name_;
  bool name_known_ = false;
  bool name_taken_ = false;
  bool args_seen_ = false;
  std::string args_ready_;    // to emit
  std::string args_waiting_;  // before the name is known
};

class CallParser {
 public:
  struct Options {
    bool hold_calls = false;
    ToolCallIdFn new_id;
  };
  enum class Match : std::uint8_t { kYes, kNo, kNeedMore };
  enum class Read : std::uint8_t { kMore, kDone, kError };

  explicit CallParser(Options options) : options_(std::move(options)) {}
  virtual ~CallParser() = default;

  void feed(std::string_view text, std::vector<OutputEvent>& out);
  void finish(std::vector<OutputEvent>& out);
  // The rest of the output is well-formed (a grammar took over): calls are no longer held; what
  // was held of the call in progress goes out now.
  void release(std::vector<OutputEvent>& out);

 protected:
  // One move of the state machine over rest(); false when it needs more text (never at the end:
  // then every state must decide). at_end() runs once after the last step.
  virtual bool step() = 0;
  virtual void at_end() {}

  std::string_view rest() const { return std::string_view(buf_).substr(pos_); }
  bool final() const { return final_; }
  void consume(std::size_t n);
  // rest() starts with `literal` (kNeedMore: it may, given more text; never at the end).
  Match match(std::string_view literal) const;
  // Consumes leading whitespace; true when a non-space character follows.
  bool skip_ws();
  // Emits the content before the first of `markers` in rest(); returns the index of the marker
  // now at the start of rest() (not consumed), or -1 when none is there yet (all content that
  // cannot be the start of a marker was emitted; at the end, all of it).
  int content_until(std::span<const std::string_view> markers);
  int content_until(std::initializer_list<std::string_view> markers) {
    return content_until(std::span<const std::string_view>(markers.begin(), markers.size()));
  }

  void content(std::string_view text);
  // A call region begins (its opening marker is next): held whitespace is dropped, raw text is
  // recorded from here on for a malformed call.
  void start_region();
  void begin_call(const std::string& name);
  void call_args(std::string_view text);
  // The call region ends: the call (if any began) is complete.
  void end_region();
  // The region is malformed: with hold_calls (or before a call began) its text becomes content;
  // otherwise a begun call ends as it stands.
  void fail_region();
  bool in_region() const { return in_region_; }
  bool call_begun() const { return begun_; }

  // Feeds rest() to a reader, consuming and emitting the call's events.
  Read read_call_object(CallObjectReader& reader);
  // A JSON array of call objects, [{...}, {...}], read from rest() across steps.
  struct CallList {
    enum class State : std::uint8_t { kOpen, kItem, kBody, kAfter } state = State::kOpen;
    std::optional<CallObjectReader> reader;
    std::int32_t complete = 0;  // calls read whole
  };
  Read read_call_list(CallList& list);
  // Streams one JSON object from rest() as the arguments of the begun call.
  Read read_json_args(JsonScanner& scanner);

 private:
  void emit(OutputEvent e);
  void run();

  Options options_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool final_ = false;
  std::vector<OutputEvent>* out_ = nullptr;
  std::string ws_held_;           // trailing whitespace of the content
  bool drop_leading_ws_ = false;  // content right after a call region
  bool in_region_ = false;
  bool begun_ = false;
  std::string raw_;  // the region's text so far (hold_calls / before the call began)
  std::vector<OutputEvent> held_;
  std::int32_t next_index_ = 0;
  std::int32_t region_first_index_ = 0;
  std::int32_t call_index_ = 0;
};

}  // namespace parley
