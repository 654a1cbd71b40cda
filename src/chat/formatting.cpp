// Python's string formatting as templates use it: `fmt % args` (and the |format filter) and
// str.format / format_map with the common format-spec features (fill, align, sign, width,
// grouping, precision, and the s d f e g x o b % types).
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>

#include "base/utf8.h"
#include "chat/builtins.h"
#include "chat/builtins_internal.h"
#include "chat/py_string.h"

namespace parley::chat {

using detail::type_error;

// ---- Python's % formatting ---------------------------------------------------------------------

namespace {
void pad(std::string& out, const std::string& body, std::int64_t width, bool left_align, char fill = ' ') {
  const auto n = static_cast<std::int64_t>(py::length(body));
  if (!left_align && width > n) out.append(static_cast<std::size_t>(width - n), fill);
  out += body;
  if (left_align && width > n) out.append(static_cast<std::size_t>(width - n), ' ');
}
}  // namespace

Result<std::string> percent_format(std::string_view format, const Value& args, std::size_t bytes_max) {
  const bool mapping = args.is_dict();
  std::vector<Value> positional;
  if (args.is_tuple()) {
    positional = args.items();
  } else if (!mapping) {
    positional.push_back(args);
  }
  std::size_t next_arg = 0;
  bool used_mapping = false;
  std::string out;
  std::size_t i = 0;
  while (i < format.size()) {
    if (out.size() > bytes_max) return resource_exhausted_error("a string would exceed {} bytes", bytes_max);
    const char c = format[i];
    if (c != '%') {
      out += c;
      ++i;
      continue;
    }
    if (++i >= format.size()) return type_error("incomplete format");
    const Value* arg = nullptr;
    if (format[i] == '(') {
      const std::size_t close = format.find(')', i);
      if (close == std::string_view::npos) return type_error("incomplete format key");
      if (!mapping) return type_error("format requires a mapping");
      const Value* v = args.dict().find(format.substr(i + 1, close - i - 1));
      if (v == nullptr) return type_error(fmt::format("KeyError: '{}'", format.substr(i + 1, close - i - 1)));
      arg = v;
      used_mapping = true;
      i = close + 1;
    }
    std::string flags;
    while (i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos) flags += format[i++];
    std::int64_t width = 0;
    std::optional<std::int64_t> precision;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') width = std::min<std::int64_t>(width * 10 + (format[i++] - '0'), 1 << 20);
    if (i < format.size() && format[i] == '.') {
      ++i;
      precision = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') *precision = std::min<std::int64_t>(*precision * 10 + (format[i++] - '0'), 1 << 10);
    }
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
    if (i >= format.size()) return type_error("incomplete format");
    const char conv = format[i++];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (arg == nullptr) {
      if (mapping) {
        arg = &args;
        used_mapping = true;
      } else {
        if (next_arg >= positional.size()) return type_error("not enough arguments for format string");
        arg = &positional[next_arg++];
      }
    }
    const bool left = flags.find('-') != std::string::npos;
    switch (conv) {
      case 's':
      case 'r':
      case 'a': {
        std::string body = conv == 's' ? to_str(*arg) : repr(*arg);
        if (precision) {
          const std::vector<char32_t> cps = py::decode(body);
          body = py::encode(cps, 0, std::min<std::size_t>(cps.size(), static_cast<std::size_t>(*precision)));
        }
        pad(out, body, width, left);
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o':
      case 'c':
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G': {
        if (conv == 'c') {
          if (arg->is_string() && py::length(arg->str()) == 1) {
            pad(out, arg->str(), width, left);
          } else if (arg->is_integral() && arg->as_int() >= 0 && arg->as_int() <= 0x10FFFF) {
            std::string s;
            utf8_append(s, static_cast<char32_t>(arg->as_int()));
            pad(out, s, width, left);
          } else {
            return type_error("%c requires int or char");
          }
          break;
        }
        if (!arg->is_number()) {
          return type_error(fmt::format("%{} format: a real number is required, not {}", conv, arg->type_name()));
        }
        const bool integer_conv = conv == 'd' || conv == 'i' || conv == 'u' || conv == 'x' || conv == 'X' || conv == 'o';
        if ((conv == 'x' || conv == 'X' || conv == 'o') && arg->is_float()) {
          return type_error(fmt::format("%{} format: an integer is required, not float", conv));
        }
        std::string spec = "%" + flags + std::to_string(width);
        char buf[2048];
        if (integer_conv) {
          double d = arg->as_float();
          if (arg->is_float() && !std::isfinite(d)) return type_error("cannot convert float to integer");
          const long long n = arg->is_float() ? static_cast<long long>(d) : static_cast<long long>(arg->as_int());
          spec += "ll";
          spec += conv == 'i' || conv == 'u' ? 'd' : conv;
          std::snprintf(buf, sizeof buf, spec.c_str(), n);
        } else {
          spec += "." + std::to_string(precision.value_or(6)) + conv;
          std::snprintf(buf, sizeof buf, spec.c_str(), arg->as_float());
        }
        out += buf;
        break;
      }
      default:
        return type_error(fmt::format("unsupported format character '{}'", conv));
    }
  }
  if (!mapping && next_arg < positional.size()) return type_error("not all arguments converted during string formatting");
  (void)used_mapping;
  return out;
}


// ---- str.format ------------------------------------------------------------------------------

namespace {

struct FormatSpec {
  std::string fill = " ";
  char align = 0;
  char sign = '-';
  bool alternate = false;
  std::int64_t width = 0;
  char grouping = 0;
  std::optional<std::int64_t> precision;
  char type = 0;
};

Result<FormatSpec> parse_spec(std::string_view spec) {
  FormatSpec f;
  std::size_t i = 0;
  const auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (!spec.empty()) {
    std::size_t first_len = 1;
    if (static_cast<unsigned char>(spec[0]) >= 0x80) {
      std::size_t p = 0;
      utf8_decode(spec, &p);
      first_len = p;
    }
    if (spec.size() > first_len && is_align(spec[first_len])) {
      f.fill = std::string(spec.substr(0, first_len));
      f.align = spec[first_len];
      i = first_len + 1;
    } else if (is_align(spec[0])) {
      f.align = spec[0];
      i = 1;
    }
  }
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) f.sign = spec[i++];
  if (i < spec.size() && spec[i] == '#') {
    f.alternate = true;
    ++i;
  }
  if (i < spec.size() && spec[i] == '0') {
    if (f.align == 0) {
      f.fill = "0";
      f.align = '=';
    }
    ++i;
  }
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') f.width = std::min<std::int64_t>(f.width * 10 + (spec[i++] - '0'), 1 << 20);
  if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) f.grouping = spec[i++];
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    f.precision = 0;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') *f.precision = std::min<std::int64_t>(*f.precision * 10 + (spec[i++] - '0'), 1 << 10);
  }
  if (i < spec.size()) f.type = spec[i++];
  if (i != spec.size()) return type_error("invalid format specifier");
  return f;
}

