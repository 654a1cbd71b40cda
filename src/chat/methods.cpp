// Python's str, list and dict methods as templates call them (`s.strip()`, `d.get('k', x)`,
// `s.split('</think>')[-1]`), plus the methods of runtime objects (loop.cycle, cycler.next).
// The mutating list/dict methods exist only to be refused: the sandbox makes them undefined.
#include <algorithm>
#include <array>

#include "chat/builtins.h"
#include "chat/builtins_internal.h"
#include "chat/py_string.h"

namespace parley::chat {
namespace {

using detail::int_arg;
using detail::type_error;

constexpr std::array<std::string_view, 47> kStrMethods = {
    "capitalize", "casefold",   "center",    "count",     "encode",     "endswith",   "expandtabs", "find",
    "format",     "format_map", "index",     "isalnum",   "isalpha",    "isascii",    "isdecimal",  "isdigit",
    "isidentifier", "islower",  "isnumeric", "isprintable", "isspace",  "istitle",    "isupper",    "join",
    "ljust",      "lower",      "lstrip",    "maketrans", "partition",  "removeprefix", "removesuffix", "replace",
    "rfind",      "rindex",     "rjust",     "rpartition", "rsplit",    "rstrip",     "split",      "splitlines",
    "startswith", "strip",      "swapcase",  "title",     "translate",  "upper",      "zfill"};
constexpr std::array<std::string_view, 11> kListMethods = {"append", "clear", "copy",   "count",   "extend", "index",
                                                           "insert", "pop",   "remove", "reverse", "sort"};
constexpr std::array<std::string_view, 8> kListUnsafe = {"append", "clear",  "extend",  "insert",
                                                         "pop",    "remove", "reverse", "sort"};
constexpr std::array<std::string_view, 11> kDictMethods = {"clear", "copy",    "fromkeys",   "get",    "items", "keys",
                                                           "pop",   "popitem", "setdefault", "update", "values"};
constexpr std::array<std::string_view, 5> kDictUnsafe = {"clear", "pop", "popitem", "setdefault", "update"};

template <std::size_t N>
bool in_set(const std::array<std::string_view, N>& set, std::string_view name) {
  return std::find(set.begin(), set.end(), name) != set.end();
}

Result<std::optional<std::string>> opt_str(const Value* v, std::string_view what) { return detail::str_arg(v, what); }

// Code-point window [start, end) of `s` for the start/end arguments of find/count/startswith.
Result<std::string> window(const std::string& s, const Value* start, const Value* end) {
  if ((start == nullptr || start->is_none()) && (end == nullptr || end->is_none())) return s;
  ASSIGN_OR_RETURN(std::int64_t b, int_arg(start, 0, "start"));
  const std::vector<std::size_t> offs = py::char_offsets(s);
  const auto n = static_cast<std::int64_t>(offs.size()) - 1;
  ASSIGN_OR_RETURN(std::int64_t e, int_arg(end, n, "end"));
  const auto norm = [n](std::int64_t x) { return std::clamp<std::int64_t>(x < 0 ? x + n : x, 0, n); };
  b = norm(b);
  e = norm(e);
  if (b >= e) return std::string();
  return s.substr(offs[static_cast<std::size_t>(b)], offs[static_cast<std::size_t>(e)] - offs[static_cast<std::size_t>(b)]);
}

Result<Value> str_affix(const std::string& s, const CallArgs& args, bool prefix) {
  PARLEY_BIND_ARGS(b, prefix ? "startswith" : "endswith", args, "affix", "start", "end");
  if (!b.has(0)) return type_error("startswith/endswith need an argument");
  ASSIGN_OR_RETURN(std::string w, window(s, b.get(1), b.get(2)));
  std::vector<std::string> options;
  const Value& a = *b.get(0);
  if (a.is_string()) {
    options.push_back(a.str());
  } else if (a.is_tuple()) {
    for (const Value& x : a.items()) {
      if (!x.is_string()) return type_error("tuple for startswith/endswith must only contain str");
      options.push_back(x.str());
    }
  } else {
    return type_error(fmt::format("startswith/endswith first arg must be str or a tuple of str, not {}", a.type_name()));
  }
  for (const std::string& o : options) {
    if (prefix ? w.starts_with(o) : w.ends_with(o)) return Value(true);
  }
  return Value(false);
}

Value string_list(const std::vector<std::string>& parts, bool markup) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (const std::string& p : parts) out.push_back(markup ? Value::markup(p) : Value(p));
  return Value::list(std::move(out));
}

template <typename Pred>
Value all_chars(const std::string& s, Pred pred) {
  if (s.empty()) return Value(false);
  for (char32_t c : py::decode(s)) {
    if (!pred(c)) return Value(false);
  }
  return Value(true);
}

Result<Value> justify(Interpreter& in, const std::string& s, const CallArgs& args, std::string_view name) {
  PARLEY_BIND_ARGS(b, name, args, "width", "fillchar");
  ASSIGN_OR_RETURN(std::int64_t width, int_arg(b.get(0), 0, "width"));
  std::string fill = " ";
  if (b.has(1)) {
    if (!b.get(1)->is_string() || py::length(b.get(1)->str()) != 1) {
      return type_error("the fill character must be exactly one character long");
    }
    fill = b.get(1)->str();
  }
  const auto n = static_cast<std::int64_t>(py::length(s));
  if (width <= n) return Value(s);
  RETURN_IF_ERROR(in.check_string_size(static_cast<std::size_t>(width)));
  RETURN_IF_ERROR(in.check_string_size(static_cast<std::size_t>(width) * fill.size()));
  const std::int64_t marg = width - n;
  std::int64_t left = 0;
  if (name == "rjust") left = marg;
  if (name == "center") left = marg / 2 + (marg & width & 1);
  std::string out;
  for (std::int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (std::int64_t i = left; i < marg; ++i) out += fill;
  return Value(std::move(out));
}

Result<Value> string_method(Interpreter& in, const Value& self, std::string_view name, const CallArgs& args) {
  const std::string& s = self.str();
  const bool markup = self.is_markup();
  const auto keep = [&](std::string r) { return markup ? Value::markup(std::move(r)) : Value(std::move(r)); };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    PARLEY_BIND_ARGS(b, name, args, "chars");
    ASSIGN_OR_RETURN(std::optional<std::string> chars, opt_str(b.get(0), "chars"));
    return keep(py::strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    PARLEY_BIND_ARGS(b, name, args, "sep", "maxsplit");
    ASSIGN_OR_RETURN(std::optional<std::string> sep, opt_str(b.get(0), "sep"));
    ASSIGN_OR_RETURN(std::int64_t maxsplit, int_arg(b.get(1), -1, "maxsplit"));
    if (sep && sep->empty()) return type_error("empty separator");
    RETURN_IF_ERROR(in.charge_bytes(s.size() * 2));
    return string_list(name == "split" ? py::split(s, sep, maxsplit) : py::rsplit(s, sep, maxsplit), markup);
  }
  if (name == "splitlines") {
    PARLEY_BIND_ARGS(b, name, args, "keepends");
    return string_list(py::splitlines(s, detail::bool_arg(b.get(0), false)), markup);
  }
  if (name == "startswith" || name == "endswith") return str_affix(s, args, name == "startswith");
  if (name == "upper" || name == "lower" || name == "casefold" || name == "title" || name == "capitalize" ||
      name == "swapcase") {
    PARLEY_BIND_ARGS(b, name, args);
    if (name == "upper") return keep(py::upper(s));
    if (name == "title") return keep(py::title(s));
    if (name == "capitalize") return keep(py::capitalize(s));
    if (name == "swapcase") return keep(py::swapcase(s));
    return keep(py::lower(s));
  }
  if (name == "replace") {
    PARLEY_BIND_ARGS(b, name, args, "old", "new", "count");
    if (!b.has(0) || !b.has(1) || !b.get(0)->is_string() || !b.get(1)->is_string()) {
      return type_error("replace() arguments must be str");
    }
    ASSIGN_OR_RETURN(std::int64_t count, int_arg(b.get(2), -1, "count"));
    std::string old_s = b.get(0)->str();
    std::string new_s = b.get(1)->str();
    if (markup) {  // Markup.replace escapes its arguments
      std::string o;
      std::string n;
      if (!b.get(0)->is_markup()) {
        append_html_escaped(o, old_s);
        old_s = o;
      }
      if (!b.get(1)->is_markup()) {
        append_html_escaped(n, new_s);
        new_s = n;
      }
    }
    const std::size_t hits = old_s.empty() ? py::length(s) + 1 : static_cast<std::size_t>(py::count(s, old_s));
    RETURN_IF_ERROR(in.check_string_size(s.size() + hits * new_s.size()));
    return keep(py::replace(s, old_s, new_s, count));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    PARLEY_BIND_ARGS(b, name, args, "sub", "start", "end");
    if (!b.has(0) || !b.get(0)->is_string()) return type_error(fmt::format("{}() argument must be str", name));
    ASSIGN_OR_RETURN(std::int64_t start, int_arg(b.get(1), 0, "start"));
    std::optional<std::int64_t> end;
    if (b.has(2) && !b.get(2)->is_none()) {
      ASSIGN_OR_RETURN(end, int_arg(b.get(2), 0, "end"));
    }
    const std::int64_t r = py::find(s, b.get(0)->str(), start, end, name[0] == 'r');
    if (r < 0 && (name == "index" || name == "rindex")) return type_error("substring not found");
    return Value(r);
  }
  if (name == "count") {
    PARLEY_BIND_ARGS(b, name, args, "sub", "start", "end");
    if (!b.has(0) || !b.get(0)->is_string()) return type_error("count() argument must be str");
    ASSIGN_OR_RETURN(std::string w, window(s, b.get(1), b.get(2)));
    return Value(py::count(w, b.get(0)->str()));
  }
  if (name == "join") {
    PARLEY_BIND_ARGS(b, name, args, "iterable");
    if (!b.has(0)) return type_error("join() takes exactly one argument");
    ASSIGN_OR_RETURN(Value list, in.iterate(*b.get(0)));
    std::string out;
    bool first = true;
    for (const Value& item : list.items()) {
      if (!item.is_string()) return type_error(fmt::format("sequence item: expected str instance, {} found", item.type_name()));
      if (!first) out += s;
      first = false;
      if (markup && !item.is_markup()) {
        append_html_escaped(out, item.str());
      } else {
        out += item.str();
      }
      RETURN_IF_ERROR(in.check_string_size(out.size()));
    }
    return keep(std::move(out));
  }
  if (name == "format") return str_format(in, s, args);
  if (name == "format_map") {
    if (args.positional.size() != 1 || !args.positional[0].is_dict()) return type_error("format_map() takes one mapping");
    CallArgs kw;
    for (const auto& [k, v] : args.positional[0].dict().entries()) {
      if (k.is_string()) kw.keyword.emplace_back(k.str(), v);
    }
    return str_format(in, s, kw);
  }
  if (name == "isdigit" || name == "isdecimal" || name == "isnumeric") return all_chars(s, py::is_digit);
  if (name == "isalpha") return all_chars(s, py::is_alpha);
  if (name == "isalnum") return all_chars(s, [](char32_t c) { return py::is_alpha(c) || py::is_digit(c); });
  if (name == "isspace") return all_chars(s, py::is_space);
  if (name == "isascii") return Value(py::is_ascii(s));
  if (name == "isupper" || name == "islower") {
    bool any = false;
    for (char32_t c : py::decode(s)) {
      if (!py::is_cased(c)) continue;
      any = true;
      const bool upper = py::to_lower(c) != c;
      if (upper != (name == "isupper")) return Value(false);
    }
    return Value(any);
  }
  if (name == "istitle") return Value(!s.empty() && py::title(s) == s && py::upper(s) != py::lower(s));
  if (name == "center" || name == "ljust" || name == "rjust") return justify(in, s, args, name);
  if (name == "zfill") {
    PARLEY_BIND_ARGS(b, name, args, "width");
    ASSIGN_OR_RETURN(std::int64_t width, int_arg(b.get(0), 0, "width"));
    const auto n = static_cast<std::int64_t>(py::length(s));
    if (width <= n) return Value(s);
    RETURN_IF_ERROR(in.check_string_size(static_cast<std::size_t>(width)));
    const bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
    std::string out = sign ? s.substr(0, 1) : std::string();
    out.append(static_cast<std::size_t>(width - n), '0');
    out += sign ? s.substr(1) : s;
    return Value(std::move(out));
  }
  if (name == "partition" || name == "rpartition") {
    PARLEY_BIND_ARGS(b, name, args, "sep");
    if (!b.has(0) || !b.get(0)->is_string() || b.get(0)->str().empty()) return type_error("partition needs a non-empty str");
    const std::string& sep = b.get(0)->str();
    const std::size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (at == std::string::npos) {
      return name == "partition" ? Value::tuple({Value(s), Value(""), Value("")})
                                 : Value::tuple({Value(""), Value(""), Value(s)});
    }
    return Value::tuple({Value(s.substr(0, at)), Value(sep), Value(s.substr(at + sep.size()))});
  }
  if (name == "removeprefix" || name == "removesuffix") {
    PARLEY_BIND_ARGS(b, name, args, "affix");
    if (!b.has(0) || !b.get(0)->is_string()) return type_error(fmt::format("{}() argument must be str", name));
    const std::string& a = b.get(0)->str();
    if (name == "removeprefix") return keep(s.starts_with(a) ? s.substr(a.size()) : s);
    return keep(s.ends_with(a) ? s.substr(0, s.size() - a.size()) : s);
  }
  return unimplemented_error("str.{}() is not supported in chat templates", name);
}

Result<Value> list_method(Interpreter& in, const Value& self, std::string_view name, const CallArgs& args) {
  const auto& items = self.items();
  if (name == "copy") {
    PARLEY_BIND_ARGS(b, name, args);
    return Value::list(items);
  }
  if (name == "count") {
    PARLEY_BIND_ARGS(b, name, args, "value");
    if (!b.has(0)) return type_error("count() takes exactly one argument");
    RETURN_IF_ERROR(in.tick(items.size() / 16));
    return Value(static_cast<std::int64_t>(std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, *b.get(0)); })));
  }
  if (name == "index") {
    PARLEY_BIND_ARGS(b, name, args, "value", "start", "stop");
    if (!b.has(0)) return type_error("index() takes at least one argument");
    const auto n = static_cast<std::int64_t>(items.size());
    ASSIGN_OR_RETURN(std::int64_t start, int_arg(b.get(1), 0, "start"));
    ASSIGN_OR_RETURN(std::int64_t stop, int_arg(b.get(2), n, "stop"));
    const auto norm = [n](std::int64_t x) { return std::clamp<std::int64_t>(x < 0 ? x + n : x, 0, n); };
    RETURN_IF_ERROR(in.tick(items.size() / 16));
    for (std::int64_t i = norm(start); i < norm(stop); ++i) {
      if (equals(items[static_cast<std::size_t>(i)], *b.get(0))) return Value(i);
    }
    return type_error(fmt::format("{} is not in list", repr(*b.get(0))));
  }
  return unimplemented_error("list.{}() is not supported in chat templates", name);
}

