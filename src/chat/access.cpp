// Attribute and item access with the sandbox's rules (Jinja2's environment.getattr/getitem as
// ImmutableSandboxedEnvironment overrides them), and iteration.
#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/py_string.h"

namespace parley::chat {
namespace {

Status type_error(std::string_view what) { return invalid_argument_error("{}", what); }

}  // namespace

namespace {
std::string type_label(const Value& obj) { return fmt::format("'{} object'", obj.type_name()); }

Value unsafe_attr(const Value& obj, std::string_view name) {
  return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
}

// Python's special attributes that every object has; the sandbox refuses them all (names
// starting with "_" that are real attributes). Other dunder-looking names are ordinary keys.
bool special_attribute(std::string_view name) {
  static constexpr std::string_view kSpecial[] = {
      "__class__", "__dict__",     "__doc__",   "__init__",     "__len__",       "__getitem__", "__iter__",
      "__repr__",  "__str__",      "__module__", "__globals__", "__subclasses__", "__mro__",    "__bases__",
      "__name__",  "__func__",     "__self__",  "__code__",     "__builtins__",  "__contains__", "__eq__",
      "__hash__",  "__format__",   "__reduce__", "__reduce_ex__", "__getattribute__", "__setattr__", "__new__",
      "__dir__",   "__sizeof__",   "__init_subclass__", "__subclasshook__", "__lt__", "__le__", "__gt__", "__ge__",
      "__ne__",    "__delattr__",  "__class_getitem__"};
  for (std::string_view s : kSpecial) {
    if (s == name) return true;
  }
  return false;
}

// Attributes Python objects have beyond the data: methods, namespace and loop attributes.
std::optional<Value> object_attribute(Interpreter& in, const Value& obj, std::string_view name) {
  if (special_attribute(name)) return unsafe_attr(obj, name);
  if (obj.is_string() || obj.is_list() || obj.is_dict()) {
    switch (method_kind(obj, name)) {
      case MethodKind::kSafe: return in.adopt(std::make_shared<BoundMethod>(obj, std::string(name)));
      case MethodKind::kUnsafe: return unsafe_attr(obj, name);
      case MethodKind::kNone: return std::nullopt;
    }
  }
  if (const auto* ns = obj.object_as<Namespace>()) {
    if (const Value* v = ns->find(name)) return *v;
    return std::nullopt;
  }
  if (const auto* loop = obj.object_as<LoopObject>()) {
    if (name == "cycle" || name == "changed") return in.adopt(std::make_shared<BoundMethod>(obj, std::string(name)));
    Value v = loop->get_attr(name);
    if (v.is_undefined() && v.undefined_hint().empty()) return std::nullopt;
    return v;
  }
  if (obj.is_number() && (name == "real" || name == "imag")) {
    if (name == "imag") return obj.is_float() ? Value(0.0) : Value(0);
    return obj.is_float() ? obj : Value(obj.as_int());
  }
  if (const auto* cycler = obj.object_as<Cycler>()) {
    if (name == "current") return cycler->current();
    if (name == "next" || name == "reset") return in.adopt(std::make_shared<BoundMethod>(obj, std::string(name)));
  }
  return std::nullopt;
}
}  // namespace

Value Interpreter::python_attr(const Value& obj, std::string_view name) {
  if (auto v = object_attribute(*this, obj, name)) return *v;
  return Value::undefined(fmt::format("{} has no attribute '{}'", type_label(obj), name));
}

Result<Value> Interpreter::getattr(const Value& obj, std::string_view name) {
  if (obj.is_undefined()) return undefined_error(obj);
  if (auto v = object_attribute(*this, obj, name)) return *v;
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().find(name)) return *v;
  }
  return Value::undefined(fmt::format("{} has no attribute '{}'", type_label(obj), name));
}

Result<Value> Interpreter::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return undefined_error(obj);
  if (obj.is_dict() && hashable(key)) {
    if (const Value* v = obj.dict().find(key)) return *v;
  } else if (obj.is_sequence_list() && key.is_integral()) {
    const auto& items = obj.items();
    std::int64_t i = key.as_int();
    if (i < 0) i += static_cast<std::int64_t>(items.size());
    if (i >= 0 && i < static_cast<std::int64_t>(items.size())) return items[static_cast<std::size_t>(i)];
    return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), key.as_int()));
  } else if (obj.is_string() && key.is_integral()) {
    const std::string& s = obj.str();
    std::int64_t i = key.as_int();
    if (py::is_ascii(s)) {
      if (i < 0) i += static_cast<std::int64_t>(s.size());
      if (i >= 0 && i < static_cast<std::int64_t>(s.size())) {
        std::string c(1, s[static_cast<std::size_t>(i)]);
        return obj.is_markup() ? Value::markup(std::move(c)) : Value(std::move(c));
      }
    } else {
      const std::vector<std::size_t> offs = py::char_offsets(s);
      const auto n = static_cast<std::int64_t>(offs.size()) - 1;
      if (i < 0) i += n;
      if (i >= 0 && i < n) {
        const auto k = static_cast<std::size_t>(i);
        std::string c = s.substr(offs[k], offs[k + 1] - offs[k]);
        return obj.is_markup() ? Value::markup(std::move(c)) : Value(std::move(c));
      }
    }
    return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), key.as_int()));
  }
  if (key.is_string()) {
    if (auto v = object_attribute(*this, obj, key.str())) return *v;
    return Value::undefined(fmt::format("{} has no attribute '{}'", type_label(obj), key.str()));
  }
  return Value::undefined(fmt::format("{} object has no element {}", obj.type_name(), repr(key)));
}

Result<Value> Interpreter::iterate(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return Value::list({});
    case ValueKind::kList:
      return v;
    case ValueKind::kDict: {
      std::vector<Value> keys;
      keys.reserve(v.dict().size());
      for (const auto& [k, val] : v.dict().entries()) keys.push_back(k);
      Value out = Value::list(std::move(keys));
      RETURN_IF_ERROR(charge(out));
      return out;
    }
    case ValueKind::kString: {
      const std::string& s = v.str();
      RETURN_IF_ERROR(charge_bytes(s.size() * (sizeof(Value) + 32)));
      std::vector<Value> chars;
      const std::vector<std::size_t> offs = py::char_offsets(s);
      chars.reserve(offs.size() - 1);
      for (std::size_t i = 0; i + 1 < offs.size(); ++i) {
        std::string c = s.substr(offs[i], offs[i + 1] - offs[i]);
        chars.push_back(v.is_markup() ? Value::markup(std::move(c)) : Value(std::move(c)));
      }
      return Value::list(std::move(chars));
    }
    default:
      return type_error(fmt::format("'{}' object is not iterable", v.type_name()));
  }
}

}  // namespace parley::chat
