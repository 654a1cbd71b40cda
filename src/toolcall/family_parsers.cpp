// The families whose calls are JSON objects: after a marker anywhere in the text (Hermes,
// Mistral, FireFunction, Command R, Command R7B), or as the whole output (Llama 3, generic).
#include "toolcall/family_parsers.h"

#include <array>
#include <cctype>
#include <optional>
#include <vector>

#include "toolcall/markers.h"

namespace parley {
namespace {

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// content MARKER [fence] (object | [object, ...]) [close] content ...
struct MarkerSyntax {
  std::string_view open;
  std::size_t open_keep = 0;            // trailing bytes of `open` that belong to the list ('[')
  std::string_view fence;               // optional after `open` (Command R's ```json)
  bool single = false;                  // one object per marker (Hermes) instead of a list
  std::string_view close;               // optional after the calls
  std::vector<std::string_view> strip;  // markers dropped from the content (Command R7B's response tags)
};

class MarkerParser final : public CallParser {
 public:
  MarkerParser(MarkerSyntax syntax, Options options) : CallParser(std::move(options)), syntax_(std::move(syntax)) {
    markers_.push_back(syntax_.open);
    for (const std::string_view m : syntax_.strip) markers_.push_back(m);
  }

 private:
  enum class State : std::uint8_t { kContent, kFence, kCalls, kClose };

  bool step() override {
    switch (state_) {
      case State::kContent: {
        if (rest().empty()) return false;
        const int m = content_until(markers_);
        if (m < 0) return false;
        if (m > 0) {
          consume(markers_[static_cast<std::size_t>(m)].size());
          return true;
        }
        start_region();
        consume(syntax_.open.size() - syntax_.open_keep);
        list_ = {};
        reader_.emplace();
        state_ = syntax_.fence.empty() ? State::kCalls : State::kFence;
        return true;
      }
      case State::kFence: {
        if (!skip_ws()) return false;
        const Match m = match(syntax_.fence);
        if (m == Match::kNeedMore) return false;
        if (m == Match::kYes) consume(syntax_.fence.size());
        state_ = State::kCalls;
        return true;
      }
      case State::kCalls: {
        const Read r = syntax_.single ? read_call_object(*reader_) : read_call_list(list_);
        if (r == Read::kMore) return false;
        if (r == Read::kError) {
          fail_region();
          state_ = State::kContent;
        } else if (syntax_.close.empty()) {
          end_region();
          state_ = State::kContent;
        } else {
          state_ = State::kClose;
        }
        return true;
      }
      case State::kClose: {
        if (!skip_ws()) return false;
        const Match m = match(syntax_.close);
        if (m == Match::kNeedMore) return false;
        if (m == Match::kYes) consume(syntax_.close.size());
        end_region();
        state_ = State::kContent;
        return true;
      }
    }
    return false;
  }

  void at_end() override {
    if (state_ == State::kClose) {
      end_region();  // the closing marker is missing: the calls are whole
    } else if (state_ != State::kContent) {
      fail_region();
    }
  }

  MarkerSyntax syntax_;
  std::vector<std::string_view> markers_;
  State state_ = State::kContent;
  CallList list_;
  std::optional<CallObjectReader> reader_;
};

// Matches `parts` in order at the start of `text`, whitespace allowed between them; *length is
// the length of the match.
CallParser::Match match_parts(std::string_view text, std::span<const std::string_view> parts, bool final,
                              std::size_t* length) {
  std::size_t pos = 0;
  for (const std::string_view part : parts) {
    while (pos < text.size() && is_ws(text[pos])) ++pos;
    const std::string_view r = text.substr(pos);
    if (r.size() < part.size()) {
      return part.substr(0, r.size()) == r && !final ? CallParser::Match::kNeedMore : CallParser::Match::kNo;
    }
    if (r.substr(0, part.size()) != part) return CallParser::Match::kNo;
    pos += part.size();
  }
  *length = pos;
  return CallParser::Match::kYes;
}

// {"tool_calls": [{"name": ..., "arguments": {...}}, ...]} as the whole output; else content.
class GenericParser final : public CallParser {
 public:
  using CallParser::CallParser;

 private:
  enum class State : std::uint8_t { kStart, kCalls, kClose, kContent };

  bool step() override {
    switch (state_) {
      case State::kStart: {
        if (!skip_ws()) return false;
        static constexpr std::array<std::string_view, 4> kParts = {"{", "\"tool_calls\"", ":", "["};
        std::size_t length = 0;
        const Match m = match_parts(rest(), kParts, final(), &length);
        if (m == Match::kNeedMore) return false;
        if (m == Match::kNo) {
          state_ = State::kContent;
          return true;
        }
        start_region();
        consume(length - 1);
        state_ = State::kCalls;
        return true;
      }
      case State::kCalls: {
        const Read r = read_call_list(list_);
        if (r == Read::kMore) return false;
        if (r == Read::kError) {
          fail_region();
          state_ = State::kContent;
        } else {
          state_ = State::kClose;
        }
        return true;
      }
      case State::kClose: {
        if (!skip_ws()) return false;
        if (rest()[0] == '}') consume(1);
        end_region();
        state_ = State::kContent;
        return true;
      }
      case State::kContent:
        content(rest());
        consume(rest().size());
        return false;
    }
    return false;
  }

  void at_end() override {
    if (state_ == State::kClose) {
      end_region();
    } else if (state_ == State::kCalls) {
      fail_region();
    }
  }

  State state_ = State::kStart;
  CallList list_;
};

// Llama 3.x: the output is a call, {"name": ..., "parameters": {...}} (several separated by ";"
// are read too), or <|python_tag|> and a call: JSON, or a built-in tool's name.call(k="v", ...).
class Llama3Parser final : public CallParser {
 public:
  using CallParser::CallParser;

