#include "chat/interpreter.h"

#include <algorithm>
#include <limits>

#include "chat/builtins.h"

namespace parley::chat {
namespace {

constexpr std::string_view kErrorPrefix = "chat template ";
constexpr std::uint64_t kTimeCheckEvery = 4096;

bool positioned(const Status& s) { return s.message().starts_with(kErrorPrefix); }

}  // namespace

Interpreter::Interpreter(const RenderLimits& limits, std::optional<std::tm> now) : limits_(limits), now_(now) {
  // A longer string could be a repr cut short at kReprBytesMax: never let one through.
  limits_.string_bytes_max = std::min(limits_.string_bytes_max, kReprBytesMax - 1);
}

Interpreter::~Interpreter() {
  for (const auto& o : objects_) o->drop_references();
}

Status Interpreter::fail(SourcePos pos, std::string_view message) const {
  return invalid_argument_error("chat template error at line {}, column {}: {}", pos.line, pos.column, message);
}

Status Interpreter::at(SourcePos pos, const Status& s) const {
  if (s.ok() || positioned(s)) return s;
  return Status(s.code(), fmt::format("chat template error at line {}, column {}: {}", pos.line, pos.column, s.message()));
}

Status Interpreter::undefined_error(const Value& v) {
  const std::string_view hint = v.undefined_hint();
  return invalid_argument_error("{}", hint.empty() ? std::string_view("value is undefined") : hint);
}

std::tm Interpreter::now() const {
  if (now_) return *now_;
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

Status Interpreter::tick(std::uint64_t n) {
  const std::uint64_t before = steps_;
  steps_ += n;
  if (steps_ > limits_.steps_max) {
    return resource_exhausted_error("rendering took more than {} steps", limits_.steps_max);
  }
  if (before / kTimeCheckEvery != steps_ / kTimeCheckEvery && std::chrono::steady_clock::now() > deadline_) {
    return resource_exhausted_error("rendering took longer than {} ms", limits_.time_max.count());
  }
  return ok_status();
}

Status Interpreter::charge_bytes(std::size_t n) {
  alloc_bytes_ += n;
  if (alloc_bytes_ > limits_.alloc_bytes_max) {
    return resource_exhausted_error("rendering allocated more than {} bytes", limits_.alloc_bytes_max);
  }
  return ok_status();
}

Status Interpreter::charge(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString:
      if (v.str().size() > limits_.string_bytes_max) {
        return resource_exhausted_error("a string of {} bytes is over the limit of {}", v.str().size(),
                                        limits_.string_bytes_max);
      }
      return charge_bytes(v.str().size());
    case ValueKind::kList:
    case ValueKind::kDict: {
      if (v.depth() > limits_.value_depth_max) {
        return resource_exhausted_error("lists/dicts nested deeper than {}", limits_.value_depth_max);
      }
      const std::size_t n = v.is_list() ? v.items().size() : v.dict().size() * 2;
      RETURN_IF_ERROR(tick(n / 16));
      return charge_bytes(n * sizeof(Value));
    }
    default:
      return ok_status();
  }
}

Status Interpreter::check_string_size(std::size_t bytes) const {
  if (bytes > limits_.string_bytes_max) {
    return resource_exhausted_error("a string of {} bytes is over the limit of {}", bytes, limits_.string_bytes_max);
  }
  return ok_status();
}

Value Interpreter::adopt(std::shared_ptr<Object> object) {
  objects_.push_back(object);
  // Objects live until the end, so they count against the allocation budget.
  charge_bytes(128).ignore();
  return Value::object(std::move(object));
}

Value Interpreter::make_namespace() { return adopt(std::make_shared<Namespace>()); }

Status Interpreter::emit(std::string_view text) {
  if (out_->size() + text.size() > limits_.output_bytes_max) {
    return resource_exhausted_error("output larger than {} bytes", limits_.output_bytes_max);
  }
  out_->append(text);
  return ok_status();
}

Result<std::string> Interpreter::render(const Program& program,
                                        const std::vector<std::pair<std::string, Value>>& variables) {
  deadline_ = std::chrono::steady_clock::now() + limits_.time_max;
  root_ = std::make_shared<Scope>(nullptr);
  variables_ = variables;
  builtins_ = make_builtins();
  std::string out;
  out_ = &out;
  const Status st = exec_body(program.body, root_);
  out_ = nullptr;
  if (!st.ok()) return st;
  return out;
}

Value Interpreter::lookup(std::string_view name, const Scope& scope) const {
  for (const Scope* s = &scope; s != nullptr; s = s->parent.get()) {
    if (const Value* v = s->find_local(name)) return *v;
  }
  for (const auto& [k, v] : variables_) {
    if (k == name) return v;
  }
  for (const auto& [k, v] : builtins_) {
    if (k == name) return v;
  }
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

// ---- statements --------------------------------------------------------------------------------

Status Interpreter::exec_body(const Body& body, const std::shared_ptr<Scope>& scope) {
  for (const StmtPtr& s : body) {
    RETURN_IF_ERROR(exec(*s, scope));
    if (flow_ != Flow::kNormal) return ok_status();
  }
  return ok_status();
}

Result<Value> Interpreter::capture(const Body& body, const std::shared_ptr<Scope>& scope) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  const Status st = exec_body(body, std::make_shared<Scope>(scope));
  out_ = saved;
  RETURN_IF_ERROR(st);
  Value v(std::move(buffer));
  RETURN_IF_ERROR(charge(v));
  return v;
}

Status Interpreter::exec(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  const NestingGuard nesting(this);
  Status st = nesting.status();
  if (st.ok()) st = tick();
  if (!st.ok()) return at(s.pos, st);
  switch (s.kind) {
    case StmtKind::kText:
      st = emit(s.text);
      break;
    case StmtKind::kOutput: {
      auto v = eval(*s.expr, scope);
      if (!v.ok()) return v.status();
      if (v->is_string()) {
        st = emit(v->str());
      } else {
        st = emit(to_str(*v));
      }
      break;
    }
    case StmtKind::kIf:
      for (const auto& [test, body] : s.branches) {
        auto t = eval(*test, scope);
        if (!t.ok()) return t.status();
        if (t->truthy()) return exec_body(body, scope);
      }
      return exec_body(s.else_body, scope);
    case StmtKind::kFor:
      return exec_for(s, scope);
    case StmtKind::kSet: {
      auto v = eval(*s.expr, scope);
      if (!v.ok()) return v.status();
      st = assign(*s.target, std::move(v).value(), *scope, scope);
      break;
    }
    case StmtKind::kSetBlock: {
      auto v = capture(s.body, scope);
      if (!v.ok()) return v.status();
      Value value = std::move(v).value();
      if (s.filter) {
        auto f = eval_filter_chain(*s.filter, scope, &value);
        if (!f.ok()) return f.status();
        value = std::move(f).value();
      }
      st = assign(*s.target, std::move(value), *scope, scope);
      break;
    }
    case StmtKind::kMacro:
      scope->set(s.name, adopt(std::make_shared<Macro>(&s, scope)));
      break;
    case StmtKind::kCallBlock:
      return exec_call_block(s, scope);
    case StmtKind::kFilterBlock: {
      auto v = capture(s.body, scope);
      if (!v.ok()) return v.status();
      auto f = eval_filter_chain(*s.filter, scope, &*v);
      if (!f.ok()) return f.status();
      st = emit(to_str(*f));
      break;
    }
    case StmtKind::kWith: {
      auto inner = std::make_shared<Scope>(scope);
      for (const auto& [target, value] : s.assigns) {
        auto v = eval(*value, scope);
        if (!v.ok()) return v.status();
        RETURN_IF_ERROR(assign(*target, std::move(v).value(), *inner, inner));
      }
      return exec_body(s.body, inner);
    }
    case StmtKind::kScope:
      return exec_body(s.body, scope);
    case StmtKind::kBreak:
      flow_ = Flow::kBreak;
      break;
    case StmtKind::kContinue:
      flow_ = Flow::kContinue;
      break;
  }
  return at(s.pos, st);
}

Status Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  auto iterable = eval(*s.expr, scope);
  if (!iterable.ok()) return iterable.status();
  auto listed = iterate(*iterable);
  if (!listed.ok()) return at(s.expr->pos, listed.status());
  Value items = std::move(listed).value();
  if (s.cond) {
    std::vector<Value> kept;
    for (const Value& item : items.items()) {
      RETURN_IF_ERROR(at(s.pos, tick()));
      auto tmp = std::make_shared<Scope>(scope);
      RETURN_IF_ERROR(assign(*s.target, item, *tmp, tmp));
      auto keep = eval(*s.cond, tmp);
      if (!keep.ok()) return keep.status();
      if (keep->truthy()) kept.push_back(item);
    }
    items = Value::list(std::move(kept));
    RETURN_IF_ERROR(at(s.pos, charge(items)));
  }
  const std::vector<Value>& list = items.items();
  if (list.empty()) {
    if (s.else_body.empty()) return ok_status();
    return exec_body(s.else_body, std::make_shared<Scope>(scope));
  }
  auto loop = std::make_shared<LoopObject>(items);
  const Value loop_value = adopt(loop);
  for (std::size_t i = 0; i < list.size(); ++i) {
    RETURN_IF_ERROR(at(s.pos, tick()));
    loop->set_index(i);
    auto inner = std::make_shared<Scope>(scope);
    RETURN_IF_ERROR(assign(*s.target, list[i], *inner, inner));
    inner->set("loop", loop_value);
    RETURN_IF_ERROR(exec_body(s.body, inner));
    if (flow_ == Flow::kBreak) {
      flow_ = Flow::kNormal;
      break;
    }
    flow_ = Flow::kNormal;
  }
  return ok_status();
}

