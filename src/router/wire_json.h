// Strict JSON field access for the worker protocol (internal to src/router): every field is
// checked for its type and range, and an object may hold only the fields its reader asked for.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>

#include "base/result.h"

namespace parley::wire {

namespace json = boost::json;

// The text as a JSON value at most `max_depth` deep.
Result<json::value> parse(std::string_view text, int max_depth);

// Reads the fields of one object, remembering which it read; finish() refuses the others.
class ObjectReader {
 public:
  // `where`: the object's name in messages ("sampling", "" for the top level).
  ObjectReader(const json::object& o, std::string where) : o_(o), where_(std::move(where)) {}

  // The field, or nullptr when absent (null counts as present: types are strict).
  const json::value* find(std::string_view key);
  Result<const json::value*> require(std::string_view key);

  Status get_string(std::string_view key, std::size_t max_bytes, std::string* out, bool required = false);
  Status get_bool(std::string_view key, bool* out);
  Status get_int(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t* out, bool required = false);
  template <typename T>
  Status get_int_as(std::string_view key, std::int64_t lo, std::int64_t hi, T* out, bool required = false) {
    std::int64_t v = static_cast<std::int64_t>(*out);
    RETURN_IF_ERROR(get_int(key, lo, hi, &v, required));
    *out = static_cast<T>(v);
    return {};
  }
  Status get_u64(std::string_view key, std::uint64_t* out, bool* present);
  Status get_double(std::string_view key, double* out);
  Status get_float(std::string_view key, float* out);

  // kInvalidArgument naming the first field nobody asked for.
  Status finish() const;
  std::string name(std::string_view key) const {
    return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
  }

 private:
  const json::object& o_;
  std::string where_;
  std::set<std::string, std::less<>> seen_;
};

Status type_error(const std::string& name, std::string_view expected);
Result<std::int64_t> as_int(const json::value& v, const std::string& name, std::int64_t lo, std::int64_t hi);
// A JSON number; null stands for -inf (logprobs of a degenerate step).
Result<double> as_double_or_neg_inf(const json::value& v, const std::string& name);
json::value double_or_null(double v);

}  // namespace parley::wire
