// The families with their own framing around JSON arguments: Functionary v3.1
// (<function=name>{...}</function>), Functionary v3.2 (name\n{...} after ">>>") and DeepSeek R1
// (<｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```<｜tool▁call▁end｜>).
#include <optional>

#include "toolcall/family_parsers.h"
#include "toolcall/markers.h"

namespace parley {
namespace {

constexpr std::size_t kMaxNameBytes = 64;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// The length of the name-like prefix of `s`.
std::size_t name_prefix(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && name_char(s[n])) ++n;
  return n;
}

class FunctionaryV31Parser final : public CallParser {
 public:
  using CallParser::CallParser;

 private:
  enum class State : std::uint8_t { kContent, kName, kArgs, kClose, kPython };

  bool step() override {
    switch (state_) {
      case State::kContent: {
        if (rest().empty()) return false;
        const int m = content_until({markers::kFunctionOpen, markers::kPythonTag});
        if (m < 0) return false;
        start_region();
        consume(m == 0 ? markers::kFunctionOpen.size() : markers::kPythonTag.size());
        state_ = m == 0 ? State::kName : State::kPython;
        return true;
      }
      case State::kName: {
        const std::string_view r = rest();
        const std::size_t n = name_prefix(r);
        if (n == r.size() && n <= kMaxNameBytes && !final()) return false;
        if (n == 0 || n > kMaxNameBytes || n == r.size() || r[n] != '>') return fail();
        begin_call(std::string(r.substr(0, n)));
        consume(n + 1);
        args_ = JsonScanner();
        state_ = State::kArgs;
        return true;
      }
      case State::kArgs: {
        const Read r = read_json_args(args_);
        if (r == Read::kMore) return false;
        if (r == Read::kError) return fail();
        state_ = State::kClose;
        return true;
      }
      case State::kClose: {
        if (!skip_ws()) return false;
        const Match m = match(markers::kFunctionClose);
        if (m == Match::kNeedMore) return false;
        if (m == Match::kYes) consume(markers::kFunctionClose.size());
        end_region();
        state_ = State::kContent;
        return true;
      }
      case State::kPython:  // the rest of the output is code for the "python" tool
        code_.append(rest());
        consume(rest().size());
        return false;
    }
    return false;
  }

  bool fail() {
    fail_region();
    state_ = State::kContent;
    return true;
  }

  void at_end() override {
    if (state_ == State::kPython) {
      begin_call("python");
      call_args("{\"code\": " + json_quote(code_) + "}");
      end_region();
    } else if (state_ == State::kClose) {
      end_region();
    } else if (state_ != State::kContent) {
      fail_region();
    }
  }

  State state_ = State::kContent;
  JsonScanner args_;
  std::string code_;
};

// The prompt ends with ">>>": the output starts with a recipient, "all" (content follows) or a
// function's name (its JSON arguments follow), and each ">>>" starts another.
class FunctionaryV32Parser final : public CallParser {
 public:
  using CallParser::CallParser;

 private:
  enum class State : std::uint8_t { kRecipient, kArgs, kContent };

  bool step() override {
    switch (state_) {
      case State::kRecipient: {
        const std::string_view r = rest();
        const std::size_t n = name_prefix(r);
        if (n == r.size() && n <= kMaxNameBytes && !final()) return false;
        if (n == 0 || n > kMaxNameBytes || n == r.size() || r[n] != '\n') {
          state_ = State::kContent;  // not a recipient line: plain text
          return true;
        }
        const std::string_view name = r.substr(0, n);
        if (name == "all") {
          consume(n + 1);
          state_ = State::kContent;
          return true;
        }
        start_region();
        begin_call(std::string(name));
        consume(n + 1);
        args_ = JsonScanner();
        state_ = State::kArgs;
        return true;
      }
      case State::kArgs: {
        const Read r = read_json_args(args_);
        if (r == Read::kMore) return false;
        if (r == Read::kError) {
          fail_region();
        } else {
          end_region();
        }
        state_ = State::kContent;
        return true;
      }
      case State::kContent:
        if (rest().empty() || content_until({markers::kRecipient}) < 0) return false;
        consume(markers::kRecipient.size());
        state_ = State::kRecipient;
        return true;
    }
    return false;
  }

  void at_end() override {
    if (state_ == State::kArgs) fail_region();
  }