Status Interpreter::exec_call_block(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  const Expr& call = *s.expr;
  const Value caller = adopt(std::make_shared<Macro>(&s, scope));
  auto callee = eval(*call.children[0], scope);
  if (!callee.ok()) return callee.status();
  auto args = eval_args(call, 1, scope);
  if (!args.ok()) return args.status();
  args->keyword.emplace_back("caller", caller);
  auto result = call_value(*callee, *args);
  if (!result.ok()) return at(call.pos, result.status());
  return at(s.pos, emit(to_str(*result)));
}

Status Interpreter::assign(const Expr& target, Value v, Scope& scope, const std::shared_ptr<Scope>& lookup_scope) {
  switch (target.kind) {
    case ExprKind::kName:
      scope.set(target.name, std::move(v));
      return ok_status();
    case ExprKind::kTuple: {
      auto listed = iterate(v);
      if (!listed.ok()) return at(target.pos, listed.status());
      const auto& items = listed->items();
      const std::size_t want = target.children.size();
      if (items.size() < want) {
        return fail(target.pos, fmt::format("not enough values to unpack (expected {}, got {})", want, items.size()));
      }
      if (items.size() > want) return fail(target.pos, fmt::format("too many values to unpack (expected {})", want));
      for (std::size_t i = 0; i < want; ++i) RETURN_IF_ERROR(assign(*target.children[i], items[i], scope, lookup_scope));
      return ok_status();
    }
    case ExprKind::kAttr: {
      const Value holder = lookup(target.children[0]->name, *lookup_scope);
      Namespace* ns = holder.object_as<Namespace>();
      if (ns == nullptr) return fail(target.pos, "cannot assign attribute on non-namespace object");
      ns->set(target.name, std::move(v));
      return ok_status();
    }
    default:
      return fail(target.pos, "can't assign to this expression");
  }
}