 private:
  enum class State : std::uint8_t { kStart, kTag, kJson, kBuiltin, kBetween, kContent };

  bool step() override {
    switch (state_) {
      case State::kBetween:  // after a call: ";" and another, or content
        if (!skip_ws()) return false;
        if (rest()[0] == ';') {
          consume(1);
          state_ = State::kStart;
        } else {
          state_ = State::kContent;
        }
        return true;
      case State::kStart: {
        if (!skip_ws()) return false;
        const Match tag = match(markers::kPythonTag);
        if (tag == Match::kNeedMore) return false;
        if (tag == Match::kYes) return open_tag();
        if (rest()[0] == '{') {
          start_region();
          reader_.emplace();
          state_ = State::kJson;
        } else {
          state_ = State::kContent;
        }
        return true;
      }
      case State::kTag:
        if (!skip_ws()) return false;
        if (rest()[0] == '{') {
          reader_.emplace();
          state_ = State::kJson;
        } else {
          state_ = State::kBuiltin;
        }
        return true;
      case State::kJson: {
        const Read r = read_call_object(*reader_);
        if (r == Read::kMore) return false;
        if (r == Read::kError) {
          fail_region();
          state_ = State::kContent;
        } else {
          end_region();
          state_ = State::kBetween;
        }
        return true;
      }
      case State::kBuiltin:
        return builtin_call();
      case State::kContent:
        if (content_until({markers::kPythonTag}) < 0) return false;
        return open_tag();
    }
    return false;
  }

  bool open_tag() {
    start_region();
    consume(markers::kPythonTag.size());
    state_ = State::kTag;
    return true;
  }

  // name.call(key="value", ...) up to the closing parenthesis outside quotes.
  bool builtin_call();

  void at_end() override {
    if (state_ == State::kTag || state_ == State::kJson || state_ == State::kBuiltin) fail_region();
  }

  State state_ = State::kStart;
  std::optional<CallObjectReader> reader_;
};

bool Llama3Parser::builtin_call() {
  const std::string_view r = rest();
  std::size_t i = 0;
  while (i < r.size() && (std::isalnum(static_cast<unsigned char>(r[i])) || r[i] == '_')) ++i;
  const std::string_view name = r.substr(0, i);
  const auto fail = [this] {
    fail_region();
    state_ = State::kContent;
    return true;
  };
  if (i == r.size() && !final() && i <= 64) return false;
  constexpr std::string_view kCall = ".call(";
  const std::string_view tail = r.substr(i);
  if (name.empty() || i > 64) return fail();
  if (tail.size() < kCall.size()) return !final() && kCall.substr(0, tail.size()) == tail ? false : fail();
  if (tail.substr(0, kCall.size()) != kCall) return fail();
  i += kCall.size();
  std::string args = "{";
  while (true) {
    while (i < r.size() && r[i] == ' ') ++i;
    if (i >= r.size()) return final() ? fail() : false;
    if (r[i] == ')') break;
    std::size_t k = i;
    while (k < r.size() && (std::isalnum(static_cast<unsigned char>(r[k])) || r[k] == '_')) ++k;
    if (k >= r.size()) return final() ? fail() : false;
    if (k == i || r[k] != '=') return fail();
    const std::string_view key = r.substr(i, k - i);
    if (k + 1 >= r.size()) return final() ? fail() : false;
    const char quote = r[k + 1];
    if (quote != '"' && quote != '\'') return fail();
    std::size_t end = k + 2;
    std::string value;
    while (end < r.size() && r[end] != quote) {
      if (r[end] == '\\' && end + 1 < r.size()) ++end;
      value += r[end++];
    }
    if (end >= r.size()) return final() ? fail() : false;
    if (args.size() > 1) args += ", ";
    args += json_quote(key) + ": " + json_quote(value);
    i = end + 1;
    while (i < r.size() && r[i] == ' ') ++i;
    if (i < r.size() && r[i] == ',') ++i;
  }
  begin_call(std::string(name));
  call_args(args + "}");
  consume(i + 1);
  end_region();
  state_ = State::kContent;
  return true;
}

MarkerSyntax marker_syntax(ToolFamily family) {
  switch (family) {
    case ToolFamily::kMistral:
      return {.open = markers::kMistralCalls};
    case ToolFamily::kFireFunction:
      return {.open = markers::kFireFunctionCalls, .open_keep = 1};
    case ToolFamily::kCommandR:
      return {.open = markers::kCommandRAction, .fence = markers::kCodeFenceJson, .close = markers::kCodeFence};
    case ToolFamily::kCommandR7B:
      return {.open = markers::kR7BActionOpen,
              .close = markers::kR7BActionClose,
              .strip = {markers::kR7BResponseOpen, markers::kR7BResponseClose}};
    default:  // kHermes, kBuiltin
      return {.open = markers::kHermesOpen, .single = true, .close = markers::kHermesClose};
  }
}

}  // namespace

std::unique_ptr<CallParser> make_json_family_parser(ToolFamily family, CallParser::Options options) {
  switch (family) {
    case ToolFamily::kLlama3:
      return std::make_unique<Llama3Parser>(std::move(options));
    case ToolFamily::kGeneric:
      return std::make_unique<GenericParser>(std::move(options));
    default:
      return std::make_unique<MarkerParser>(marker_syntax(family), std::move(options));
  }
}

std::unique_ptr<CallParser> make_call_parser(ToolFamily family, CallParser::Options options) {
  switch (family) {
    case ToolFamily::kFunctionaryV31:
    case ToolFamily::kFunctionaryV32:
    case ToolFamily::kDeepSeekR1:
      return make_text_family_parser(family, std::move(options));
    default:
      return make_json_family_parser(family, std::move(options));
  }
}

}  // namespace parley
