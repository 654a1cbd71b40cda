// Jinja2's string and scalar filters, Hugging Face's tojson, Python's % formatting, and the
// filter registry. Semantics follow Jinja2 3.1 with autoescape off (Hugging Face's setting).
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <unordered_map>

#include "base/utf8.h"
#include "chat/builtins.h"
#include "chat/builtins_internal.h"
#include "chat/json.h"
#include "chat/py_string.h"

namespace parley::chat {

using detail::bool_arg;
using detail::int_arg;
using detail::like;
using detail::soft_str;
using detail::str_arg;
using detail::type_error;

Value markup_concat(const Value& a, const Value& b) {
  std::string out;
  if (a.is_markup()) {
    out = a.str();
  } else {
    append_html_escaped(out, a.str());
  }
  if (b.is_markup()) {
    out += b.str();
  } else {
    append_html_escaped(out, b.str());
  }
  return Value::markup(std::move(out));
}

namespace {

// ---- Python number parsing (int() and float() of strings) --------------------------------------

std::string strip_ascii_space(std::string_view s) { return py::strip(s, std::nullopt, true, true); }

// Digits with single underscores between them, as Python's int() accepts.
std::optional<std::string> clean_digits(std::string_view s) {
  std::string out;
  bool prev_digit = false;
  for (char c : s) {
    if (c == '_') {
      if (!prev_digit) return std::nullopt;
      prev_digit = false;
      continue;
    }
    out += c;
    prev_digit = true;
  }
  if (out.empty() || !prev_digit) return std::nullopt;
  return out;
}

std::optional<std::int64_t> parse_python_int(std::string_view text, int base) {
  std::string s = strip_ascii_space(text);
  std::string_view v = s;
  bool neg = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    neg = v[0] == '-';
    v.remove_prefix(1);
  }
  if (v.size() > 2 && v[0] == '0') {
    const char p = static_cast<char>(v[1] | 0x20);
    const int prefixed = p == 'x' ? 16 : (p == 'o' ? 8 : (p == 'b' ? 2 : 0));
    if (prefixed != 0 && (base == 0 || base == prefixed)) {
      base = prefixed;
      v.remove_prefix(2);
      if (!v.empty() && v[0] == '_') v.remove_prefix(1);
    }
  }
  if (base == 0) base = 10;
  const auto digits = clean_digits(v);
  if (!digits) return std::nullopt;
  std::int64_t r = 0;
  for (char c : *digits) {
    int d = (c >= '0' && c <= '9') ? c - '0' : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99);
    if (d >= base) return std::nullopt;
    if (__builtin_mul_overflow(r, base, &r) || __builtin_add_overflow(r, d, &r)) return std::nullopt;
  }
  return neg ? -r : r;
}

std::optional<double> parse_python_float(std::string_view text) {
  const std::string s = strip_ascii_space(text);
  std::string_view v = s;
  std::string lowered = py::lower(v);
  std::string_view l = lowered;
  bool neg = false;
  if (!l.empty() && (l[0] == '+' || l[0] == '-')) {
    neg = l[0] == '-';
    l.remove_prefix(1);
    v.remove_prefix(1);
  }
  if (l == "inf" || l == "infinity") return neg ? -HUGE_VAL : HUGE_VAL;
  if (l == "nan") return std::nan("");
  std::string clean;
  bool prev_digit = false;
  for (char c : v) {
    if (c == '_') {
      if (!prev_digit) return std::nullopt;
      prev_digit = false;
      continue;
    }
    const bool digit = c >= '0' && c <= '9';
    if (!digit && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') return std::nullopt;
    clean += c;
    prev_digit = digit;
  }
  if (clean.empty() || (!v.empty() && v.back() == '_')) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return neg ? -d : d;
}

// ---- filters -----------------------------------------------------------------------------------

Result<Value> f_abs(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "abs", args);
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_integral()) {
    if (v.as_int() == std::numeric_limits<std::int64_t>::min()) return type_error("integer overflow");
    return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  }
  return type_error(fmt::format("bad operand type for abs(): '{}'", v.type_name()));
}

Result<Value> f_attr(Interpreter& in, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "attr", args, "name");
  if (v.is_undefined()) return Interpreter::undefined_error(v);
  if (!b.has(0)) return type_error("attr() missing the attribute name");
  return in.python_attr(v, to_str(*b.get(0)));
}

Result<Value> f_capitalize(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "capitalize", args);
  return like(v, py::capitalize(soft_str(v).str()));
}

Result<Value> f_center(Interpreter& in, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "center", args, "width");
  ASSIGN_OR_RETURN(std::int64_t width, int_arg(b.get(0), 80, "width"));
  const std::string s = soft_str(v).str();
  const auto n = static_cast<std::int64_t>(py::length(s));
  if (width <= n) return Value(s);
  RETURN_IF_ERROR(in.check_string_size(static_cast<std::size_t>(width)));
  const std::int64_t marg = width - n;
  const std::int64_t left = marg / 2 + (marg & width & 1);
  return Value(std::string(static_cast<std::size_t>(left), ' ') + s + std::string(static_cast<std::size_t>(marg - left), ' '));
}