// ---- macros ------------------------------------------------------------------------------------

Result<Value> Interpreter::call_macro(const Macro& macro, CallArgs& args) {
  const Stmt& def = macro.def();
  if (call_depth_ >= limits_.call_depth_max) {
    return resource_exhausted_error("macro calls nested deeper than {}", limits_.call_depth_max);
  }
  std::shared_ptr<Scope> parent = macro.closure();
  auto scope = std::make_shared<Scope>(parent ? parent : root_);
  const std::string& name = def.name;
  std::vector<bool> bound(def.params.size(), false);
  std::vector<Value> varargs;
  for (std::size_t i = 0; i < args.positional.size(); ++i) {
    if (i < def.params.size()) {
      scope->set(def.params[i].name, std::move(args.positional[i]));
      bound[i] = true;
    } else if (def.uses_varargs) {
      varargs.push_back(std::move(args.positional[i]));
    } else {
      return invalid_argument_error("macro '{}' takes not more than {} argument(s)", name, def.params.size());
    }
  }
  Dict kwargs;
  Value caller = Value::undefined("No caller defined");
  for (auto& [key, value] : args.keyword) {
    std::size_t i = 0;
    while (i < def.params.size() && def.params[i].name != key) ++i;
    if (i < def.params.size()) {
      if (bound[i]) return invalid_argument_error("macro '{}' got multiple values for argument '{}'", name, key);
      scope->set(key, std::move(value));
      bound[i] = true;
    } else if (key == "caller" && def.uses_caller) {
      caller = std::move(value);
    } else if (def.uses_kwargs) {
      kwargs.set(Value(key), std::move(value));
    } else {
      return invalid_argument_error("macro '{}' takes no keyword argument '{}'", name, key);
    }
  }
  ++call_depth_;
  struct DepthRestore {
    int* d;
    ~DepthRestore() { --*d; }
  } restore{&call_depth_};
  // Defaults are evaluated per call, in the macro's scope (they may use earlier parameters).
  for (std::size_t i = 0; i < def.params.size(); ++i) {
    if (bound[i]) continue;
    if (def.params[i].default_value) {
      ASSIGN_OR_RETURN(Value v, eval(*def.params[i].default_value, scope));
      scope->set(def.params[i].name, std::move(v));
    } else {
      scope->set(def.params[i].name,
                 Value::undefined(fmt::format("parameter '{}' was not provided", def.params[i].name)));
    }
  }
  if (def.uses_varargs) scope->set("varargs", Value::tuple(std::move(varargs)));
  if (def.uses_kwargs) scope->set("kwargs", Value::dict(std::move(kwargs)));
  if (def.uses_caller) scope->set("caller", std::move(caller));
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  const Status st = exec_body(def.body, scope);
  out_ = saved;
  flow_ = Flow::kNormal;
  RETURN_IF_ERROR(st);
  return Value(std::move(buffer));
}

Result<Value> Macro::call(Interpreter& in, CallArgs& args) const { return in.call_macro(*this, args); }

}  // namespace parley::chat
