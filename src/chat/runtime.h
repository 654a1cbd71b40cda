// Runtime pieces of a render: variable scopes, call arguments, and the objects templates create
// (namespaces, macros, loop objects, bound methods, builtin functions). Internal to src/chat.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "chat/ast.h"
#include "chat/value.h"

namespace parley::chat {

class Interpreter;

// One level of variables: the template's top level, a macro call, one loop iteration, ...
// Lookups walk the parents; assignments go to the innermost scope, as in Jinja2.
struct Scope {
  explicit Scope(std::shared_ptr<Scope> p) : parent(std::move(p)) {}
  const Value* find_local(std::string_view name) const {
    for (const auto& [k, v] : vars) {
      if (k == name) return &v;
    }
    return nullptr;
  }
  void set(std::string_view name, Value v) {
    for (auto& [k, old] : vars) {
      if (k == name) {
        old = std::move(v);
        return;
      }
    }
    vars.emplace_back(std::string(name), std::move(v));
  }
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// Binds CallArgs to a builtin's parameter list the way Python binds arguments.
class ArgBinder {
 public:
  ArgBinder(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params);
  const Status& status() const { return status_; }
  // The argument for parameter i, or nullptr when it was not given.
  const Value* get(std::size_t i) const { return i < bound_.size() ? bound_[i] : nullptr; }
  bool has(std::size_t i) const { return get(i) != nullptr; }

 private:
  std::vector<const Value*> bound_;
  Status status_;
};

class Callable : public Object {
 public:
  bool callable() const override { return true; }
  virtual Result<Value> call(Interpreter& in, CallArgs& args) const = 0;
  // Builtins' errors get the call site's position; macros' errors already carry their own.
  virtual bool reports_position() const { return false; }
};

class Namespace final : public Object {
 public:
  std::string_view type_name() const override { return "Namespace"; }
  void append_repr(std::string& out, int depth) const override;
  const Value* find(std::string_view name) const;
  void set(std::string_view name, Value v);
  void drop_references() override { attrs_.clear(); }

 private:
  std::vector<std::pair<std::string, Value>> attrs_;
};

class Macro final : public Callable {
 public:
  Macro(const Stmt* def, std::weak_ptr<Scope> closure) : def_(def), closure_(std::move(closure)) {}
  std::string_view type_name() const override { return "Macro"; }
  void append_repr(std::string& out, int depth) const override;
  Result<Value> call(Interpreter& in, CallArgs& args) const override;
  bool reports_position() const override { return true; }
  const Stmt& def() const { return *def_; }
  std::shared_ptr<Scope> closure() const { return closure_.lock(); }

 private:
  const Stmt* def_;
  // Weak: a scope holds the macro, so a strong pointer back would be a cycle.
  std::weak_ptr<Scope> closure_;
};

using BuiltinFn = Result<Value> (*)(Interpreter& in, const CallArgs& args);

class BuiltinFunction final : public Callable {
 public:
  BuiltinFunction(std::string_view name, BuiltinFn fn) : name_(name), fn_(fn) {}
  std::string_view type_name() const override { return "builtin_function_or_method"; }
  void append_repr(std::string& out, int depth) const override;
  Result<Value> call(Interpreter& in, CallArgs& args) const override { return fn_(in, args); }

 private:
  std::string_view name_;
  BuiltinFn fn_;
};

// `obj.method` before it is called, e.g. `{{ d.items }}` or `{% set f = s.strip %}`.
class BoundMethod final : public Callable {
 public:
  BoundMethod(Value self, std::string name) : self_(std::move(self)), name_(std::move(name)) {}
  std::string_view type_name() const override { return "builtin_function_or_method"; }
  void append_repr(std::string& out, int depth) const override;
  Result<Value> call(Interpreter& in, CallArgs& args) const override;
  void drop_references() override { self_ = Value(); }

 private:
  Value self_;
  std::string name_;
};

// Jinja2's `loop` variable.
class LoopObject final : public Callable {
 public:
  explicit LoopObject(Value items) : items_(std::move(items)) {}
  std::string_view type_name() const override { return "LoopContext"; }
  void append_repr(std::string& out, int depth) const override;
  // Recursive loops are not supported, so calling `loop(...)` is an error.
  Result<Value> call(Interpreter& in, CallArgs& args) const override;
  Value get_attr(std::string_view name) const;
  Result<Value> cycle(const CallArgs& args) const;
  Result<Value> changed(const CallArgs& args) const;
  void set_index(std::size_t i) { index_ = i; }
  void drop_references() override {
    items_ = Value::list({});
    last_changed_ = Value();
  }

 private:
  Value items_;
  std::size_t index_ = 0;
  mutable Value last_changed_;
  mutable bool has_changed_ = false;
};

class Cycler final : public Object {
 public:
  explicit Cycler(std::vector<Value> items) : items_(std::move(items)) {}
  std::string_view type_name() const override { return "Cycler"; }
  Value current() const { return items_.empty() ? Value::none() : items_[pos_]; }
  Value next() const {
    Value v = current();
    if (!items_.empty()) pos_ = (pos_ + 1) % items_.size();
    return v;
  }
  void reset() const { pos_ = 0; }
  void drop_references() override {
    items_.clear();
    pos_ = 0;
  }

 private:
  std::vector<Value> items_;
  mutable std::size_t pos_ = 0;
};

class Joiner final : public Callable {
 public:
  explicit Joiner(std::string sep) : sep_(std::move(sep)) {}
  std::string_view type_name() const override { return "Joiner"; }
  Result<Value> call(Interpreter& in, CallArgs& args) const override;

 private:
  std::string sep_;
  mutable bool used_ = false;
};

}  // namespace parley::chat