Result<Value> f_default(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "default", args, "default_value", "boolean");
  if (v.is_undefined() || (bool_arg(b.get(1), false) && !v.truthy())) return b.has(0) ? *b.get(0) : Value("");
  return v;
}

Result<Value> f_escape(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "escape", args);
  if (v.is_markup()) return v;
  std::string out;
  append_html_escaped(out, to_str(v));
  return Value::markup(std::move(out));
}

Result<Value> f_forceescape(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "forceescape", args);
  std::string out;
  append_html_escaped(out, to_str(v));
  return Value::markup(std::move(out));
}

Result<Value> f_float(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "float", args, "default");
  const Value fallback = b.has(0) ? *b.get(0) : Value(0.0);
  if (v.is_undefined()) return Interpreter::undefined_error(v);
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    if (auto d = parse_python_float(v.str())) return Value(*d);
  }
  return fallback;
}

Result<Value> f_int(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "int", args, "default", "base");
  const Value fallback = b.has(0) ? *b.get(0) : Value(0);
  ASSIGN_OR_RETURN(std::int64_t base, int_arg(b.get(1), 10, "base"));
  if (v.is_undefined()) return Interpreter::undefined_error(v);
  if (v.is_integral()) return Value(v.as_int());
  if (v.is_float()) {
    const double d = v.as_float();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value(static_cast<std::int64_t>(d));
  }
  if (v.is_string()) {
    if (base >= 0 && base <= 36 && base != 1) {
      if (auto i = parse_python_int(v.str(), static_cast<int>(base))) return Value(*i);
    }
    if (auto d = parse_python_float(v.str()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
      return Value(static_cast<std::int64_t>(*d));
    }
  }
  return fallback;
}

Result<Value> f_format(Interpreter& in, const Value& v, const CallArgs& args) {
  if (!args.positional.empty() && !args.keyword.empty()) {
    return type_error("can't handle positional and keyword arguments at the same time");
  }
  Value fmt_args;
  if (!args.keyword.empty()) {
    Dict d;
    for (const auto& [k, val] : args.keyword) d.set(Value(k), val);
    fmt_args = Value::dict(std::move(d));
  } else {
    fmt_args = Value::tuple(args.positional);
  }
  ASSIGN_OR_RETURN(std::string s, percent_format(soft_str(v).str(), fmt_args, in.limits().string_bytes_max));
  return Value(std::move(s));
}

Result<Value> f_indent(Interpreter& in, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "indent", args, "width", "first", "blank");
  std::string indention;
  const Value* width = b.get(0);
  if (width != nullptr && width->is_string()) {
    indention = width->str();
  } else {
    ASSIGN_OR_RETURN(std::int64_t n, int_arg(width, 4, "width"));
    RETURN_IF_ERROR(in.check_string_size(static_cast<std::size_t>(std::max<std::int64_t>(n, 0))));
    indention.assign(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)), ' ');
  }
  // Jinja2 appends a newline with +=, which only strings support.
  if (v.is_undefined()) return Interpreter::undefined_error(v);
  if (!v.is_string()) {
    return type_error(fmt::format("unsupported operand type(s) for +=: '{}' and 'str'", v.type_name()));
  }
  const std::string text = v.str() + "\n";
  const std::vector<std::string> lines = py::splitlines(text, false);
  RETURN_IF_ERROR(in.check_string_size(text.size() + lines.size() * (indention.size() + 1)));
  std::string rv;
  if (bool_arg(b.get(2), false)) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) rv += "\n" + indention;
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? std::string() : lines[0];
    for (std::size_t i = 1; i < lines.size(); ++i) {
      rv += '\n';
      if (!lines[i].empty()) rv += indention;
      rv += lines[i];
    }
  }
  if (bool_arg(b.get(1), false)) rv = indention + rv;
  return like(v, std::move(rv));
}

Result<Value> f_lower(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "lower", args);
  return like(v, py::lower(soft_str(v).str()));
}

Result<Value> f_upper(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "upper", args);
  return like(v, py::upper(soft_str(v).str()));
}

Result<Value> f_replace(Interpreter& in, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "replace", args, "old", "new", "count");
  if (!b.has(0) || !b.has(1)) return type_error("replace() needs the old and new strings");
  ASSIGN_OR_RETURN(std::int64_t count, int_arg(b.get(2), -1, "count"));
  const std::string s = to_str(v);
  const std::string old_s = to_str(*b.get(0));
  const std::string new_s = to_str(*b.get(1));
  const std::size_t hits = old_s.empty() ? py::length(s) + 1 : static_cast<std::size_t>(py::count(s, old_s));
  RETURN_IF_ERROR(in.check_string_size(s.size() + hits * new_s.size()));
  return Value(py::replace(s, old_s, new_s, count));
}