Result<Value> dict_method(Interpreter& in, const Value& self, std::string_view name, const CallArgs& args) {
  const Dict& d = self.dict();
  if (name == "get") {
    PARLEY_BIND_ARGS(b, name, args, "key", "default");
    if (!b.has(0)) return type_error("get expected at least 1 argument, got 0");
    if (!hashable(*b.get(0))) return type_error(fmt::format("unhashable type: '{}'", b.get(0)->type_name()));
    if (const Value* v = d.find(*b.get(0))) return *v;
    return b.has(1) ? *b.get(1) : Value::none();
  }
  if (name == "items" || name == "keys" || name == "values") {
    PARLEY_BIND_ARGS(b, name, args);
    std::vector<Value> out;
    out.reserve(d.size());
    for (const auto& [k, v] : d.entries()) {
      if (name == "items") {
        out.push_back(Value::tuple({k, v}));
      } else {
        out.push_back(name == "keys" ? k : v);
      }
    }
    Value list = Value::list(std::move(out));
    RETURN_IF_ERROR(in.charge(list));
    return list;
  }
  if (name == "copy") {
    PARLEY_BIND_ARGS(b, name, args);
    return self;
  }
  return unimplemented_error("dict.{}() is not supported in chat templates", name);
}

}  // namespace

MethodKind method_kind(const Value& self, std::string_view name) {
  if (self.is_string()) return in_set(kStrMethods, name) ? MethodKind::kSafe : MethodKind::kNone;
  if (self.is_tuple()) return name == "count" || name == "index" ? MethodKind::kSafe : MethodKind::kNone;
  if (self.is_sequence_list()) {
    if (!in_set(kListMethods, name)) return MethodKind::kNone;
    return in_set(kListUnsafe, name) ? MethodKind::kUnsafe : MethodKind::kSafe;
  }
  if (self.is_dict()) {
    if (!in_set(kDictMethods, name)) return MethodKind::kNone;
    return in_set(kDictUnsafe, name) ? MethodKind::kUnsafe : MethodKind::kSafe;
  }
  return MethodKind::kNone;
}

Result<Value> call_method(Interpreter& in, const Value& self, std::string_view name, const CallArgs& args) {
  if (self.is_string()) return string_method(in, self, name, args);
  if (self.is_list()) return list_method(in, self, name, args);
  if (self.is_dict()) return dict_method(in, self, name, args);
  if (const auto* loop = self.object_as<LoopObject>()) {
    if (name == "cycle") return loop->cycle(args);
    if (name == "changed") return loop->changed(args);
  }
  if (const auto* cycler = self.object_as<Cycler>()) {
    if (name == "next") return cycler->next();
    if (name == "reset") {
      cycler->reset();
      return Value::none();
    }
  }
  return type_error(fmt::format("'{}' object has no method '{}'", self.type_name(), name));
}

}  // namespace parley::chat
