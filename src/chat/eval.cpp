// Expression evaluation: operators with Python's semantics, calls, filters, tests, slices.
#include <cmath>
#include <limits>

#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/py_string.h"

namespace parley::chat {
namespace {

Status type_error(std::string_view what) { return invalid_argument_error("{}", what); }

Status overflow_error() { return invalid_argument_error("integer overflow (Python would switch to a big integer)"); }

// Python's floor division and modulo on ints.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  std::int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
double float_mod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

}  // namespace

Result<CallArgs> Interpreter::eval_args(const Expr& e, std::size_t first, const std::shared_ptr<Scope>& scope) {
  CallArgs args;
  args.positional.reserve(e.children.size() > first ? e.children.size() - first : 0);
  for (std::size_t i = first; i < e.children.size(); ++i) {
    ASSIGN_OR_RETURN(Value v, eval(*e.children[i], scope));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [name, expr] : e.kwargs) {
    ASSIGN_OR_RETURN(Value v, eval(*expr, scope));
    args.keyword.emplace_back(name, std::move(v));
  }
  return args;
}

Result<Value> Interpreter::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  const NestingGuard nesting(this);
  if (Status st = nesting.status(); !st.ok()) return at(e.pos, st);
  if (Status st = tick(); !st.ok()) return at(e.pos, st);
  Result<Value> r = Value();
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.value;
    case ExprKind::kName:
      return lookup(e.name, *scope);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.children.size());
      for (const ExprPtr& c : e.children) {
        ASSIGN_OR_RETURN(Value v, eval(*c, scope));
        items.push_back(std::move(v));
      }
      Value v = e.kind == ExprKind::kList ? Value::list(std::move(items)) : Value::tuple(std::move(items));
      if (Status st = charge(v); !st.ok()) return at(e.pos, st);
      return v;
    }
    case ExprKind::kDict: {
      Dict d;
      for (std::size_t i = 0; i + 1 < e.children.size(); i += 2) {
        ASSIGN_OR_RETURN(Value k, eval(*e.children[i], scope));
        ASSIGN_OR_RETURN(Value v, eval(*e.children[i + 1], scope));
        if (!hashable(k)) return fail(e.children[i]->pos, fmt::format("unhashable type: '{}'", k.type_name()));
        d.set(std::move(k), std::move(v));
      }
      Value v = Value::dict(std::move(d));
      if (Status st = charge(v); !st.ok()) return at(e.pos, st);
      return v;
    }
    case ExprKind::kAttr: {
      ASSIGN_OR_RETURN(Value obj, eval(*e.children[0], scope));
      r = getattr(obj, e.name);
      break;
    }
    case ExprKind::kItem: {
      ASSIGN_OR_RETURN(Value obj, eval(*e.children[0], scope));
      ASSIGN_OR_RETURN(Value key, eval(*e.children[1], scope));
      r = getitem(obj, key);
      break;
    }
    case ExprKind::kSlice:
      r = eval_slice(e, scope);
      break;
    case ExprKind::kCall:
      r = eval_call(e, scope);
      break;
    case ExprKind::kFilter:
      r = eval_filter_chain(e, scope, nullptr);
      break;
    case ExprKind::kTest: {
      ASSIGN_OR_RETURN(Value operand, eval(*e.children[0], scope));
      ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1, scope));
      auto t = apply_test(e.name, operand, args);
      if (!t.ok()) return at(e.pos, t.status());
      return Value(*t != e.negated);
    }
    case ExprKind::kNot: {
      ASSIGN_OR_RETURN(Value v, eval(*e.children[0], scope));
      return Value(!v.truthy());
    }
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      ASSIGN_OR_RETURN(Value v, eval(*e.children[0], scope));
      const bool neg = e.kind == ExprKind::kNeg;
      if (v.is_undefined()) return at(e.pos, undefined_error(v));
      if (v.is_float()) return Value(neg ? -v.as_float() : v.as_float());
      if (v.is_integral()) {
        if (neg && v.as_int() == std::numeric_limits<std::int64_t>::min()) return at(e.pos, overflow_error());
        return Value(neg ? -v.as_int() : v.as_int());
      }
      return fail(e.pos, fmt::format("bad operand type for unary {}: '{}'", neg ? '-' : '+', v.type_name()));
    }
    case ExprKind::kBinary: {
      ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
      ASSIGN_OR_RETURN(Value b, eval(*e.children[1], scope));
      r = eval_binary(e, a, b);
      if (r.ok()) {
        if (Status st = charge(*r); !st.ok()) return at(e.pos, st);
      }
      break;
    }
    case ExprKind::kAnd: {
      ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
      if (!a.truthy()) return a;
      return eval(*e.children[1], scope);
    }
    case ExprKind::kOr: {
      ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
      if (a.truthy()) return a;
      return eval(*e.children[1], scope);
    }
    case ExprKind::kConcat: {
      std::string s;
      for (const ExprPtr& c : e.children) {
        ASSIGN_OR_RETURN(Value v, eval(*c, scope));
        append_str(s, v);
        if (s.size() > limits_.string_bytes_max) break;
      }
      Value v(std::move(s));
      if (Status st = charge(v); !st.ok()) return at(e.pos, st);
      return v;
    }
    case ExprKind::kCompare:
      return eval_compare(e, scope);
    case ExprKind::kCondExpr: {
      ASSIGN_OR_RETURN(Value test, eval(*e.children[1], scope));
      if (test.truthy()) return eval(*e.children[0], scope);
      if (e.children[2]) return eval(*e.children[2], scope);
      return Value::undefined(fmt::format(
          "the inline if-expression on line {} evaluated to false and no else section was defined.", e.pos.line));
    }
  }
  if (!r.ok()) return at(e.pos, r.status());
  return r;
}