std::string group_digits(std::string digits, char sep) {
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += sep;
    out += digits[i];
  }
  return out;
}

Result<std::string> format_value(const Value& v, const FormatSpec& f, bool empty_spec) {
  if (empty_spec) return to_str(v);
  std::string body;
  std::string sign;
  bool numeric = false;
  if (v.is_string()) {
    if (f.type != 0 && f.type != 's') return type_error(fmt::format("unknown format code '{}' for object of type 'str'", f.type));
    body = v.str();
    if (f.precision) {
      const std::vector<char32_t> cps = py::decode(body);
      body = py::encode(cps, 0, std::min<std::size_t>(cps.size(), static_cast<std::size_t>(*f.precision)));
    }
  } else if (v.is_number()) {
    numeric = true;
    char t = f.type;
    if (v.is_bool() && t == 0) {
      body = v.as_bool() ? "True" : "False";
      numeric = false;
    } else if (v.is_integral() && (t == 0 || t == 'd' || t == 'n' || t == 'x' || t == 'X' || t == 'o' || t == 'b' || t == 'c')) {
      const std::int64_t i = v.as_int();
      if (i < 0) sign = "-";
      std::uint64_t u = i < 0 ? 0 - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
      if (t == 'c') {
        utf8_append(body, static_cast<char32_t>(u));
        sign.clear();
      } else if (t == 'x' || t == 'X' || t == 'o' || t == 'b') {
        const int base = t == 'o' ? 8 : (t == 'b' ? 2 : 16);
        do {
          const int d = static_cast<int>(u % static_cast<unsigned>(base));
          body.insert(body.begin(), static_cast<char>(d < 10 ? '0' + d : (t == 'X' ? 'A' : 'a') + d - 10));
          u /= static_cast<unsigned>(base);
        } while (u != 0);
        if (f.alternate) body.insert(0, t == 'o' ? "0o" : (t == 'b' ? "0b" : (t == 'X' ? "0X" : "0x")));
      } else {
        body = std::to_string(u);
        if (f.grouping) body = group_digits(body, f.grouping);
      }
    } else {
      if (v.is_float() && (t == 'd' || t == 'x' || t == 'X' || t == 'o' || t == 'b' || t == 'c')) {
        return type_error(fmt::format("unknown format code '{}' for object of type 'float'", t));
      }
      double d = v.as_float();
      if (std::signbit(d) && !std::isnan(d)) {
        sign = "-";
        d = -d;
      }
      if (t == 0 && !f.precision) {
        body = py::float_repr(d);
      } else {
        if (t == '%') d *= 100;
        const char conv = t == 0 ? 'g' : (t == '%' ? 'f' : (t == 'n' ? 'g' : t));
        char buf[1400];
        std::snprintf(buf, sizeof buf, fmt::format("%.{}{}", f.precision.value_or(t == 0 ? 12 : 6), conv).c_str(), d);
        body = buf;
        if (f.grouping) {
          const std::size_t dot = body.find_first_not_of("0123456789");
          body = group_digits(body.substr(0, dot), f.grouping) + (dot == std::string::npos ? "" : body.substr(dot));
        }
        if (t == '%') body += '%';
      }
    }
    if (sign.empty() && f.sign == '+') sign = "+";
    if (sign.empty() && f.sign == ' ') sign = " ";
  } else {
    return type_error(fmt::format("unsupported format string passed to {}.__format__", v.type_name()));
  }
  const auto len = static_cast<std::int64_t>(py::length(body) + sign.size());
  const char align = f.align != 0 ? f.align : (numeric ? '>' : '<');
  const std::int64_t pad_n = std::max<std::int64_t>(0, f.width - len);
  std::string out;
  const auto fill = [&](std::int64_t n) {
    for (std::int64_t k = 0; k < n; ++k) out += f.fill;
  };
  if (align == '<') {
    out = sign + body;
    fill(pad_n);
  } else if (align == '>') {
    fill(pad_n);
    out += sign + body;
  } else if (align == '^') {
    fill(pad_n / 2);
    out += sign + body;
    fill(pad_n - pad_n / 2);
  } else {
    out = sign;
    fill(pad_n);
    out += body;
  }
  return out;
}

}  // namespace