Result<Value> f_round(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "round", args, "precision", "method");
  ASSIGN_OR_RETURN(std::int64_t precision, int_arg(b.get(0), 0, "precision"));
  ASSIGN_OR_RETURN(std::optional<std::string> method, str_arg(b.get(1), "method"));
  const std::string m = method.value_or("common");
  if (m != "common" && m != "ceil" && m != "floor") {
    return type_error("method must be 'common', 'ceil' or 'floor'");
  }
  if (!v.is_number()) return type_error(fmt::format("type {} doesn't define __round__ method", v.type_name()));
  precision = std::clamp<std::int64_t>(precision, -308, 308);
  if (m == "common") {
    if (v.is_integral()) return Value(v.as_int());
    const double d = v.as_float();
    if (!std::isfinite(d)) return v;
    if (precision >= 0) {
      // printf rounds the exact binary value half-to-even, as Python's round() does.
      char buf[512];
      std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::min<std::int64_t>(precision, 300)), d);
      return Value(std::strtod(buf, nullptr));
    }
    const double scale = std::pow(10.0, static_cast<double>(-precision));
    return Value(std::nearbyint(d / scale) * scale);
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_float() * scale;
  return Value((m == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Result<Value> f_safe(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "safe", args);
  return Value::markup(to_str(v));
}

Result<Value> f_string(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "string", args);
  return soft_str(v);
}

Result<Value> f_title(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "title", args);
  return Value(py::jinja_title(soft_str(v).str()));
}

Result<Value> f_trim(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "trim", args, "chars");
  ASSIGN_OR_RETURN(std::optional<std::string> chars, str_arg(b.get(0), "chars"));
  return like(v, py::strip(soft_str(v).str(), chars, true, true));
}

Result<Value> f_wordcount(Interpreter&, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "wordcount", args);
  const std::string s = to_str(v);
  std::int64_t n = 0;
  bool in_word = false;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const char32_t c = utf8_decode(s, &pos);
    const bool word = c == '_' || py::is_alpha(c) || py::is_digit(c);
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

// Hugging Face's override: json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False), without Jinja2's HTML escaping.
Result<Value> f_tojson(Interpreter& in, const Value& v, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "tojson", args, "ensure_ascii", "indent", "separators", "sort_keys");
  JsonFormat f;
  f.ensure_ascii = bool_arg(b.get(0), false);
  f.sort_keys = bool_arg(b.get(3), false);
  if (const Value* indent = b.get(1); indent != nullptr && !indent->is_none()) {
    if (indent->is_string()) {
      f.indent = indent->str();
    } else if (indent->is_integral()) {
      const std::int64_t n = std::clamp<std::int64_t>(indent->as_int(), 0, 1 << 20);
      f.indent = std::string(static_cast<std::size_t>(n), ' ');
    } else {
      return type_error("tojson: indent must be an integer or a string");
    }
  }
  if (const Value* seps = b.get(2); seps != nullptr && !seps->is_none()) {
    if (!seps->is_sequence_list() || seps->items().size() != 2 || !seps->items()[0].is_string() ||
        !seps->items()[1].is_string()) {
      return type_error("tojson: separators must be a pair of strings");
    }
    f.item_separator = seps->items()[0].str();
    f.key_separator = seps->items()[1].str();
  }
  std::string out;
  RETURN_IF_ERROR(append_json(out, v, f, in.limits().string_bytes_max));
  return Value(std::move(out));
}

}  // namespace

FilterFn find_filter(std::string_view name) {
  static const std::unordered_map<std::string_view, FilterFn> kFilters = {
      {"abs", f_abs},
      {"attr", f_attr},
      {"batch", detail::filter_batch},
      {"capitalize", f_capitalize},
      {"center", f_center},
      {"count", detail::filter_length},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", detail::filter_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"first", detail::filter_first},
      {"float", f_float},
      {"forceescape", f_forceescape},
      {"format", f_format},
      {"indent", f_indent},
      {"int", f_int},
      {"items", detail::filter_items},
      {"join", detail::filter_join},
      {"last", detail::filter_last},
      {"length", detail::filter_length},
      {"list", detail::filter_list},
      {"lower", f_lower},
      {"map", detail::filter_map},
      {"max", detail::filter_max},
      {"min", detail::filter_min},
      {"reject", detail::filter_reject},
      {"rejectattr", detail::filter_rejectattr},
      {"replace", f_replace},
      {"reverse", detail::filter_reverse},
      {"round", f_round},
      {"safe", f_safe},
      {"select", detail::filter_select},
      {"selectattr", detail::filter_selectattr},
      {"sort", detail::filter_sort},
      {"string", f_string},
      {"sum", detail::filter_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"unique", detail::filter_unique},
      {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  const auto it = kFilters.find(name);
  return it == kFilters.end() ? nullptr : it->second;
}

}  // namespace parley::chat
