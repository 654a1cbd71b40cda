#include "chat/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "base/utf8.h"
#include "chat/py_string.h"

namespace parley::chat {
namespace {

class JsonParser {
 public:
  JsonParser(std::string_view text, const JsonLimits& limits) : s_(text), limits_(limits) {}

  Result<Value> parse_document() {
    skip_ws();
    ASSIGN_OR_RETURN(Value v, parse_value(0));
    skip_ws();
    if (pos_ != s_.size()) return error("unexpected data after the JSON value");
    return v;
  }

 private:
  Status error(std::string_view what) const {
    return invalid_argument_error("JSON: {} at byte {}", what, pos_);
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool consume(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Result<Value> parse_value(int depth) {
    if (pos_ >= s_.size()) return error("unexpected end of input");
    const char c = s_[pos_];
    switch (c) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': {
        ASSIGN_OR_RETURN(std::string str, parse_string());
        return Value(std::move(str));
      }
      default: break;
    }
    if (consume("true")) return Value(true);
    if (consume("false")) return Value(false);
    if (consume("null")) return Value::none();
    if (consume("NaN")) return Value(std::numeric_limits<double>::quiet_NaN());
    if (consume("Infinity")) return Value(std::numeric_limits<double>::infinity());
    if (consume("-Infinity")) return Value(-std::numeric_limits<double>::infinity());
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    return error("unexpected character");
  }

  Result<Value> parse_number() {
    const std::size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !is_digit(s_[pos_])) return error("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    bool is_float = false;
    if (pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
      is_float = true;
      pos_ += 1;
      while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (p < s_.size() && is_digit(s_[p])) {
        is_float = true;
        pos_ = p;
        while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
      }
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    if (!is_float) {
      std::int64_t i = 0;
      const auto r = std::from_chars(b, e, i);
      if (r.ec == std::errc() && r.ptr == e) return Value(i);
    }
    double d = 0;
    const auto r = std::from_chars(b, e, d);
    if (r.ec == std::errc::result_out_of_range) {
      // Python's float() gives inf for overflow and 0.0 for underflow.
      const bool neg = *b == '-';
      const std::string_view digits(b, static_cast<std::size_t>(e - b));
      const std::size_t epos = digits.find_first_of("eE");
      const bool tiny = epos != std::string_view::npos && digits[epos + 1] == '-';
      d = tiny ? (neg ? -0.0 : 0.0) : (neg ? -HUGE_VAL : HUGE_VAL);
    } else if (r.ec != std::errc() || r.ptr != e) {
      return error("invalid number");
    }
    return Value(d);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  Result<unsigned> parse_hex4() {
    if (pos_ + 4 > s_.size()) return error("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return error("invalid \\u escape");
      }
    }
    return v;
  }

  Result<std::string> parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      // Copy the run of plain bytes at once.
      std::size_t run = pos_;
      while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20) ++run;
      const std::string_view chunk = s_.substr(pos_, run - pos_);
      if (!utf8_is_valid(chunk)) {
        // Report the offset of the first bad byte.
        std::size_t p = 0;
        while (p < chunk.size()) {
          const std::size_t n = utf8_valid_prefix_char_length(chunk.substr(p));
          if (n == 0) break;
          p += n;
        }
        pos_ += p;
        return error("invalid UTF-8 in a string");
      }
      out.append(chunk);
      pos_ = run;
      if (pos_ >= s_.size()) return error("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c != '\\') return error("control character in a string");
      ++pos_;
      if (pos_ >= s_.size()) return error("unterminated string");
      const char esc = s_[pos_++];
      switch (esc) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          ASSIGN_OR_RETURN(unsigned cp, parse_hex4());
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            const std::size_t save = pos_;
            pos_ += 2;
            ASSIGN_OR_RETURN(unsigned lo, parse_hex4());
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;  // the second escape stands on its own
            }
          }
          utf8_append(out, static_cast<char32_t>(cp));  // lone surrogates become U+FFFD
          break;
        }
        default:
          --pos_;
          return error("invalid escape");
      }
    }
  }

  Result<Value> parse_array(int depth) {
    if (depth > limits_.depth_max) return resource_exhausted_error("JSON: nested deeper than {} at byte {}", limits_.depth_max, pos_);
    ++pos_;
    std::vector<Value> items;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Value::list(std::move(items));
    }
    while (true) {
      skip_ws();
      ASSIGN_OR_RETURN(Value v, parse_value(depth));
      items.push_back(std::move(v));
      skip_ws();
      if (pos_ >= s_.size()) return error("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return Value::list(std::move(items));
      }
      return error("expected ',' or ']'");
    }
  }

  Result<Value> parse_object(int depth) {
    if (depth > limits_.depth_max) return resource_exhausted_error("JSON: nested deeper than {} at byte {}", limits_.depth_max, pos_);
    ++pos_;
    Dict d;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Value::dict(std::move(d));
    }
    while (true) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return error("expected a string key");
      ASSIGN_OR_RETURN(std::string key, parse_string());
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return error("expected ':'");
      ++pos_;
      skip_ws();
      ASSIGN_OR_RETURN(Value v, parse_value(depth));
      d.set(Value(std::move(key)), std::move(v));
      skip_ws();
      if (pos_ >= s_.size()) return error("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return Value::dict(std::move(d));
      }
      return error("expected ',' or '}'");
    }
  }

  std::string_view s_;
  const JsonLimits& limits_;
  std::size_t pos_ = 0;
};

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  std::size_t pos = 0;
  while (pos < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[pos]);
    if (b >= 0x80) {
      if (!ensure_ascii) {
        out += static_cast<char>(b);
        ++pos;
        continue;
      }
      const char32_t cp = utf8_decode(s, &pos);
      char buf[16];
      if (cp >= 0x10000) {
        const unsigned v = static_cast<unsigned>(cp) - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
      continue;
    }
    ++pos;
    switch (b) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (b < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", b);
          out += buf;
        } else {
          out += static_cast<char>(b);
        }
    }
  }
  out += '"';
}

