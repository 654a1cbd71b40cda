#include "chat/runtime.h"

#include <algorithm>

#include "chat/builtins.h"
#include "chat/interpreter.h"

namespace parley::chat {

ArgBinder::ArgBinder(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params)
    : bound_(params.size(), nullptr) {
  if (args.positional.size() > params.size()) {
    status_ = invalid_argument_error("{}() takes at most {} argument(s) ({} given)", function, params.size(),
                                     args.positional.size());
    return;
  }
  for (std::size_t i = 0; i < args.positional.size(); ++i) bound_[i] = &args.positional[i];
  for (const auto& [key, value] : args.keyword) {
    std::size_t i = 0;
    for (std::string_view p : params) {
      if (p == key) break;
      ++i;
    }
    if (i == params.size()) {
      status_ = invalid_argument_error("{}() got an unexpected keyword argument '{}'", function, key);
      return;
    }
    if (bound_[i] != nullptr) {
      status_ = invalid_argument_error("{}() got multiple values for argument '{}'", function, key);
      return;
    }
    bound_[i] = &value;
  }
}

void Namespace::append_repr(std::string& out, int depth) const {
  // Python's repr shows a namespace already being printed (a cycle) as {...}.
  thread_local std::vector<const Namespace*> printing;
  if (std::find(printing.begin(), printing.end(), this) != printing.end()) {
    out += "<Namespace {...}>";
    return;
  }
  printing.push_back(this);
  struct Pop {
    ~Pop() { printing.pop_back(); }
  } pop;
  out += "<Namespace {";
  bool first = true;
  for (const auto& [k, v] : attrs_) {
    if (!first) out += ", ";
    first = false;
    chat::append_repr(out, Value(k), depth);
    out += ": ";
    chat::append_repr(out, v, depth);
  }
  out += "}>";
}

const Value* Namespace::find(std::string_view name) const {
  for (const auto& [k, v] : attrs_) {
    if (k == name) return &v;
  }
  return nullptr;
}

void Namespace::set(std::string_view name, Value v) {
  for (auto& [k, old] : attrs_) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  attrs_.emplace_back(std::string(name), std::move(v));
}

void Macro::append_repr(std::string& out, int /*depth*/) const {
  out += "<Macro ";
  chat::append_repr(out, Value(def_->name), 0);
  out += '>';
}

void BuiltinFunction::append_repr(std::string& out, int /*depth*/) const {
  out += "<function ";
  out += name_;
  out += '>';
}

void BoundMethod::append_repr(std::string& out, int /*depth*/) const {
  out += "<built-in method ";
  out += name_;
  out += " of ";
  out += self_.type_name();
  out += " object>";
}

Result<Value> BoundMethod::call(Interpreter& in, CallArgs& args) const { return call_method(in, self_, name_, args); }

void LoopObject::append_repr(std::string& out, int /*depth*/) const {
  out += fmt::format("<LoopContext {}/{}>", index_ + 1, items_.items().size());
}

Result<Value> LoopObject::call(Interpreter& /*in*/, CallArgs& /*args*/) const {
  return unimplemented_error("recursive loops (calling loop(...)) are not supported");
}

Value LoopObject::get_attr(std::string_view name) const {
  const auto& items = items_.items();
  const auto n = static_cast<std::int64_t>(items.size());
  const auto i = static_cast<std::int64_t>(index_);
  if (name == "index") return Value(i + 1);
  if (name == "index0") return Value(i);
  if (name == "revindex") return Value(n - i);
  if (name == "revindex0") return Value(n - i - 1);
  if (name == "first") return Value(i == 0);
  if (name == "last") return Value(i == n - 1);
  if (name == "length") return Value(n);
  if (name == "depth") return Value(1);
  if (name == "depth0") return Value(0);
  if (name == "previtem") return i > 0 ? items[index_ - 1] : Value::undefined("there is no previous item");
  if (name == "nextitem") return i + 1 < n ? items[index_ + 1] : Value::undefined("there is no next item");
  return Value();
}

Result<Value> LoopObject::cycle(const CallArgs& args) const {
  if (args.positional.empty()) return invalid_argument_error("no items for cycling given");
  return args.positional[index_ % args.positional.size()];
}

Result<Value> LoopObject::changed(const CallArgs& args) const {
  const Value current = Value::list(args.positional);
  if (has_changed_ && equals(current, last_changed_)) return Value(false);
  has_changed_ = true;
  last_changed_ = current;
  return Value(true);
}

Result<Value> Joiner::call(Interpreter& /*in*/, CallArgs& /*args*/) const {
  if (!used_) {
    used_ = true;
    return Value(std::string());
  }
  return Value(sep_);
}

}  // namespace parley::chat
