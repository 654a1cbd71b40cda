#include "router/wire_json.h"

#include <cmath>

namespace parley::wire {

Result<json::value> parse(std::string_view text, int max_depth) {
  json::parse_options po;
  po.max_depth = static_cast<std::size_t>(max_depth);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, po);
  if (ec) return invalid_argument_error("malformed JSON: {}", ec.message());
  return v;
}

Status type_error(const std::string& name, std::string_view expected) {
  return invalid_argument_error("'{}' must be {}", name, expected);
}

const json::value* ObjectReader::find(std::string_view key) {
  seen_.emplace(key);
  const auto it = o_.find(key);
  return it == o_.end() ? nullptr : &it->value();
}

Result<const json::value*> ObjectReader::require(std::string_view key) {
  const json::value* v = find(key);
  if (v == nullptr) return invalid_argument_error("'{}' is required", name(key));
  return v;
}

Status ObjectReader::get_string(std::string_view key, std::size_t max_bytes, std::string* out, bool required) {
  const json::value* v = find(key);
  if (v == nullptr) return required ? invalid_argument_error("'{}' is required", name(key)) : Status();
  if (!v->is_string()) return type_error(name(key), "a string");
  if (v->as_string().size() > max_bytes)
    return invalid_argument_error("'{}' is longer than {} bytes", name(key), max_bytes);
  *out = std::string(v->as_string());
  return {};
}

Status ObjectReader::get_bool(std::string_view key, bool* out) {
  const json::value* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_bool()) return type_error(name(key), "a boolean");
  *out = v->as_bool();
  return {};
}

Result<std::int64_t> as_int(const json::value& v, const std::string& name, std::int64_t lo, std::int64_t hi) {
  std::int64_t x = 0;
  if (v.is_int64()) {
    x = v.as_int64();
  } else if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    x = static_cast<std::int64_t>(v.as_uint64());
  } else {
    return type_error(name, fmt::format("an integer in [{}, {}]", lo, hi));
  }
  if (x < lo || x > hi) return invalid_argument_error("'{}' must be in [{}, {}], got {}", name, lo, hi, x);
  return x;
}

Status ObjectReader::get_int(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t* out, bool required) {
  const json::value* v = find(key);
  if (v == nullptr) return required ? invalid_argument_error("'{}' is required", name(key)) : Status();
  ASSIGN_OR_RETURN(*out, as_int(*v, name(key), lo, hi));
  return {};
}

Status ObjectReader::get_u64(std::string_view key, std::uint64_t* out, bool* present) {
  const json::value* v = find(key);
  *present = v != nullptr;
  if (v == nullptr) return {};
  if (v->is_uint64()) {
    *out = v->as_uint64();
  } else if (v->is_int64() && v->as_int64() >= 0) {
    *out = static_cast<std::uint64_t>(v->as_int64());
  } else {
    return type_error(name(key), "an unsigned 64-bit integer");
  }
  return {};
}

Status ObjectReader::get_double(std::string_view key, double* out) {
  const json::value* v = find(key);
  if (v == nullptr) return {};
  if (!v->is_number()) return type_error(name(key), "a number");
  *out = v->to_number<double>();
  return {};
}

Status ObjectReader::get_float(std::string_view key, float* out) {
  double d = *out;
  RETURN_IF_ERROR(get_double(key, &d));
  if (!std::isfinite(static_cast<float>(d))) return invalid_argument_error("'{}' is out of range", name(key));
  *out = static_cast<float>(d);
  return {};
}

Status ObjectReader::finish() const {
  for (const auto& kv : o_) {
    if (!seen_.contains(std::string_view(kv.key()))) {
      return invalid_argument_error("unknown field '{}'", name(std::string_view(kv.key())));
    }
  }
  return {};
}

Result<double> as_double_or_neg_inf(const json::value& v, const std::string& name) {
  if (v.is_null()) return -std::numeric_limits<double>::infinity();
  if (!v.is_number()) return type_error(name, "a number or null");
  return v.to_number<double>();
}

json::value double_or_null(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

}  // namespace parley::wire