Result<Value> Interpreter::eval_filter_chain(const Expr& e, const std::shared_ptr<Scope>& scope,
                                             const Value* block_input) {
  Value input;
  const Expr* operand = e.children[0].get();
  if (operand == nullptr) {
    input = block_input != nullptr ? *block_input : Value();
  } else if (block_input != nullptr && operand->kind == ExprKind::kFilter) {
    ASSIGN_OR_RETURN(input, eval_filter_chain(*operand, scope, block_input));
  } else {
    ASSIGN_OR_RETURN(input, eval(*operand, scope));
  }
  ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1, scope));
  auto r = apply_filter(e.name, input, args);
  if (!r.ok()) return at(e.pos, r.status());
  if (Status st = charge(*r); !st.ok()) return at(e.pos, st);
  return r;
}

Result<Value> Interpreter::eval_slice(const Expr& e, const std::shared_ptr<Scope>& scope) {
  ASSIGN_OR_RETURN(Value obj, eval(*e.children[0], scope));
  std::optional<std::int64_t> bounds[3];
  bool integral = true;
  for (int i = 0; i < 3; ++i) {
    const ExprPtr& c = e.children[static_cast<std::size_t>(i) + 1];
    if (!c) continue;
    ASSIGN_OR_RETURN(Value v, eval(*c, scope));
    if (v.is_none()) continue;
    if (!v.is_integral()) {
      integral = false;
      continue;
    }
    bounds[i] = v.as_int();
  }
  // Jinja2 compiles a slice to plain Python subscription (not environment.getitem), so these
  // errors are not softened into undefined values.
  if (obj.is_undefined()) return undefined_error(obj);
  if (!(obj.is_string() || obj.is_sequence_list())) {
    return type_error(fmt::format("'{}' object is not subscriptable with a slice", obj.type_name()));
  }
  if (!integral) return type_error("slice indices must be integers or None or have an __index__ method");
  if (bounds[2] && *bounds[2] == 0) return type_error("slice step cannot be zero");
  if (obj.is_string()) {
    const std::string& s = obj.str();
    if (py::is_ascii(s)) {
      const py::SliceBounds b = py::slice_bounds(static_cast<std::int64_t>(s.size()), bounds[0], bounds[1], bounds[2]);
      std::string out;
      if (b.step == 1) {
        out = s.substr(static_cast<std::size_t>(b.start), static_cast<std::size_t>(b.count));
      } else {
        out.reserve(static_cast<std::size_t>(b.count));
        for (std::int64_t i = 0, j = b.start; i < b.count; ++i, j += b.step) out += s[static_cast<std::size_t>(j)];
      }
      Value v = obj.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
      RETURN_IF_ERROR(charge(v));
      return v;
    }
    const std::vector<std::size_t> offs = py::char_offsets(s);
    const py::SliceBounds b = py::slice_bounds(static_cast<std::int64_t>(offs.size()) - 1, bounds[0], bounds[1], bounds[2]);
    std::string out;
    for (std::int64_t i = 0, j = b.start; i < b.count; ++i, j += b.step) {
      const auto k = static_cast<std::size_t>(j);
      out.append(s, offs[k], offs[k + 1] - offs[k]);
    }
    Value v = obj.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
    RETURN_IF_ERROR(charge(v));
    return v;
  }
  const auto& items = obj.items();
  const py::SliceBounds b = py::slice_bounds(static_cast<std::int64_t>(items.size()), bounds[0], bounds[1], bounds[2]);
  std::vector<Value> out;
  out.reserve(static_cast<std::size_t>(b.count));
  for (std::int64_t i = 0, j = b.start; i < b.count; ++i, j += b.step) out.push_back(items[static_cast<std::size_t>(j)]);
  Value v = obj.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  RETURN_IF_ERROR(charge(v));
  return v;
}

