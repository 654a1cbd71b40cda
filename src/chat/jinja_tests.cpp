// Jinja2's tests (`x is defined`, `x is divisibleby 3`, ...) and their registry.
#include <cmath>
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/builtins_internal.h"
#include "chat/py_string.h"

namespace parley::chat {
namespace {

using detail::type_error;

// The single required argument of a comparison test.
Result<const Value*> one_arg(std::string_view test, const CallArgs& args) {
  PARLEY_BIND_ARGS(b, test, args, "other");
  if (!b.has(0)) return type_error(fmt::format("test '{}' needs an argument", test));
  return b.get(0);
}

Result<bool> t_defined(Interpreter&, const Value& v, const CallArgs&) { return !v.is_undefined(); }
Result<bool> t_undefined(Interpreter&, const Value& v, const CallArgs&) { return v.is_undefined(); }
Result<bool> t_none(Interpreter&, const Value& v, const CallArgs&) { return v.is_none(); }
Result<bool> t_boolean(Interpreter&, const Value& v, const CallArgs&) { return v.is_bool(); }
Result<bool> t_true(Interpreter&, const Value& v, const CallArgs&) { return v.is_bool() && v.as_bool(); }
Result<bool> t_false(Interpreter&, const Value& v, const CallArgs&) { return v.is_bool() && !v.as_bool(); }
Result<bool> t_integer(Interpreter&, const Value& v, const CallArgs&) { return v.is_int(); }
Result<bool> t_float(Interpreter&, const Value& v, const CallArgs&) { return v.is_float(); }
Result<bool> t_number(Interpreter&, const Value& v, const CallArgs&) { return v.is_number(); }
Result<bool> t_string(Interpreter&, const Value& v, const CallArgs&) { return v.is_string(); }
Result<bool> t_mapping(Interpreter&, const Value& v, const CallArgs&) { return v.is_dict(); }
Result<bool> t_escaped(Interpreter&, const Value& v, const CallArgs&) { return v.is_markup(); }

Result<bool> t_iterable(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict() || v.object_as<LoopObject>() != nullptr;
}

// len() and __getitem__: str, list, tuple, dict and (in Jinja2) Undefined.
Result<bool> t_sequence(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_sequence_list() || v.is_dict();
}

Result<bool> t_callable(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_object() && v.object().callable();
}

Result<bool> parity(const Value& v, bool want_even) {
  if (v.is_undefined()) return Interpreter::undefined_error(v);
  if (v.is_integral()) return (v.as_int() % 2 == 0) == want_even;
  if (v.is_float()) return (std::fmod(v.as_float(), 2.0) == 0) == want_even;
  return type_error(fmt::format("unsupported operand type(s) for %: '{}' and 'int'", v.type_name()));
}
Result<bool> t_even(Interpreter&, const Value& v, const CallArgs&) { return parity(v, true); }
Result<bool> t_odd(Interpreter&, const Value& v, const CallArgs&) { return parity(v, false); }

Result<bool> t_divisibleby(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* n, one_arg("divisibleby", args));
  if (v.is_undefined()) return Interpreter::undefined_error(v);
  if (!v.is_number() || !n->is_number()) return type_error("divisibleby needs numbers");
  if (v.is_integral() && n->is_integral()) {
    if (n->as_int() == 0) return type_error("integer division or modulo by zero");
    if (n->as_int() == -1) return true;
    return v.as_int() % n->as_int() == 0;
  }
  if (n->as_float() == 0) return type_error("float modulo");
  return std::fmod(v.as_float(), n->as_float()) == 0;
}

Result<bool> t_eq(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("eq", args));
  return equals(v, *o);
}
Result<bool> t_ne(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("ne", args));
  return !equals(v, *o);
}

