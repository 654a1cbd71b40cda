#include "chat/lexer.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/utf8.h"
#include "chat/py_string.h"

namespace parley::chat {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's str.rstrip() (Unicode whitespace).
std::string_view rstrip_space(std::string_view s) {
  std::size_t keep = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const char32_t c = utf8_decode(s, &pos);
    if (!py::is_space(c)) keep = pos;
  }
  return s.substr(0, keep);
}

bool all_space(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    if (!py::is_space(utf8_decode(s, &pos))) return false;
  }
  return true;
}

struct OpSpelling {
  std::string_view text;
  TokenKind kind;
};
constexpr OpSpelling kOps[] = {
    {"//", TokenKind::kFloorDiv}, {"**", TokenKind::kPow},  {"==", TokenKind::kEq},     {"!=", TokenKind::kNe},
    {"<=", TokenKind::kLe},       {">=", TokenKind::kGe},   {"+", TokenKind::kAdd},     {"-", TokenKind::kSub},
    {"*", TokenKind::kMul},       {"/", TokenKind::kDiv},   {"%", TokenKind::kMod},     {"~", TokenKind::kTilde},
    {"[", TokenKind::kLBracket},  {"]", TokenKind::kRBracket}, {"(", TokenKind::kLParen}, {")", TokenKind::kRParen},
    {"{", TokenKind::kLBrace},    {"}", TokenKind::kRBrace},   {"<", TokenKind::kLt},     {">", TokenKind::kGt},
    {"=", TokenKind::kAssign},    {".", TokenKind::kDot},      {":", TokenKind::kColon},  {"|", TokenKind::kPipe},
    {",", TokenKind::kComma},     {";", TokenKind::kSemicolon},
};

}  // namespace

std::string describe_token_kind(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEof: return "end of template";
    case TokenKind::kText: return "template data";
    case TokenKind::kVarBegin: return "'{{'";
    case TokenKind::kVarEnd: return "end of print statement";
    case TokenKind::kBlockBegin: return "'{%'";
    case TokenKind::kBlockEnd: return "end of statement block";
    case TokenKind::kName: return "name";
    case TokenKind::kString: return "string";
    case TokenKind::kInt: return "integer";
    case TokenKind::kFloat: return "float";
    default: break;
  }
  for (const OpSpelling& op : kOps) {
    // (Not "'" + std::string(...) + "'": GCC 12 at -O3 warns falsely about overlapping memcpy.)
    if (op.kind == kind) return fmt::format("'{}'", op.text);
  }
  return "token";
}

SourcePos Lexer::pos_of(std::size_t offset) {
  if (offset < count_offset_) {
    count_offset_ = 0;
    count_pos_ = SourcePos{};
  }
  offset = std::min(offset, src_.size());
  for (; count_offset_ < offset; ++count_offset_) {
    const unsigned char c = static_cast<unsigned char>(src_[count_offset_]);
    if (c == '\n') {
      ++count_pos_.line;
      count_pos_.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++count_pos_.column;
    }
  }
  return count_pos_;
}

Status Lexer::error_at(std::size_t offset, std::string_view message) {
  const SourcePos p = pos_of(offset);
  return invalid_argument_error("chat template syntax error at line {}, column {}: {}", p.line, p.column, message);
}

bool Lexer::is_space_at(std::size_t pos, std::size_t* len) const {
  const unsigned char c = static_cast<unsigned char>(src_[pos]);
  if (c < 0x80) {
    *len = 1;
    return py::is_space(c);
  }
  std::size_t p = pos;
  const char32_t cp = utf8_decode(src_, &p);
  *len = p - pos;
  return py::is_space(cp);
}

std::size_t Lexer::skip_spaces(std::size_t pos) const {
  std::size_t len = 0;
  while (pos < src_.size() && is_space_at(pos, &len)) pos += len;
  return pos;
}

void Lexer::push_text(std::string_view text, std::size_t offset) {
  if (text.empty()) return;
  Token t;
  t.kind = TokenKind::kText;
  t.pos = pos_of(offset);
  t.text = std::string(text);
  pending_.push_back(std::move(t));
}

std::string_view Lexer::strip_before_tag(std::string_view text, char marker, bool is_variable) const {
  if (marker == '-') return rstrip_space(text);
  if (marker == '+' || is_variable) return text;
  const std::size_t nl = text.rfind('\n');
  const std::size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
  if (line_start > 0 || line_starting_) {
    const std::string_view tail = text.substr(line_start);
    if (!tail.empty() && all_space(tail)) return text.substr(0, line_start);
  }
  return text;
}

