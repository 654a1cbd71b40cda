// Global functions of the template language: Jinja2's range (with the sandbox's size cap),
// dict, namespace, cycler and joiner, and Hugging Face's raise_exception and strftime_now.
#include <ctime>

#include "chat/builtins.h"
#include "chat/builtins_internal.h"

namespace parley::chat {
namespace {

using detail::type_error;

// Jinja2's sandbox refuses ranges longer than this (MAX_RANGE); so do we, with the same limit.
constexpr std::int64_t kRangeMax = 100000;

Result<Value> g_range(Interpreter& in, const CallArgs& args) {
  if (!args.keyword.empty()) return type_error("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) return type_error(fmt::format("range expected 1 to 3 arguments, got {}", p.size()));
  for (const Value& v : p) {
    if (!v.is_integral()) return type_error(fmt::format("'{}' object cannot be interpreted as an integer", v.type_name()));
  }
  const std::int64_t start = p.size() == 1 ? 0 : p[0].as_int();
  const std::int64_t stop = p.size() == 1 ? p[0].as_int() : p[1].as_int();
  const std::int64_t step = p.size() == 3 ? p[2].as_int() : 1;
  if (step == 0) return type_error("range() arg 3 must not be zero");
  // Count in floating point first: the operands may be anywhere in int64.
  const long double span = static_cast<long double>(stop) - static_cast<long double>(start);
  const long double count_ld = span / static_cast<long double>(step);
  std::int64_t count = 0;
  if (count_ld > 0) {
    if (count_ld > static_cast<long double>(kRangeMax) + 1) {
      return type_error(fmt::format("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kRangeMax));
    }
    const __int128 s = static_cast<__int128>(stop) - start;
    count = static_cast<std::int64_t>(step > 0 ? (s - 1) / step + 1 : (s + 1) / step + 1);
  }
  if (count > kRangeMax) {
    return type_error(fmt::format("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kRangeMax));
  }
  RETURN_IF_ERROR(in.tick(static_cast<std::uint64_t>(count) / 16));
  std::vector<Value> items;
  items.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) items.push_back(Value(start + i * step));
  return Value::list(std::move(items));
}

// dict(mapping_or_pairs, **kwargs) into `out`.
Status fill_dict(Interpreter& in, const CallArgs& args, std::string_view fn, Dict& out) {
  if (args.positional.size() > 1) return type_error(fmt::format("{} expected at most 1 argument", fn));
  if (args.positional.size() == 1) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      out = src.dict();
    } else {
      ASSIGN_OR_RETURN(Value pairs, in.iterate(src));
      for (const Value& pair : pairs.items()) {
        ASSIGN_OR_RETURN(Value kv, in.iterate(pair));
        if (kv.items().size() != 2) return type_error("dictionary update sequence element has the wrong length");
        if (!hashable(kv.items()[0])) return type_error("unhashable type");
        out.set(kv.items()[0], kv.items()[1]);
      }
    }
  }
  for (const auto& [k, v] : args.keyword) out.set(Value(k), v);
  return ok_status();
}

Result<Value> g_dict(Interpreter& in, const CallArgs& args) {
  Dict d;
  RETURN_IF_ERROR(fill_dict(in, args, "dict", d));
  Value v = Value::dict(std::move(d));
  RETURN_IF_ERROR(in.charge(v));
  return v;
}

Result<Value> g_namespace(Interpreter& in, const CallArgs& args) {
  Dict d;
  RETURN_IF_ERROR(fill_dict(in, args, "namespace", d));
  Value ns = in.make_namespace();
  auto* n = ns.object_as<Namespace>();
  for (const auto& [k, v] : d.entries()) {
    if (!k.is_string()) return type_error("namespace keywords must be strings");
    n->set(k.str(), v);
  }
  return ns;
}

Result<Value> g_cycler(Interpreter& in, const CallArgs& args) {
  if (!args.keyword.empty()) return type_error("cycler() takes no keyword arguments");
  return in.adopt(std::make_shared<Cycler>(args.positional));
}

Result<Value> g_joiner(Interpreter& in, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "joiner", args, "sep");
  return in.adopt(std::make_shared<Joiner>(b.has(0) ? to_str(*b.get(0)) : std::string(", ")));
}

Result<Value> g_raise_exception(Interpreter& /*in*/, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "raise_exception", args, "message");
  return invalid_argument_error("{}", b.has(0) ? to_str(*b.get(0)) : std::string("raise_exception() called"));
}

// datetime.now().strftime(fmt): a naive local time, so %z and %Z are empty as in Python.
Result<Value> g_strftime_now(Interpreter& in, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, "strftime_now", args, "format");
  if (!b.has(0) || !b.get(0)->is_string()) return type_error("strftime_now() needs a format string");
  const std::string& fmt_in = b.get(0)->str();
  if (fmt_in.size() > 1024) return type_error("strftime_now(): format string too long");
  std::string format;
  for (std::size_t i = 0; i < fmt_in.size(); ++i) {
    if (fmt_in[i] == '%' && i + 1 < fmt_in.size()) {
      const char c = fmt_in[i + 1];
      ++i;
      if (c == 'z' || c == 'Z') continue;
      format += '%';
      format += c;
      continue;
    }
    format += fmt_in[i];
  }
  if (format.empty()) return Value(std::string());
  const std::tm tm = in.now();
  std::string out(format.size() * 16 + 64, '\0');
  const std::size_t n = std::strftime(out.data(), out.size(), format.c_str(), &tm);
  out.resize(n);
  return Value(std::move(out));
}

}  // namespace

std::vector<std::pair<std::string_view, Value>> make_builtins() {
  const auto fn = [](std::string_view name, BuiltinFn f) {
    return std::pair<std::string_view, Value>(name, Value::object(std::make_shared<BuiltinFunction>(name, f)));
  };
  return {
      fn("range", g_range),
      fn("dict", g_dict),
      fn("namespace", g_namespace),
      fn("cycler", g_cycler),
      fn("joiner", g_joiner),
      fn("raise_exception", g_raise_exception),
      fn("strftime_now", g_strftime_now),
  };
}

}  // namespace parley::chat
