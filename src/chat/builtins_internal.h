// Helpers shared by the builtin implementations (filters_*.cpp, tests, methods, globals).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "chat/interpreter.h"
#include "chat/runtime.h"
#include "chat/value.h"

namespace parley::chat::detail {

#define PARLEY_BIND_ARGS(binder, name, args, ...)        \
  ArgBinder binder(name, args, {__VA_ARGS__});           \
  if (!binder.status().ok()) return binder.status()

// Jinja2's soft_str: strings (and markup) as they are, anything else through str().
inline Value soft_str(const Value& v) { return v.is_string() ? v : Value(to_str(v)); }

// A result string that stays markup when the input was markup.
inline Value like(const Value& input, std::string s) {
  return input.is_markup() ? Value::markup(std::move(s)) : Value(std::move(s));
}

inline Status type_error(std::string_view what) { return invalid_argument_error("{}", what); }

// An optional integer argument (absent or None: fallback).
Result<std::int64_t> int_arg(const Value* v, std::int64_t fallback, std::string_view what);
// An optional string argument (absent or None: nullopt).
Result<std::optional<std::string>> str_arg(const Value* v, std::string_view what);
bool bool_arg(const Value* v, bool fallback);

// Jinja2's make_attrgetter: "a.b.0" looked up with getitem; `default` replaces undefined.
Result<Value> get_path(Interpreter& in, Value item, const Value& path, const Value* default_value);
// Lower-cases strings for case-insensitive comparison (Jinja2's ignore_case).
Value ignore_case(const Value& v);

// Python's len(), or an error for values without one.
Result<std::int64_t> python_len(const Value& v);

Result<Value> filter_map(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_select(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_reject(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_selectattr(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_rejectattr(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_sort(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_dictsort(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_unique(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_join(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_first(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_last(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_list(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_reverse(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_items(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_max(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_min(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_sum(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_batch(Interpreter& in, const Value& input, const CallArgs& args);
Result<Value> filter_length(Interpreter& in, const Value& input, const CallArgs& args);

}  // namespace parley::chat::detail
