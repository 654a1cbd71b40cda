#include "toolcall/call_parser.h"

#include <algorithm>

namespace parley {
namespace {

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name_key(std::string_view key) {
  return key == "name" || key == "tool_name";
}
bool is_args_key(std::string_view key) {
  return key == "arguments" || key == "parameters";
}

// The longest suffix of `text` that is a proper prefix of `marker`.
std::size_t partial_suffix(std::string_view text, std::string_view marker) {
  for (std::size_t k = std::min(marker.size() - 1, text.size()); k > 0; --k) {
    if (text.substr(text.size() - k) == marker.substr(0, k)) return k;
  }
  return 0;
}

bool is_json_object(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\n\r");
  return start != std::string_view::npos && text[start] == '{' && is_json_value(text);
}

}  // namespace

// ---- OutputEvent helpers ---------------------------------------------------------------------

void ParsedOutput::apply(const OutputEvent& e) {
  switch (e.kind) {
    case OutputEvent::Kind::kContent:
      content += e.text;
      break;
    case OutputEvent::Kind::kReasoning:
      reasoning += e.text;
      break;
    case OutputEvent::Kind::kToolCallStart:
      if (static_cast<std::size_t>(e.index) >= tool_calls.size())
        tool_calls.resize(static_cast<std::size_t>(e.index) + 1);
      tool_calls[static_cast<std::size_t>(e.index)].id = e.id;
      tool_calls[static_cast<std::size_t>(e.index)].name = e.text;
      break;
    case OutputEvent::Kind::kToolCallArguments:
      if (static_cast<std::size_t>(e.index) < tool_calls.size())
        tool_calls[static_cast<std::size_t>(e.index)].arguments += e.text;
      break;
  }
}

void append_event(std::vector<OutputEvent>& out, OutputEvent e) {
  if (e.kind != OutputEvent::Kind::kToolCallStart && e.text.empty()) return;
  if (!out.empty()) {
    OutputEvent& last = out.back();
    const bool same = last.kind == e.kind && e.kind != OutputEvent::Kind::kToolCallStart &&
                      (e.kind != OutputEvent::Kind::kToolCallArguments || last.index == e.index);
    if (same) {
      last.text += e.text;
      return;
    }
  }
  out.push_back(std::move(e));
}

// ---- CallObjectReader ------------------------------------------------------------------------

bool CallObjectReader::take_name(std::string* name) {
  if (!name_known_ || name_taken_) return false;
  name_taken_ = true;
  *name = name_;
  return true;
}

std::string CallObjectReader::take_args() {
  if (!name_known_) return {};
  std::string out = std::move(args_ready_);
  args_ready_.clear();
  return out;
}

CallObjectReader::Step CallObjectReader::feed(char c) {
  switch (state_) {
    case State::kOpen:
      if (is_ws(c)) return Step::kMore;
      if (c != '{') return Step::kError;
      state_ = State::kKeyOrEnd;
      return Step::kMore;
    case State::kKeyOrEnd:
      if (is_ws(c)) return Step::kMore;
      if (c == '"') {
        key_.clear();
        state_ = State::kKey;
        return Step::kMore;
      }
      if (c == '}' && !after_comma_) return end_object();
      return Step::kError;
    case State::kKey:
      if (c == '"') {
        state_ = State::kColon;
        return Step::kMore;
      }
      if (static_cast<unsigned char>(c) < 0x20 || key_.size() > 256) return Step::kError;
      key_ += c;
      if (c == '\\') state_ = State::kKeyEscape;
      return Step::kMore;
    case State::kKeyEscape:
      key_ += c;
      state_ = State::kKey;
      return Step::kMore;
    case State::kColon:
      if (is_ws(c)) return Step::kMore;
      if (c != ':') return Step::kError;
      state_ = State::kValueStart;
      return Step::kMore;
    case State::kValueStart:
      if (is_ws(c)) return Step::kMore;
      return start_value(c);
    case State::kValue: {
      const JsonScanner::Step st = value_.feed(c);
      if (st == JsonScanner::Step::kError) return Step::kError;
      if (st == JsonScanner::Step::kEnded) {
        const Step s = end_value();
        return s == Step::kError ? s : feed(c);
      }
      route(c);
      return st == JsonScanner::Step::kDone ? end_value() : Step::kMore;
    }
    case State::kAfterValue:
      if (is_ws(c)) return Step::kMore;
      if (c == ',') {
        after_comma_ = true;
        state_ = State::kKeyOrEnd;
        return Step::kMore;
      }
      if (c == '}') return end_object();
      return Step::kError;
    case State::kEnd:
      return Step::kError;
  }
  return Step::kError;
}

CallObjectReader::Step CallObjectReader::start_value(char c) {
  role_ = Role::kOther;
  if (is_name_key(key_) && !name_known_) role_ = Role::kName;
  if (is_args_key(key_) && !args_seen_) role_ = Role::kArgs;
  if (role_ == Role::kName && c != '"') return Step::kError;
  if (role_ == Role::kArgs && c != '{' && c != '"') return Step::kError;
  string_args_ = role_ == Role::kArgs && c == '"';
  raw_.clear();
  value_ = JsonScanner();
  state_ = State::kValue;
  const JsonScanner::Step st = value_.feed(c);
  if (st == JsonScanner::Step::kError) return Step::kError;
  route(c);
  return st == JsonScanner::Step::kDone ? end_value() : Step::kMore;
}

void CallObjectReader::route(char c) {
  if (role_ == Role::kName || (role_ == Role::kArgs && string_args_)) {
    raw_ += c;
  } else if (role_ == Role::kArgs) {
    (name_known_ ? args_ready_ : args_waiting_) += c;
  }
}

CallObjectReader::Step CallObjectReader::end_value() {
  after_comma_ = false;
  state_ = State::kAfterValue;
  if (role_ == Role::kName) {
    if (!decode_json_string(raw_, &name_) || name_.empty()) return Step::kError;
    name_known_ = true;
    args_ready_ = std::move(args_waiting_) + args_ready_;
    args_waiting_.clear();
  } else if (role_ == Role::kArgs) {
    args_seen_ = true;
    if (string_args_) {
      std::string text;
      // The decoded text must be the arguments object itself, or the call is malformed.
      if (!decode_json_string(raw_, &text) || !is_json_object(text)) return Step::kError;
      (name_known_ ? args_ready_ : args_waiting_) += text;
    }
  }
  return Step::kMore;
}

CallObjectReader::Step CallObjectReader::end_object() {
  if (!name_known_) return Step::kError;
  if (!args_seen_) args_ready_ += "{}";
  state_ = State::kEnd;
  return Step::kDone;
}

// ---- CallParser ------------------------------------------------------------------------------

void CallParser::feed(std::string_view text, std::vector<OutputEvent>& out) {
  out_ = &out;
  buf_.append(text);
  run();
  if (pos_ > 4096 || pos_ == buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  out_ = nullptr;
}

void CallParser::finish(std::vector<OutputEvent>& out) {
  out_ = &out;
  final_ = true;
  run();
  at_end();
  if (in_region_) fail_region();
  if (!ws_held_.empty()) append_event(out, {OutputEvent::Kind::kContent, 0, std::move(ws_held_), {}});
  ws_held_.clear();
  out_ = nullptr;
}

void CallParser::release(std::vector<OutputEvent>& out) {
  options_.hold_calls = false;
  for (OutputEvent& e : held_) append_event(out, std::move(e));
  held_.clear();
}

void CallParser::run() {
  // Every step consumes text or changes state; a state machine that changed state without
  // consuming anything many times in a row would be a bug: the guard makes it stop, not hang.
  std::size_t last = pos_;
  int idle = 0;
  while (step()) {
    if (pos_ != last) {
      last = pos_;
      idle = 0;
    } else if (++idle > 64) {
      break;
    }
  }
}

void CallParser::consume(std::size_t n) {
  n = std::min(n, buf_.size() - pos_);
  if (in_region_) raw_.append(buf_, pos_, n);
  pos_ += n;
}

CallParser::Match CallParser::match(std::string_view literal) const {
  const std::string_view r = rest();
  if (r.size() >= literal.size()) return r.substr(0, literal.size()) == literal ? Match::kYes : Match::kNo;
  if (literal.substr(0, r.size()) == r) return final_ ? Match::kNo : Match::kNeedMore;
  return Match::kNo;
}

bool CallParser::skip_ws() {
  std::size_t n = 0;
  const std::string_view r = rest();
  while (n < r.size() && is_ws(r[n])) ++n;
  consume(n);
  return !rest().empty();
}

int CallParser::content_until(std::span<const std::string_view> markers) {
  const std::string_view r = rest();
  std::size_t best = std::string_view::npos;
  int which = -1;
  int i = 0;
  for (const std::string_view m : markers) {
    const std::size_t p = r.find(m);
    if (p < best) {
      best = p;
      which = i;
    }
    ++i;
  }
  if (which >= 0) {
    content(r.substr(0, best));
    consume(best);
    return which;
  }
  std::size_t hold = 0;
  if (!final_) {
    for (const std::string_view m : markers) hold = std::max(hold, partial_suffix(r, m));
  }
  content(r.substr(0, r.size() - hold));
  consume(r.size() - hold);
  return -1;
}

void CallParser::content(std::string_view text) {
  if (drop_leading_ws_) {
    while (!text.empty() && is_ws(text.front())) text.remove_prefix(1);
    if (text.empty()) return;
    drop_leading_ws_ = false;
  }
  std::size_t end = text.size();
  while (end > 0 && is_ws(text[end - 1])) --end;
  if (end == 0) {
    ws_held_.append(text);
    return;
  }
  std::string piece = std::move(ws_held_);
  ws_held_.assign(text.substr(end));
  piece.append(text.substr(0, end));
  emit({OutputEvent::Kind::kContent, 0, std::move(piece), {}});
}

void CallParser::start_region() {
  in_region_ = true;
  begun_ = false;
  raw_ = std::move(ws_held_);
  ws_held_.clear();
  region_first_index_ = next_index_;
}

void CallParser::begin_call(const std::string& name) {
  begun_ = true;
  call_index_ = next_index_++;
  emit({OutputEvent::Kind::kToolCallStart, call_index_, name, options_.new_id ? options_.new_id() : std::string()});
}

void CallParser::call_args(std::string_view text) {
  if (text.empty()) return;
  emit({OutputEvent::Kind::kToolCallArguments, call_index_, std::string(text), {}});
}

void CallParser::end_region() {
  in_region_ = false;
  begun_ = false;
  raw_.clear();
  drop_leading_ws_ = true;
  for (OutputEvent& e : held_) append_event(*out_, std::move(e));  // (empty unless hold_calls)
  held_.clear();
}

void CallParser::fail_region() {
  if (!options_.hold_calls && begun_) return end_region();
  held_.clear();
  next_index_ = region_first_index_;
  in_region_ = false;
  begun_ = false;
  const std::string raw = std::move(raw_);
  raw_.clear();
  content(raw);
}

void CallParser::emit(OutputEvent e) {
  if (in_region_ && options_.hold_calls) {
    held_.push_back(std::move(e));
  } else {
    append_event(*out_, std::move(e));
  }
}

CallParser::Read CallParser::read_call_object(CallObjectReader& reader) {
  std::string name;
  while (!rest().empty()) {
    const CallObjectReader::Step st = reader.feed(rest()[0]);
    if (st == CallObjectReader::Step::kError) {
      // What was read of the arguments belongs to the begun call however the text was split
      // (a streamed call that goes wrong ends as it stands: fail_region()).
      call_args(reader.take_args());
      return Read::kError;
    }
    consume(1);
    if (reader.take_name(&name)) begin_call(name);
    if (st == CallObjectReader::Step::kDone || rest().empty()) call_args(reader.take_args());
    if (st == CallObjectReader::Step::kDone) return Read::kDone;
  }
  return Read::kMore;
}

CallParser::Read CallParser::read_call_list(CallList& list) {
  using S = CallList::State;
  while (true) {
    switch (list.state) {
      case S::kOpen:
        if (!skip_ws()) return Read::kMore;
        if (rest()[0] != '[') return Read::kError;
        consume(1);
        list.state = S::kItem;
        break;
      case S::kItem:
        if (!skip_ws()) return Read::kMore;
        if (rest()[0] == ']' && list.complete == 0) {
          consume(1);
          return Read::kDone;
        }
        list.reader.emplace();
        list.state = S::kBody;
        break;
      case S::kBody: {
        const Read r = read_call_object(*list.reader);
        if (r != Read::kDone) return r;
        ++list.complete;
        list.state = S::kAfter;
        break;
      }
      case S::kAfter:
        if (!skip_ws()) return Read::kMore;
        if (rest()[0] == ']') {
          consume(1);
          return Read::kDone;
        }
        if (rest()[0] != ',') return Read::kError;
        consume(1);
        list.state = S::kItem;
        break;
    }
  }
}

CallParser::Read CallParser::read_json_args(JsonScanner& scanner) {
  std::string piece;
  Read result = Read::kMore;
  std::size_t n = 0;
  const std::string_view r = rest();
  for (; n < r.size(); ++n) {
    const char c = r[n];
    if (!scanner.started() && !is_ws(c) && c != '{') {
      result = Read::kError;
      break;
    }
    const JsonScanner::Step st = scanner.feed(c);
    if (st == JsonScanner::Step::kError || st == JsonScanner::Step::kEnded) {
      result = Read::kError;
      break;
    }
    if (scanner.started()) piece += c;
    if (st == JsonScanner::Step::kDone) {
      result = Read::kDone;
      ++n;
      break;
    }
  }
  consume(n);
  call_args(piece);
  return result;
}

}  // namespace parley