Result<Value> Interpreter::eval_call(const Expr& e, const std::shared_ptr<Scope>& scope) {
  const Expr& callee_expr = *e.children[0];
  Value callee;
  if (callee_expr.kind == ExprKind::kAttr) {
    ASSIGN_OR_RETURN(Value obj, eval(*callee_expr.children[0], scope));
    if ((obj.is_string() || obj.is_list() || obj.is_dict()) && method_kind(obj, callee_expr.name) == MethodKind::kSafe) {
      // The common `x.strip()` needs no bound-method object.
      ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1, scope));
      ASSIGN_OR_RETURN(Value v, call_method(*this, obj, callee_expr.name, args));
      RETURN_IF_ERROR(charge(v));
      return v;
    }
    auto attr = getattr(obj, callee_expr.name);
    if (!attr.ok()) return at(callee_expr.pos, attr.status());
    callee = std::move(attr).value();
  } else {
    ASSIGN_OR_RETURN(callee, eval(callee_expr, scope));
  }
  ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1, scope));
  ASSIGN_OR_RETURN(Value v, call_value(callee, args));
  RETURN_IF_ERROR(charge(v));
  return v;
}

Result<Value> Interpreter::call_value(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) return undefined_error(callee);
  if (callee.is_object() && callee.object().callable()) {
    return static_cast<const Callable&>(callee.object()).call(*this, args);
  }
  return type_error(fmt::format("'{}' object is not callable", callee.type_name()));
}

Result<Value> Interpreter::apply_filter(std::string_view name, const Value& input, const CallArgs& args) {
  const FilterFn fn = find_filter(name);
  if (fn == nullptr) return invalid_argument_error("no filter named '{}'", name);
  return fn(*this, input, args);
}

Result<bool> Interpreter::apply_test(std::string_view name, const Value& input, const CallArgs& args) {
  const TestFn fn = find_test(name);
  if (fn == nullptr) return invalid_argument_error("no test named '{}'", name);
  return fn(*this, input, args);
}