Result<Value> str_format(Interpreter& in, const std::string& format, const CallArgs& args) {
  std::string out;
  std::size_t i = 0;
  std::size_t auto_index = 0;
  bool used_auto = false;
  bool used_manual = false;
  while (i < format.size()) {
    const char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') {
        out += '}';
        i += 2;
        continue;
      }
      return type_error("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    const std::size_t close = format.find('}', i);
    if (close == std::string::npos) return type_error("Single '{' encountered in format string");
    std::string_view field(format.data() + i + 1, close - i - 1);
    if (field.find('{') != std::string_view::npos) return unimplemented_error("nested format fields are not supported");
    i = close + 1;
    std::string_view spec;
    char conversion = 0;
    if (const std::size_t colon = field.find(':'); colon != std::string_view::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (const std::size_t bang = field.find('!'); bang != std::string_view::npos) {
      if (bang + 2 != field.size()) return type_error("expected ':' after conversion specifier");
      conversion = field[bang + 1];
      field = field.substr(0, bang);
    }
    const std::size_t name_end = field.find_first_of(".[");
    const std::string_view head = field.substr(0, name_end);
    Value value;
    if (head.empty() || std::all_of(head.begin(), head.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      std::size_t index;
      if (head.empty()) {
        used_auto = true;
        index = auto_index++;
      } else {
        used_manual = true;
        index = static_cast<std::size_t>(std::min<std::int64_t>(std::stoll(std::string(head.substr(0, 12))), 1 << 30));
      }
      if (used_auto && used_manual) {
        return type_error("cannot switch between automatic and manual field numbering");
      }
      if (index >= args.positional.size()) return type_error(fmt::format("Replacement index {} out of range", index));
      value = args.positional[index];
    } else {
      const auto it = std::find_if(args.keyword.begin(), args.keyword.end(), [&](const auto& kv) { return kv.first == head; });
      if (it == args.keyword.end()) return type_error(fmt::format("KeyError: '{}'", head));
      value = it->second;
    }
    std::string_view rest = name_end == std::string_view::npos ? std::string_view() : field.substr(name_end);
    while (!rest.empty()) {
      if (rest[0] == '.') {
        const std::size_t e = rest.find_first_of(".[", 1);
        ASSIGN_OR_RETURN(value, in.getattr(value, rest.substr(1, e == std::string_view::npos ? e : e - 1)));
        rest = e == std::string_view::npos ? std::string_view() : rest.substr(e);
      } else {
        const std::size_t e = rest.find(']');
        if (e == std::string_view::npos) return type_error("Missing ']' in format string");
        const std::string key(rest.substr(1, e - 1));
        const bool digits = !key.empty() && key.size() < 12 && std::all_of(key.begin(), key.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        ASSIGN_OR_RETURN(value, in.getitem(value, digits ? Value(static_cast<std::int64_t>(std::stoll(key))) : Value(key)));
        rest = rest.substr(e + 1);
      }
    }
    if (value.is_undefined()) return Interpreter::undefined_error(value);
    if (conversion == 'r' || conversion == 'a') {
      value = Value(repr(value));
    } else if (conversion == 's') {
      value = Value(to_str(value));
    } else if (conversion != 0) {
      return type_error(fmt::format("Unknown conversion specifier {}", conversion));
    }
    ASSIGN_OR_RETURN(FormatSpec f, parse_spec(spec));
    ASSIGN_OR_RETURN(std::string piece, format_value(value, f, spec.empty()));
    out += piece;
    RETURN_IF_ERROR(in.check_string_size(out.size()));
  }
  return Value(std::move(out));
}

}  // namespace parley::chat
