// JSON <-> Value for chat templates: the gateway's OpenAI messages and tool schemas become
// template values, and the `tojson` filter writes values back as Python's json.dumps does.
//
// A small parser of our own rather than Boost.JSON: it builds Values directly (no second tree to
// copy), and it reproduces what Hugging Face's Python sees from json.loads where the two differ:
// a repeated key keeps its first position with the last value, NaN/Infinity are accepted, and
// integers stay integers. Integers beyond int64 become floats (Python would keep them exact).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "chat/value.h"

namespace parley::chat {

struct JsonLimits {
  std::size_t bytes_max = std::size_t{16} << 20;
  int depth_max = 64;  // nested arrays/objects
};

// Parses one JSON document (RFC 8259 plus NaN, Infinity, -Infinity) into a Value: objects become
// dicts in document order, arrays lists. Errors (kInvalidArgument, or kResourceExhausted for the
// limits) name the byte offset. Strings must be valid UTF-8; lone surrogate escapes become U+FFFD.
Result<Value> value_from_json(std::string_view json, const JsonLimits& limits = {});

// json.dumps(v, ensure_ascii=..., indent=..., separators=..., sort_keys=...).
struct JsonFormat {
  std::optional<std::string> indent;  // none: one line
  bool ensure_ascii = false;
  bool sort_keys = false;
  std::optional<std::string> item_separator;  // default ", " (or "," with an indent)
  std::optional<std::string> key_separator;   // default ": "
};

// Appends the JSON text of `v`. Fails (kInvalidArgument) for what json.dumps rejects: undefined,
// namespaces, macros, iterators, unsortable keys; and (kResourceExhausted) past `bytes_max`.
Status append_json(std::string& out, const Value& v, const JsonFormat& format,
                   std::size_t bytes_max = std::size_t{64} << 20);
Result<std::string> to_json(const Value& v, const JsonFormat& format = {});

}  // namespace parley::chat