Status Lexer::lex_data() {
  std::size_t search = pos_;
  while (true) {
    const std::size_t t = src_.find('{', search);
    if (t == std::string_view::npos || t + 1 >= src_.size()) {
      push_text(src_.substr(pos_), pos_);
      pos_ = src_.size();
      return ok_status();
    }
    const char c = src_[t + 1];
    if (c != '{' && c != '%' && c != '#') {
      search = t + 1;
      continue;
    }
    const char marker = (t + 2 < src_.size() && (src_[t + 2] == '-' || src_[t + 2] == '+')) ? src_[t + 2] : 0;
    const std::size_t inner = t + 2 + (marker ? 1 : 0);
    const std::string_view before = strip_before_tag(src_.substr(pos_, t - pos_), marker, c == '{');
    push_text(before, pos_);

    if (c == '#') {
      const std::size_t close = src_.find("#}", inner);
      if (close == std::string_view::npos) return error_at(t, "missing end of comment tag");
      std::size_t end = close + 2;
      const char end_marker = close > inner ? src_[close - 1] : 0;
      if (end_marker == '-') {
        end = skip_spaces(end);
      } else if (end_marker != '+' && end < src_.size() && src_[end] == '\n') {
        ++end;  // trim_blocks
      }
      line_starting_ = src_[end - 1] == '\n';
      pos_ = search = end;
      continue;
    }

    if (c == '%') {
      // {% raw %} ... {% endraw %}
      std::size_t p = skip_spaces(inner);
      if (src_.substr(p, 3) == "raw") {
        p = skip_spaces(p + 3);
        std::size_t end = std::string_view::npos;
        if (src_.substr(p, 3) == "-%}") {
          end = skip_spaces(p + 3);
        } else if (src_.substr(p, 2) == "%}") {
          end = p + 2;
        }
        if (end != std::string_view::npos) {
          line_starting_ = src_[end - 1] == '\n';
          RETURN_IF_ERROR(lex_raw(end));
          return ok_status();
        }
      }
    }

    Token begin;
    begin.kind = c == '{' ? TokenKind::kVarBegin : TokenKind::kBlockBegin;
    begin.pos = pos_of(t);
    pending_.push_back(std::move(begin));
    state_ = c == '{' ? State::kVariable : State::kBlock;
    balance_.clear();
    line_starting_ = false;
    pos_ = inner;
    return ok_status();
  }
}

Status Lexer::lex_raw(std::size_t content_start) {
  std::size_t search = content_start;
  while (true) {
    const std::size_t t = src_.find("{%", search);
    if (t == std::string_view::npos) return error_at(content_start, "missing end of raw directive");
    const char marker = (t + 2 < src_.size() && (src_[t + 2] == '-' || src_[t + 2] == '+')) ? src_[t + 2] : 0;
    std::size_t p = skip_spaces(t + 2 + (marker ? 1 : 0));
    if (src_.substr(p, 6) != "endraw") {
      search = t + 2;
      continue;
    }
    p = skip_spaces(p + 6);
    std::size_t end;
    if (src_.substr(p, 3) == "+%}") {
      end = p + 3;
    } else if (src_.substr(p, 3) == "-%}") {
      end = skip_spaces(p + 3);
    } else if (src_.substr(p, 2) == "%}") {
      end = p + 2;
      if (end < src_.size() && src_[end] == '\n') ++end;
    } else {
      search = t + 2;
      continue;
    }
    push_text(strip_before_tag(src_.substr(content_start, t - content_start), marker, false), content_start);
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
    return ok_status();
  }
}

bool Lexer::at_tag_end(std::size_t* end_len, bool* strip_after, bool* keep_newline) const {
  const std::string_view rest = src_.substr(pos_);
  *strip_after = false;
  *keep_newline = false;
  if (state_ == State::kBlock) {
    if (rest.starts_with("-%}")) {
      *end_len = 3;
      *strip_after = true;
      return true;
    }
    if (rest.starts_with("+%}")) {
      *end_len = 3;
      *keep_newline = true;
      return true;
    }
    if (rest.starts_with("%}")) {
      *end_len = 2;
      return true;
    }
    return false;
  }
  if (rest.starts_with("-}}")) {
    *end_len = 3;
    *strip_after = true;
    return true;
  }
  if (rest.starts_with("}}")) {
    *end_len = 2;
    *keep_newline = true;  // trim_blocks does not apply to {{ }}
    return true;
  }
  return false;
}