  State state_ = State::kRecipient;
  JsonScanner args_;
};

class DeepSeekR1Parser final : public CallParser {
 public:
  using CallParser::CallParser;

 private:
  enum class State : std::uint8_t { kContent, kCalls, kType, kName, kFence, kArgs, kFenceClose, kCallEnd };

  bool step() override {
    const std::string_view r = rest();
    switch (state_) {
      case State::kContent: {
        if (r.empty()) return false;
        const int m = content_until({markers::kR1CallsBegin, markers::kR1CallBegin});
        if (m < 0) return false;
        start_region();
        if (m == 0) consume(markers::kR1CallsBegin.size());
        complete_ = 0;
        state_ = State::kCalls;
        return true;
      }
      case State::kCalls: {
        if (!skip_ws()) return false;
        const Match begin = match(markers::kR1CallBegin);
        const Match end = match(markers::kR1CallsEnd);
        if (begin == Match::kYes) {
          consume(markers::kR1CallBegin.size());
          state_ = State::kType;
        } else if (end == Match::kYes) {
          consume(markers::kR1CallsEnd.size());
          end_region();
          state_ = State::kContent;
        } else if (begin == Match::kNeedMore || end == Match::kNeedMore) {
          return false;
        } else {
          return complete_ > 0 ? finish_calls() : fail();
        }
        return true;
      }
      case State::kType: {  // "function" (the call's type), then the separator
        const std::size_t sep = r.find(markers::kR1Sep);
        if (sep == std::string_view::npos) return r.size() > 32 + markers::kR1Sep.size() || final() ? fail() : false;
        if (sep > 32) return fail();
        consume(sep + markers::kR1Sep.size());
        state_ = State::kName;
        return true;
      }
      case State::kName: {
        const std::size_t n = name_prefix(r);
        if (n == r.size() && n <= kMaxNameBytes && !final()) return false;
        if (n == 0 || n > kMaxNameBytes || n == r.size() || r[n] != '\n') return fail();
        begin_call(std::string(r.substr(0, n)));
        consume(n + 1);
        state_ = State::kFence;
        return true;
      }
      case State::kFence: {
        if (!skip_ws()) return false;
        const Match m = match(markers::kCodeFenceJson);
        if (m == Match::kNeedMore) return false;
        if (m == Match::kYes) {
          consume(markers::kCodeFenceJson.size());
        } else if (rest()[0] != '{') {
          return fail();
        }
        args_ = JsonScanner();
        state_ = State::kArgs;
        return true;
      }
      case State::kArgs: {
        const Read a = read_json_args(args_);
        if (a == Read::kMore) return false;
        if (a == Read::kError) return fail();
        ++complete_;
        state_ = State::kFenceClose;
        return true;
      }
      case State::kFenceClose:
      case State::kCallEnd: {
        if (!skip_ws()) return false;
        const std::string_view marker = state_ == State::kFenceClose ? markers::kCodeFence : markers::kR1CallEnd;
        const Match m = match(marker);
        if (m == Match::kNeedMore) return false;
        if (m == Match::kYes) consume(marker.size());
        state_ = state_ == State::kFenceClose ? State::kCallEnd : State::kCalls;
        return true;
      }
    }
    return false;
  }

  bool fail() {
    fail_region();
    state_ = State::kContent;
    return true;
  }

  // The closing markers are missing but the calls are whole: the rest is content.
  bool finish_calls() {
    end_region();
    state_ = State::kContent;
    return true;
  }

  void at_end() override {
    if (state_ == State::kContent) return;
    const bool whole = state_ == State::kFenceClose || state_ == State::kCallEnd || state_ == State::kCalls;
    if (whole && complete_ > 0) {
      end_region();
    } else {
      fail_region();
    }
  }

  State state_ = State::kContent;
  JsonScanner args_;
  std::int32_t complete_ = 0;
};

}  // namespace

std::unique_ptr<CallParser> make_text_family_parser(ToolFamily family, CallParser::Options options) {
  switch (family) {
    case ToolFamily::kFunctionaryV31:
      return std::make_unique<FunctionaryV31Parser>(std::move(options));
    case ToolFamily::kFunctionaryV32:
      return std::make_unique<FunctionaryV32Parser>(std::move(options));
    default:
      return std::make_unique<DeepSeekR1Parser>(std::move(options));
  }
}

}  // namespace parley
