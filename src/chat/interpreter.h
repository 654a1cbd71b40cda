// Interpreter: renders a Program with Jinja2's semantics as Hugging Face configures it (an
// immutable sandbox: lists and dicts cannot be changed in place; undefined is the default
// Undefined). Every resource a template can consume is bounded (RenderLimits), because
// templates come from model files: output and string sizes, total bytes allocated, evaluation
// steps, loop sizes, macro recursion, container nesting and wall time.
//
// One Interpreter renders once, on one thread. Errors are Status values whose message names the
// template position: "chat template error at line L, column C: ...".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "chat/ast.h"
#include "chat/runtime.h"
#include "chat/value.h"

namespace parley::chat {

struct RenderLimits {
  std::size_t output_bytes_max = std::size_t{4} << 20;
  std::size_t string_bytes_max = std::size_t{4} << 20;    // any one string or captured block (< 8 MiB: kReprBytesMax)
  std::size_t alloc_bytes_max = std::size_t{256} << 20;   // all strings and containers created
  std::uint64_t steps_max = 20'000'000;                   // expressions evaluated, statements run
  int call_depth_max = 64;                                // nested macro calls
  std::uint32_t value_depth_max = 100;                    // nested lists/dicts
  int nesting_max = 512;  // statements and expressions being evaluated inside one another (stack)
  std::chrono::milliseconds time_max{2000};
};

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, std::optional<std::tm> now);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders `program` with `variables` visible (after the template's own assignments, before
  // the builtins range, dict, namespace, raise_exception, strftime_now, cycler, joiner).
  Result<std::string> render(const Program& program, const std::vector<std::pair<std::string, Value>>& variables);

  // ---- services for builtins (filters, tests, methods, globals) --------------------------------
  // Sandboxed attribute access: Python attributes (methods) first, then items.
  Result<Value> getattr(const Value& obj, std::string_view name);
  // Subscription: items first, then attributes (Jinja2's environment.getitem).
  Result<Value> getitem(const Value& obj, const Value& key);
  // Python attributes only (the |attr filter).
  Value python_attr(const Value& obj, std::string_view name);
  Result<Value> call_value(const Value& callee, CallArgs& args);
  Result<Value> apply_filter(std::string_view name, const Value& input, const CallArgs& args);
  Result<bool> apply_test(std::string_view name, const Value& input, const CallArgs& args);
  // The items a for loop would visit, as a list Value (dict: keys; str: characters).
  Result<Value> iterate(const Value& v);
  // Accounts for a newly created value: size and nesting limits, allocation budget.
  Status charge(const Value& v);
  Status charge_bytes(std::size_t n);
  Status tick(std::uint64_t n = 1);
  Value make_namespace();
  // Registers an object created during the render (it lives until the render ends, see
  // Object::drop_references) and returns it as a value.
  Value adopt(std::shared_ptr<Object> object);
  std::tm now() const;
  const RenderLimits& limits() const { return limits_; }
  // An error when a string being built would pass the per-string limit.
  Status check_string_size(std::size_t bytes) const;

  // Messages for undefined values used where a value is required.
  static Status undefined_error(const Value& v);

  // ---- used by Macro ---------------------------------------------------------------------------
  Result<Value> call_macro(const Macro& macro, CallArgs& args);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  // Bounds how deeply statements and expressions nest while running (macros called inside
  // expressions inside blocks...), which is what the stack has to hold.
  class NestingGuard {
   public:
    explicit NestingGuard(Interpreter* in) : in_(in) { ++in_->nesting_; }
    ~NestingGuard() { --in_->nesting_; }
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;
    Status status() const {
      if (in_->nesting_ <= in_->limits_.nesting_max) return ok_status();
      return resource_exhausted_error("statements and expressions nested deeper than {} while rendering",
                                      in_->limits_.nesting_max);
    }

   private:
    Interpreter* in_;
  };

  Status exec_body(const Body& body, const std::shared_ptr<Scope>& scope);
  Status exec(const Stmt& s, const std::shared_ptr<Scope>& scope);
  Status exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope);
  Status exec_call_block(const Stmt& s, const std::shared_ptr<Scope>& scope);
  Result<Value> capture(const Body& body, const std::shared_ptr<Scope>& scope);
  Status assign(const Expr& target, Value v, Scope& scope, const std::shared_ptr<Scope>& lookup);
  Status emit(std::string_view text);

  Result<Value> eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Result<Value> eval_call(const Expr& e, const std::shared_ptr<Scope>& scope);
  Result<Value> eval_binary(const Expr& e, const Value& a, const Value& b);
  Result<Value> eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope);
  Result<Value> eval_filter_chain(const Expr& e, const std::shared_ptr<Scope>& scope, const Value* block_input);
  Result<Value> eval_slice(const Expr& e, const std::shared_ptr<Scope>& scope);
  Result<CallArgs> eval_args(const Expr& e, std::size_t first, const std::shared_ptr<Scope>& scope);
  Result<bool> contains(const Value& container, const Value& item);
  Value lookup(std::string_view name, const Scope& scope) const;

  Status fail(SourcePos pos, std::string_view message) const;
  Status at(SourcePos pos, const Status& s) const;

  RenderLimits limits_;  // a copy: the constructor caps string_bytes_max
  std::optional<std::tm> now_;
  std::string* out_ = nullptr;
  std::uint64_t steps_ = 0;
  std::size_t alloc_bytes_ = 0;
  int call_depth_ = 0;
  Flow flow_ = Flow::kNormal;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<Scope> root_;
  std::vector<std::pair<std::string, Value>> variables_;
  std::vector<std::pair<std::string_view, Value>> builtins_;
  int nesting_ = 0;
  // Every object created by the render. Objects can hold values that hold objects, so chains and
  // cycles can form (a namespace containing itself); holding them all here means dropping a value
  // mid-render never cascades through them, and at the end they are emptied, then freed.
  std::vector<std::shared_ptr<Object>> objects_;
};

}  // namespace parley::chat