Result<Token> Lexer::next() {
  while (pending_.empty()) {
    if (state_ != State::kData) return lex_in_tag();
    if (pos_ >= src_.size()) {
      Token t;
      t.kind = TokenKind::kEof;
      t.pos = pos_of(src_.size());
      return t;
    }
    RETURN_IF_ERROR(lex_data());
  }
  Token t = std::move(pending_.front());
  pending_.pop_front();
  return t;
}

Result<Token> Lexer::lex_in_tag() {
  while (true) {
    std::size_t end_len = 0;
    bool strip_after = false;
    bool keep_newline = false;
    if (balance_.empty() && at_tag_end(&end_len, &strip_after, &keep_newline)) {
      Token t;
      t.kind = state_ == State::kBlock ? TokenKind::kBlockEnd : TokenKind::kVarEnd;
      t.pos = pos_of(pos_);
      pos_ += end_len;
      if (strip_after) {
        pos_ = skip_spaces(pos_);
      } else if (!keep_newline && pos_ < src_.size() && src_[pos_] == '\n') {
        ++pos_;  // trim_blocks
      }
      line_starting_ = src_[pos_ - 1] == '\n';
      state_ = State::kData;
      return t;
    }
    if (pos_ >= src_.size()) return error_at(pos_, "unexpected end of template inside a tag");
    std::size_t space_len = 0;
    if (is_space_at(pos_, &space_len)) {
      pos_ += space_len;
      continue;
    }
    break;
  }
  const std::size_t start = pos_;
  const char c = src_[start];
  if (is_digit(c)) return lex_number(start);
  if (is_name_start(c)) {
    std::size_t p = start;
    while (p < src_.size() && is_name_char(src_[p])) ++p;
    Token t;
    t.kind = TokenKind::kName;
    t.pos = pos_of(start);
    t.text = std::string(src_.substr(start, p - start));
    pos_ = p;
    return t;
  }
  if (c == '\'' || c == '"') return lex_string(start);
  for (const OpSpelling& op : kOps) {
    if (src_.substr(start, op.text.size()) != op.text) continue;
    if (op.kind == TokenKind::kLParen || op.kind == TokenKind::kLBracket || op.kind == TokenKind::kLBrace) {
      balance_.push_back(op.text[0]);
    } else if (op.kind == TokenKind::kRParen || op.kind == TokenKind::kRBracket || op.kind == TokenKind::kRBrace) {
      const char open = op.kind == TokenKind::kRParen ? '(' : (op.kind == TokenKind::kRBracket ? '[' : '{');
      if (balance_.empty() || balance_.back() != open) {
        return error_at(start, fmt::format("unexpected '{}'", op.text));
      }
      balance_.pop_back();
    }
    Token t;
    t.kind = op.kind;
    t.pos = pos_of(start);
    pos_ = start + op.text.size();
    return t;
  }
  return error_at(start, fmt::format("unexpected character '{}'", c));
}

namespace {
// (\d+_)*\d+ starting at p: the end, or npos when there is no digit at p.
std::size_t scan_digits(std::string_view s, std::size_t p) {
  if (p >= s.size() || !is_digit(s[p])) return std::string_view::npos;
  while (true) {
    while (p < s.size() && is_digit(s[p])) ++p;
    if (p + 1 < s.size() && s[p] == '_' && is_digit(s[p + 1])) {
      ++p;
      continue;
    }
    return p;
  }
}

std::size_t scan_exponent(std::string_view s, std::size_t p) {
  if (p >= s.size() || (s[p] != 'e' && s[p] != 'E')) return std::string_view::npos;
  ++p;
  if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
  return scan_digits(s, p);
}

std::string without_underscores(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_') out += c;
  }
  return out;
}
}  // namespace