Result<Value> Interpreter::eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope) {
  ASSIGN_OR_RETURN(Value left, eval(*e.children[0], scope));
  for (std::size_t i = 0; i < e.cmp_ops.size(); ++i) {
    ASSIGN_OR_RETURN(Value right, eval(*e.children[i + 1], scope));
    const CompareOp op = e.cmp_ops[i];
    bool result = false;
    switch (op) {
      case CompareOp::kEq:
      case CompareOp::kNe:
        if (Status st = tick(std::min(left.weight(), right.weight()) / 16); !st.ok()) return at(e.pos, st);
        result = equals(left, right) == (op == CompareOp::kEq);
        break;
      case CompareOp::kIn:
      case CompareOp::kNotIn: {
        auto in = contains(right, left);
        if (!in.ok()) return at(e.pos, in.status());
        result = *in == (op == CompareOp::kIn);
        break;
      }
      default: {
        if (left.is_undefined()) return at(e.pos, undefined_error(left));
        if (right.is_undefined()) return at(e.pos, undefined_error(right));
        bool ok = true;
        const int c = compare(left, right, &ok);
        static constexpr std::string_view kSpelling[] = {"==", "!=", "<", "<=", ">", ">="};
        if (!ok) {
          return fail(e.pos, fmt::format("'{}' not supported between instances of '{}' and '{}'",
                                         kSpelling[static_cast<int>(op)], left.type_name(), right.type_name()));
        }
        result = op == CompareOp::kLt ? c < 0 : op == CompareOp::kLe ? c <= 0 : op == CompareOp::kGt ? c > 0 : c >= 0;
      }
    }
    if (!result) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

Result<bool> Interpreter::contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case ValueKind::kUndefined:
      return false;
    case ValueKind::kString:
      if (!item.is_string()) {
        return type_error(fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
      }
      return container.str().find(item.str()) != std::string::npos;
    case ValueKind::kList:
      RETURN_IF_ERROR(tick(container.weight() / 16));
      for (const Value& v : container.items()) {
        if (equals(v, item)) return true;
      }
      return false;
    case ValueKind::kDict:
      if (!hashable(item)) return type_error(fmt::format("unhashable type: '{}'", item.type_name()));
      return container.dict().find(item) != nullptr;
    default:
      return type_error(fmt::format("argument of type '{}' is not iterable", container.type_name()));
  }
}

Result<Value> Interpreter::eval_binary(const Expr& e, const Value& a, const Value& b) {
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  const bool nums = a.is_number() && b.is_number();
  const bool ints = a.is_integral() && b.is_integral();
  static constexpr std::string_view kSpelling[] = {"+", "-", "*", "/", "//", "%", "**"};
  const auto unsupported = [&]() {
    return type_error(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'",
                                  kSpelling[static_cast<int>(e.op)], a.type_name(), b.type_name()));
  };
  switch (e.op) {
    case BinaryOp::kAdd: {
      if (ints) {
        std::int64_t r;
        if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) return overflow_error();
        return Value(r);
      }
      if (nums) return Value(a.as_float() + b.as_float());
      if (a.is_string() && b.is_string()) {
        if (a.str().size() + b.str().size() > limits_.string_bytes_max) {
          return resource_exhausted_error("a string would exceed {} bytes", limits_.string_bytes_max);
        }
        if (a.is_markup() || b.is_markup()) return markup_concat(a, b);
        return Value(a.str() + b.str());
      }
      if (a.is_sequence_list() && b.is_sequence_list() && a.is_tuple() == b.is_tuple()) {
        if ((a.items().size() + b.items().size()) * sizeof(Value) > limits_.string_bytes_max) {
          return resource_exhausted_error("a list would exceed {} bytes", limits_.string_bytes_max);
        }
        std::vector<Value> items = a.items();
        items.insert(items.end(), b.items().begin(), b.items().end());
        return a.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
      }
      if (a.is_string()) {
        return type_error(fmt::format("can only concatenate str (not \"{}\") to str", b.type_name()));
      }
      if (a.is_sequence_list() && !a.is_tuple()) {
        return type_error(fmt::format("can only concatenate list (not \"{}\") to list", b.type_name()));
      }
      return unsupported();
    }
    case BinaryOp::kSub:
      if (ints) {
        std::int64_t r;
        if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) return overflow_error();
        return Value(r);
      }
      if (nums) return Value(a.as_float() - b.as_float());
      return unsupported();
    case BinaryOp::kMul: {
      if (ints) {
        std::int64_t r;
        if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) return overflow_error();
        return Value(r);
      }
      if (nums) return Value(a.as_float() * b.as_float());
      const Value* seq = b.is_integral() ? &a : (a.is_integral() ? &b : nullptr);
      const Value* count = seq == &a ? &b : &a;
      if (seq == nullptr || !(seq->is_string() || seq->is_sequence_list())) return unsupported();
      const std::int64_t n = std::max<std::int64_t>(0, count->as_int());
      const std::size_t unit = seq->is_string() ? seq->str().size() : seq->items().size() * sizeof(Value);
      if (n > 0 && unit > 0 && static_cast<std::uint64_t>(n) > limits_.string_bytes_max / unit) {
        return resource_exhausted_error("repetition would exceed {} bytes", limits_.string_bytes_max);
      }
      if (seq->is_string()) {
        std::string out;
        out.reserve(static_cast<std::size_t>(n) * unit);
        for (std::int64_t i = 0; i < n; ++i) out += seq->str();
        return seq->is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
      }
      std::vector<Value> items;
      for (std::int64_t i = 0; i < n; ++i) items.insert(items.end(), seq->items().begin(), seq->items().end());
      return seq->is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
    case BinaryOp::kDiv:
      if (!nums) return unsupported();
      if (b.as_float() == 0) return type_error("division by zero");
      return Value(a.as_float() / b.as_float());
    case BinaryOp::kFloorDiv:
      if (!nums) return unsupported();
      if (ints) {
        if (b.as_int() == 0) return type_error("integer division or modulo by zero");
        if (a.as_int() == std::numeric_limits<std::int64_t>::min() && b.as_int() == -1) return overflow_error();
        return Value(floor_div(a.as_int(), b.as_int()));
      }
      if (b.as_float() == 0) return type_error("float floor division by zero");
      return Value(std::floor(a.as_float() / b.as_float()));
    case BinaryOp::kMod:
      if (a.is_string()) {
        ASSIGN_OR_RETURN(std::string s, percent_format(a.str(), b, limits_.string_bytes_max));
        return Value(std::move(s));
      }
      if (!nums) return unsupported();
      if (ints) {
        if (b.as_int() == 0) return type_error("integer division or modulo by zero");
        if (b.as_int() == -1) return Value(std::int64_t{0});
        return Value(floor_mod(a.as_int(), b.as_int()));
      }
      if (b.as_float() == 0) return type_error("float modulo");
      return Value(float_mod(a.as_float(), b.as_float()));
    case BinaryOp::kPow: {
      if (!nums) return unsupported();
      if (ints && b.as_int() >= 0) {
        std::int64_t result = 1;
        std::int64_t base = a.as_int();
        std::int64_t exp = b.as_int();
        while (exp > 0) {
          if (exp & 1) {
            if (__builtin_mul_overflow(result, base, &result)) return overflow_error();
          }
          exp >>= 1;
          if (exp > 0 && __builtin_mul_overflow(base, base, &base)) return overflow_error();
        }
        return Value(result);
      }
      const double x = a.as_float();
      const double y = b.as_float();
      if (x == 0 && y < 0) return type_error("0.0 cannot be raised to a negative power");
      if (x < 0 && y != std::floor(y)) return type_error("negative number cannot be raised to a fractional power");
      const double r = std::pow(x, y);
      if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) return type_error("numerical result out of range");
      return Value(r);
    }
  }
  return unsupported();
}

}  // namespace parley::chat