Result<bool> ordered(const Value& a, const Value& b, std::string_view op) {
  if (a.is_undefined()) return Interpreter::undefined_error(a);
  if (b.is_undefined()) return Interpreter::undefined_error(b);
  bool ok = true;
  const int c = compare(a, b, &ok);
  if (!ok) {
    return type_error(fmt::format("'{}' not supported between instances of '{}' and '{}'", op, a.type_name(), b.type_name()));
  }
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}
Result<bool> t_lt(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("lt", args));
  return ordered(v, *o, "<");
}
Result<bool> t_le(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("le", args));
  return ordered(v, *o, "<=");
}
Result<bool> t_gt(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("gt", args));
  return ordered(v, *o, ">");
}
Result<bool> t_ge(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("ge", args));
  return ordered(v, *o, ">=");
}

Result<bool> t_in(Interpreter& in, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* seq, one_arg("in", args));
  // Reuse the `in` operator through a select-free path: iterate membership as Python does.
  if (seq->is_undefined()) return false;
  if (seq->is_string()) {
    if (!v.is_string()) return type_error("'in <string>' requires string as left operand");
    return seq->str().find(v.str()) != std::string::npos;
  }
  if (seq->is_dict()) {
    if (!hashable(v)) return type_error(fmt::format("unhashable type: '{}'", v.type_name()));
    return seq->dict().find(v) != nullptr;
  }
  if (seq->is_list()) {
    RETURN_IF_ERROR(in.tick(seq->items().size() / 16));
    for (const Value& x : seq->items()) {
      if (equals(x, v)) return true;
    }
    return false;
  }
  return type_error(fmt::format("argument of type '{}' is not iterable", seq->type_name()));
}

Result<bool> t_sameas(Interpreter&, const Value& v, const CallArgs& args) {
  ASSIGN_OR_RETURN(const Value* o, one_arg("sameas", args));
  if (v.kind() != o->kind()) return false;
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return false;
    case ValueKind::kNone:
      return true;
    case ValueKind::kBool:
    case ValueKind::kInt:
      return v.as_int() == o->as_int();
    case ValueKind::kFloat:
      return false;
    default:
      return v.shared() == o->shared();
  }
}

bool all_cased(const std::string& s, bool upper_wanted) {
  bool any_cased = false;
  for (char32_t c : py::decode(s)) {
    if (!py::is_cased(c)) continue;
    any_cased = true;
    const bool is_upper = py::to_lower(c) != c;
    if (is_upper != upper_wanted) return false;
  }
  return any_cased;
}
Result<bool> t_lower(Interpreter&, const Value& v, const CallArgs&) { return all_cased(to_str(v), false); }
Result<bool> t_upper(Interpreter&, const Value& v, const CallArgs&) { return all_cased(to_str(v), true); }

Result<bool> t_filter(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_string() && find_filter(v.str()) != nullptr;
}
Result<bool> t_test(Interpreter&, const Value& v, const CallArgs&) {
  return v.is_string() && find_test(v.str()) != nullptr;
}

}  // namespace

TestFn find_test(std::string_view name) {
  static const std::unordered_map<std::string_view, TestFn> kTests = {
      {"!=", t_ne},          {"<", t_lt},
      {"<=", t_le},          {"==", t_eq},
      {">", t_gt},           {">=", t_ge},
      {"boolean", t_boolean}, {"callable", t_callable},
      {"defined", t_defined}, {"divisibleby", t_divisibleby},
      {"eq", t_eq},          {"equalto", t_eq},
      {"escaped", t_escaped}, {"even", t_even},
      {"false", t_false},    {"filter", t_filter},
      {"float", t_float},    {"ge", t_ge},
      {"greaterthan", t_gt}, {"gt", t_gt},
      {"in", t_in},          {"integer", t_integer},
      {"iterable", t_iterable}, {"le", t_le},
      {"lessthan", t_lt},    {"lower", t_lower},
      {"lt", t_lt},          {"mapping", t_mapping},
      {"ne", t_ne},          {"none", t_none},
      {"number", t_number},  {"odd", t_odd},
      {"sameas", t_sameas},  {"sequence", t_sequence},
      {"string", t_string},  {"test", t_test},
      {"true", t_true},      {"undefined", t_undefined},
      {"upper", t_upper},
  };
  const auto it = kTests.find(name);
  return it == kTests.end() ? nullptr : it->second;
}

}  // namespace parley::chat