Result<Token> Lexer::lex_number(std::size_t start) {
  constexpr auto npos = std::string_view::npos;
  Token t;
  t.pos = pos_of(start);
  // Floats first, as Jinja2 does, but not right after a '.' (so `x.0.1` is two item lookups).
  if (start == 0 || src_[start - 1] != '.') {
    const std::size_t int_end = scan_digits(src_, start);
    std::size_t end = npos;
    if (int_end < src_.size() && src_[int_end] == '.') {
      const std::size_t frac_end = scan_digits(src_, int_end + 1);
      if (frac_end != npos) {
        const std::size_t exp_end = scan_exponent(src_, frac_end);
        end = exp_end != npos ? exp_end : frac_end;
      }
    }
    if (end == npos) end = scan_exponent(src_, int_end);
    if (end != npos) {
      const std::string text = without_underscores(src_.substr(start, end - start));
      double d = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
      if (r.ec == std::errc::result_out_of_range) {
        d = text.find("e-") != std::string::npos || text.find("E-") != std::string::npos ? 0.0 : HUGE_VAL;
      }
      t.kind = TokenKind::kFloat;
      t.float_value = d;
      pos_ = end;
      return t;
    }
  }
  int base = 10;
  std::size_t digits_begin = start;
  std::size_t end = start + 1;
  const char prefix = start + 1 < src_.size() ? static_cast<char>(src_[start + 1] | 0x20) : 0;
  const auto base_digit = [](char ch, int b) {
    const int v = hex_value(ch);
    return v >= 0 && v < b;
  };
  if (src_[start] == '0' && (prefix == 'b' || prefix == 'o' || prefix == 'x')) {
    base = prefix == 'b' ? 2 : (prefix == 'o' ? 8 : 16);
    std::size_t p = start + 2;
    std::size_t last = npos;
    while (true) {
      std::size_t q = p;
      if (q < src_.size() && src_[q] == '_') ++q;
      if (q < src_.size() && base_digit(src_[q], base)) {
        p = q + 1;
        last = p;
      } else {
        break;
      }
    }
    if (last != npos) {
      digits_begin = start + 2;
      end = last;
    } else {
      base = 10;  // just "0", then a name
    }
  }
  if (base == 10) {
    const bool zero = src_[start] == '0';
    std::size_t p = start + 1;
    while (true) {
      std::size_t q = p;
      if (q < src_.size() && src_[q] == '_') ++q;
      if (q < src_.size() && (zero ? src_[q] == '0' : is_digit(src_[q]))) {
        p = q + 1;
      } else {
        break;
      }
    }
    end = p;
  }
  const std::string text = without_underscores(src_.substr(digits_begin, end - digits_begin));
  std::int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (r.ec != std::errc()) return error_at(start, "integer literal too large");
  t.kind = TokenKind::kInt;
  t.int_value = v;
  pos_ = end;
  return t;
}

Result<Token> Lexer::lex_string(std::size_t start) {
  const char quote = src_[start];
  Token t;
  t.kind = TokenKind::kString;
  t.pos = pos_of(start);
  std::string& out = t.text;
  std::size_t p = start + 1;
  while (true) {
    if (p >= src_.size()) return error_at(start, "unterminated string");
    const char c = src_[p];
    if (c == quote) {
      pos_ = p + 1;
      return t;
    }
    if (c != '\\') {
      out += c;
      ++p;
      continue;
    }
    if (p + 1 >= src_.size()) return error_at(start, "unterminated string");
    const char e = src_[p + 1];
    p += 2;
    // Escapes as Python's unicode-escape codec reads them (Jinja2 decodes string literals so).
    switch (e) {
      case '\n': break;  // line continuation
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x':
      case 'u':
      case 'U': {
        const int n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        std::uint32_t cp = 0;
        for (int i = 0; i < n; ++i) {
          const int h = p < src_.size() ? hex_value(src_[p]) : -1;
          if (h < 0) return error_at(p, fmt::format("truncated \\{} escape in a string", e));
          cp = cp * 16 + static_cast<std::uint32_t>(h);
          ++p;
        }
        if (cp > 0x10FFFF) return error_at(p, "illegal Unicode character in a string");
        utf8_append(out, static_cast<char32_t>(cp));
        break;
      }
      case 'N':
        return error_at(p - 2, "\\N{...} escapes are not supported");
      default:
        if (e >= '0' && e <= '7') {
          std::uint32_t cp = static_cast<std::uint32_t>(e - '0');
          for (int i = 0; i < 2 && p < src_.size() && src_[p] >= '0' && src_[p] <= '7'; ++i, ++p) {
            cp = cp * 8 + static_cast<std::uint32_t>(src_[p] - '0');
          }
          utf8_append(out, static_cast<char32_t>(cp));
        } else if (static_cast<unsigned char>(e) >= 0x80) {
          // Jinja2 turns non-ASCII into \xNN / \uNNNN first, so the backslash escapes that one's
          // backslash: the text of the escape comes out.
          std::size_t q = p - 1;
          const char32_t cp = utf8_decode(src_, &q);
          char buf[16];
          std::snprintf(buf, sizeof buf, cp < 0x100 ? "\\x%02x" : (cp < 0x10000 ? "\\u%04x" : "\\U%08x"),
                        static_cast<unsigned>(cp));
          out += buf;
          p = q;
        } else {
          out += '\\';
          out += e;
        }
    }
  }
}

}  // namespace parley::chat