void append_json_float(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
  } else if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
  } else {
    py::append_float_repr(out, d);
  }
}

class JsonWriter {
 public:
  JsonWriter(std::string& out, const JsonFormat& f, std::size_t bytes_max)
      : out_(out), f_(f), bytes_max_(bytes_max),
        item_sep_(f.item_separator ? *f.item_separator : (f.indent ? "," : ", ")),
        key_sep_(f.key_separator ? *f.key_separator : ": ") {}

  Status write(const Value& v, int level) {
    if (out_.size() > bytes_max_) return resource_exhausted_error("tojson: output larger than {} bytes", bytes_max_);
    switch (v.kind()) {
      case ValueKind::kNone: out_ += "null"; return ok_status();
      case ValueKind::kBool: out_ += v.as_bool() ? "true" : "false"; return ok_status();
      case ValueKind::kInt: out_ += std::to_string(v.as_int()); return ok_status();
      case ValueKind::kFloat: append_json_float(out_, v.as_float()); return ok_status();
      case ValueKind::kString: append_json_string(out_, v.str(), f_.ensure_ascii); return ok_status();
      case ValueKind::kList: {
        if (v.is_iterator()) break;
        const auto& items = v.items();
        if (items.empty()) {
          out_ += "[]";
          return ok_status();
        }
        out_ += '[';
        for (std::size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out_ += item_sep_;
          newline(level + 1);
          RETURN_IF_ERROR(write(items[i], level + 1));
        }
        newline(level);
        out_ += ']';
        return ok_status();
      }
      case ValueKind::kDict: return write_dict(v.dict(), level);
      default: break;
    }
    return invalid_argument_error("Object of type {} is not JSON serializable", v.type_name());
  }

 private:
  void newline(int level) {
    if (!f_.indent) return;
    out_ += '\n';
    // A long indent string times a deep level could be huge: stop at the limit (write() fails).
    for (int i = 0; i < level && out_.size() <= bytes_max_; ++i) out_ += *f_.indent;
  }

  Status write_key(const Value& k) {
    switch (k.kind()) {
      case ValueKind::kString: append_json_string(out_, k.str(), f_.ensure_ascii); return ok_status();
      case ValueKind::kNone: out_ += "\"null\""; return ok_status();
      case ValueKind::kBool: out_ += k.as_bool() ? "\"true\"" : "\"false\""; return ok_status();
      case ValueKind::kInt: out_ += '"' + std::to_string(k.as_int()) + '"'; return ok_status();
      case ValueKind::kFloat:
        out_ += '"';
        append_json_float(out_, k.as_float());
        out_ += '"';
        return ok_status();
      default:
        return invalid_argument_error("keys must be str, int, float, bool or None, not {}", k.type_name());
    }
  }

  Status write_dict(const Dict& d, int level) {
    if (d.empty()) {
      out_ += "{}";
      return ok_status();
    }
    std::vector<const std::pair<Value, Value>*> order;
    order.reserve(d.size());
    for (const auto& e : d.entries()) order.push_back(&e);
    if (f_.sort_keys) {
      bool ok = true;
      std::stable_sort(order.begin(), order.end(), [&](const auto* a, const auto* b) {
        bool cmp_ok = true;
        const int c = compare(a->first, b->first, &cmp_ok);
        if (!cmp_ok) ok = false;
        return c < 0;
      });
      if (!ok) return invalid_argument_error("tojson: sort_keys needs keys of one comparable type");
    }
    out_ += '{';
    bool first = true;
    for (const auto* e : order) {
      if (!first) out_ += item_sep_;
      first = false;
      newline(level + 1);
      RETURN_IF_ERROR(write_key(e->first));
      out_ += key_sep_;
      RETURN_IF_ERROR(write(e->second, level + 1));
    }
    newline(level);
    out_ += '}';
    return ok_status();
  }

  std::string& out_;
  const JsonFormat& f_;
  std::size_t bytes_max_;
  std::string item_sep_;
  std::string key_sep_;
};

}  // namespace

Result<Value> value_from_json(std::string_view json, const JsonLimits& limits) {
  if (json.size() > limits.bytes_max) {
    return resource_exhausted_error("JSON: {} bytes is over the limit of {}", json.size(), limits.bytes_max);
  }
  JsonParser p(json, limits);
  return p.parse_document();
}

Status append_json(std::string& out, const Value& v, const JsonFormat& format, std::size_t bytes_max) {
  JsonWriter w(out, format, bytes_max);
  RETURN_IF_ERROR(w.write(v, 0));
  if (out.size() > bytes_max) return resource_exhausted_error("tojson: output larger than {} bytes", bytes_max);
  return ok_status();
}

Result<std::string> to_json(const Value& v, const JsonFormat& format) {
  std::string out;
  RETURN_IF_ERROR(append_json(out, v, format));
  return out;
}

}  // namespace parley::chat
