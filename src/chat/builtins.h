// The builtins of the template language: Jinja2's filters and tests (plus Hugging Face's
// tojson), Python's str/list/dict methods, and the globals (range, dict, namespace, cycler,
// joiner, raise_exception, strftime_now). Internal to src/chat.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "chat/runtime.h"
#include "chat/value.h"

namespace parley::chat {

class Interpreter;

using FilterFn = Result<Value> (*)(Interpreter& in, const Value& input, const CallArgs& args);
using TestFn = Result<bool> (*)(Interpreter& in, const Value& input, const CallArgs& args);

// nullptr when there is no such filter / test.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);

// Whether `name` is a Python method of self's type; kUnsafe for the mutating ones, which the
// immutable sandbox turns into undefined values.
enum class MethodKind { kNone, kSafe, kUnsafe };
MethodKind method_kind(const Value& self, std::string_view name);
Result<Value> call_method(Interpreter& in, const Value& self, std::string_view name, const CallArgs& args);

std::vector<std::pair<std::string_view, Value>> make_builtins();

// Python's `format % args` for str (used by the % operator and the |format filter).
Result<std::string> percent_format(std::string_view format, const Value& args, std::size_t bytes_max);
// Python's format.format(*args, **kwargs).
Result<Value> str_format(Interpreter& in, const std::string& format, const CallArgs& args);

// Jinja2's Markup rules: joining plain text to markup escapes the plain side.
Value markup_concat(const Value& a, const Value& b);

}  // namespace parley::chat
