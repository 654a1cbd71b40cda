#include "toolcall/json_scan.h"

#include "base/utf8.h"

namespace parley {
namespace {

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

JsonScanner::Step JsonScanner::feed(char c) {
  switch (state_) {
    case State::kValue:
      if (is_ws(c)) return Step::kMore;
      return value_start(c);
    case State::kString:
      if (c == '"') {
        if (in_key_) {
          in_key_ = false;
          state_ = State::kColon;
          return Step::kMore;
        }
        return end_value();
      }
      if (c == '\\') {
        state_ = State::kEscape;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return Step::kError;
      }
      return Step::kMore;
    case State::kEscape:
      if (c == 'u') {
        state_ = State::kUnicode;
        hex_left_ = 4;
        return Step::kMore;
      }
      if (std::string_view("\"\\/bfnrt").find(c) == std::string_view::npos) return Step::kError;
      state_ = State::kString;
      return Step::kMore;
    case State::kUnicode:
      if (!is_hex(c)) return Step::kError;
      if (--hex_left_ == 0) state_ = State::kString;
      return Step::kMore;
    case State::kNumber:
      return number(c);
    case State::kLiteral:
      if (c != literal_[literal_pos_]) return Step::kError;
      if (++literal_pos_ == literal_.size()) return end_value();
      return Step::kMore;
    case State::kArrayFirst:
      if (is_ws(c)) return Step::kMore;
      if (c == ']') {
        stack_.pop_back();
        return end_value();
      }
      return value_start(c);
    case State::kAfterValue:
      if (is_ws(c)) return Step::kMore;
      if (c == ',') {
        state_ = stack_.back() == '{' ? State::kKeyAfterComma : State::kValue;
        return Step::kMore;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        stack_.pop_back();
        return end_value();
      }
      return Step::kError;
    case State::kKey:
    case State::kKeyAfterComma:
      if (is_ws(c)) return Step::kMore;
      if (c == '"') {
        in_key_ = true;
        state_ = State::kString;
        return Step::kMore;
      }
      if (c == '}' && state_ == State::kKey) {
        stack_.pop_back();
        return end_value();
      }
      return Step::kError;
    case State::kColon:
      if (is_ws(c)) return Step::kMore;
      if (c != ':') return Step::kError;
      state_ = State::kValue;
      return Step::kMore;
    case State::kEnd:
      return Step::kEnded;
  }
  return Step::kError;
}

JsonScanner::Step JsonScanner::value_start(char c) {
  if (!started_) first_ = c;
  started_ = true;
  switch (c) {
    case '{':
    case '[':
      if (stack_.size() >= kMaxDepth) return Step::kError;
      stack_.push_back(c);
      state_ = c == '{' ? State::kKey : State::kArrayFirst;
      return Step::kMore;
    case '"':
      in_key_ = false;
      state_ = State::kString;
      return Step::kMore;
    case '-':
      state_ = State::kNumber;
      num_ = 0;
      return Step::kMore;
    case 't':
    case 'f':
    case 'n':
      literal_ = c == 't' ? "true" : c == 'f' ? "false" : "null";
      literal_pos_ = 1;
      state_ = State::kLiteral;
      return Step::kMore;
    default:
      if (!is_digit(c)) return Step::kError;
      state_ = State::kNumber;
      num_ = c == '0' ? 1 : 2;
      return Step::kMore;
  }
}

JsonScanner::Step JsonScanner::end_value() {
  if (stack_.empty()) {
    state_ = State::kEnd;
    return Step::kDone;
  }
  state_ = State::kAfterValue;
  return Step::kMore;
}

JsonScanner::Step JsonScanner::number(char c) {
  const bool digit = is_digit(c);
  const bool exp = c == 'e' || c == 'E';
  switch (num_) {
    case 0:
      if (!digit) return Step::kError;
      num_ = c == '0' ? 1 : 2;
      return Step::kMore;
    case 1:
    case 2:
    case 4:
      if (digit && num_ != 1) return Step::kMore;
      if (c == '.' && num_ != 4) {
        num_ = 3;
        return Step::kMore;
      }
      if (exp) {
        num_ = 5;
        return Step::kMore;
      }
      break;  // the number has ended
    case 3:
      if (!digit) return Step::kError;
      num_ = 4;
      return Step::kMore;
    case 5:
      if (c == '+' || c == '-') {
        num_ = 6;
        return Step::kMore;
      }
      [[fallthrough]];
    case 6:
      if (!digit) return Step::kError;
      num_ = 7;
      return Step::kMore;
    case 7:
      if (digit) return Step::kMore;
      break;
  }
  if (stack_.empty()) {
    state_ = State::kEnd;
    return Step::kEnded;
  }
  state_ = State::kAfterValue;
  return feed(c);
}

bool JsonScanner::complete_at_end() const {
  if (state_ == State::kEnd) return true;
  return state_ == State::kNumber && stack_.empty() && (num_ == 1 || num_ == 2 || num_ == 4 || num_ == 7);
}

bool decode_json_string(std::string_view s, std::string* out) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  out->clear();
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') return false;
    if (c != '\\') {
      *out += c;
      continue;
    }
    if (++i >= s.size() - 1) return false;  // the backslash escaped the closing quote
    const char e = s[i];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        *out += e;
        break;
      case 'b':
        *out += '\b';
        break;
      case 'f':
        *out += '\f';
        break;
      case 'n':
        *out += '\n';
        break;
      case 'r':
        *out += '\r';
        break;
      case 't':
        *out += '\t';
        break;
      case 'u': {
        const auto read4 = [&](std::size_t at, char32_t* v) {
          if (at + 4 > s.size() - 1) return false;
          *v = 0;
          for (std::size_t k = at; k < at + 4; ++k) {
            if (!is_hex(s[k])) return false;
            *v = *v * 16 + static_cast<char32_t>(hex_value(s[k]));
          }
          return true;
        };
        char32_t cp = 0;
        if (!read4(i + 1, &cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 2 < s.size() - 1 && s[i + 1] == '\\' && s[i + 2] == 'u') {
          char32_t lo = 0;
          if (read4(i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        utf8_append(*out, cp);  // a lone surrogate becomes U+FFFD
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

std::string json_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool is_json_value(std::string_view text) {
  JsonScanner s;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const JsonScanner::Step st = s.feed(text[i]);
    if (st == JsonScanner::Step::kError) return false;
    if (st == JsonScanner::Step::kDone) {
      ++i;
      break;
    }
    if (st == JsonScanner::Step::kEnded) break;
  }
  if (!s.complete_at_end()) return false;
  for (; i < text.size(); ++i) {
    if (!is_ws(text[i])) return false;
  }
  return true;
}

}  // namespace parley
