#include "api/json_fields.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace parley::api_json {

Result<json::object> parse_object(std::string_view body, const ApiLimits& limits) {
  json::parse_options opt;
  opt.max_depth = static_cast<std::size_t>(limits.max_json_depth);
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), opt);
  if (ec) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("We could not parse the JSON body of your request ({}). The request body must be a JSON "
                              "object.",
                              ec.message()));
  }
  if (!v.is_object()) return Status(ErrorCode::kInvalidArgument, "The request body must be a JSON object.");
  return std::move(v.as_object());
}

const json::value* field(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;  // null means "not given"
  return &it->value();
}

namespace {

std::string kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

}  // namespace

Status type_error(std::string_view param, std::string_view expected, const json::value& v) {
  return invalid_param(param, fmt::format("'{}' must be {}, not {}.", param, expected, kind_name(v)));
}

Status get_string(const json::object& o, std::string_view key, std::string* out, bool required) {
  const json::value* v = field(o, key);
  if (v == nullptr) {
    if (required) return invalid_param(key, fmt::format("'{}' is required.", key));
    return ok_status();
  }
  if (!v->is_string()) return type_error(key, "a string", *v);
  *out = std::string(v->as_string());
  return ok_status();
}

Status get_bool(const json::object& o, std::string_view key, bool* out) {
  const json::value* v = field(o, key);
  if (v == nullptr) return ok_status();
  if (!v->is_bool()) return type_error(key, "a boolean", *v);
  *out = v->as_bool();
  return ok_status();
}

Result<double> as_number(const json::value& v, std::string_view param) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return type_error(param, "a number", v);
}

Status get_number(const json::object& o, std::string_view key, double lo, double hi, std::optional<double>* out) {
  const json::value* v = field(o, key);
  if (v == nullptr) return ok_status();
  ASSIGN_OR_RETURN(const double d, as_number(*v, key));
  if (!(d >= lo && d <= hi)) {
    return invalid_param(key,
                         fmt::format("{} is out of range for '{}': it must be between {} and {}.", d, key, lo, hi));
  }
  *out = d;
  return ok_status();
}

Result<std::int64_t> as_integer(const json::value& v, std::string_view param) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) {
    if (v.as_uint64() > static_cast<std::uint64_t>(INT64_MAX))
      return invalid_param(param, fmt::format("'{}' is too large.", param));
    return static_cast<std::int64_t>(v.as_uint64());
  }
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() && std::abs(v.as_double()) < 9e15) {
    return static_cast<std::int64_t>(v.as_double());
  }
  return type_error(param, "an integer", v);
}

Status get_integer(const json::object& o, std::string_view key, std::int64_t lo, std::int64_t hi,
                   std::optional<std::int64_t>* out) {
  const json::value* v = field(o, key);
  if (v == nullptr) return ok_status();
  ASSIGN_OR_RETURN(const std::int64_t i, as_integer(*v, key));
  if (i < lo || i > hi) {
    return invalid_param(key,
                         fmt::format("{} is out of range for '{}': it must be between {} and {}.", i, key, lo, hi));
  }
  *out = i;
  return ok_status();
}

namespace {

Status parse_stop(const json::object& o, const ApiLimits& limits, std::vector<std::string>* out) {
  const json::value* v = field(o, "stop");
  if (v == nullptr) return ok_status();
  const auto add = [&](const json::value& s, std::string_view param) -> Status {
    if (!s.is_string()) return type_error(param, "a string", s);
    if (s.as_string().size() > limits.max_stop_bytes) {
      return invalid_param(param, fmt::format("Stop sequences may be at most {} bytes long.", limits.max_stop_bytes));
    }
    if (!s.as_string().empty()) out->emplace_back(s.as_string());
    return ok_status();
  };
  if (v->is_string()) return add(*v, "stop");
  if (!v->is_array()) return type_error("stop", "a string or an array of strings", *v);
  if (v->as_array().size() > limits.max_stop) {
    return invalid_param("stop", fmt::format("At most {} stop sequences are allowed.", limits.max_stop));
  }
  for (std::size_t i = 0; i < v->as_array().size(); ++i)
    RETURN_IF_ERROR(add(v->as_array()[i], fmt::format("stop[{}]", i)));
  return ok_status();
}

}  // namespace

Status parse_sampling(const json::object& o, const ApiLimits& limits, SamplingFields* s) {
  RETURN_IF_ERROR(get_number(o, "temperature", 0.0, 2.0, &s->temperature));
  RETURN_IF_ERROR(get_number(o, "top_p", 0.0, 1.0, &s->top_p));
  if (s->top_p && *s->top_p <= 0.0) return invalid_param("top_p", "'top_p' must be greater than 0.");
  std::optional<std::int64_t> top_k;
  RETURN_IF_ERROR(get_integer(o, "top_k", -1, 1 << 24, &top_k));
  if (top_k && *top_k > 0) s->top_k = top_k;  // -1 and 0 mean "off" in common servers
  RETURN_IF_ERROR(get_number(o, "min_p", 0.0, 1.0, &s->min_p));
  RETURN_IF_ERROR(get_number(o, "repetition_penalty", 0.0, 10.0, &s->repetition_penalty));
  if (s->repetition_penalty && *s->repetition_penalty <= 0.0) {
    return invalid_param("repetition_penalty", "'repetition_penalty' must be greater than 0.");
  }
  std::optional<double> pp, fp;
  RETURN_IF_ERROR(get_number(o, "presence_penalty", -2.0, 2.0, &pp));
  RETURN_IF_ERROR(get_number(o, "frequency_penalty", -2.0, 2.0, &fp));
  s->presence_penalty = pp.value_or(0.0);
  s->frequency_penalty = fp.value_or(0.0);
  RETURN_IF_ERROR(get_integer(o, "seed", INT64_MIN, INT64_MAX, &s->seed));
  if (const json::value* lb = field(o, "logit_bias")) {
    if (!lb->is_object()) return type_error("logit_bias", "an object mapping token ids to biases", *lb);
    if (lb->as_object().size() > 4096)
      return invalid_param("logit_bias", "At most 4096 logit_bias entries are allowed.");
    for (const auto& [key, value] : lb->as_object()) {
      const std::string param = fmt::format("logit_bias.{}", std::string_view(key));
      std::int32_t id = 0;
      const auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
      if (ec != std::errc() || p != key.data() + key.size() || id < 0) {
        return invalid_param(
            "logit_bias", fmt::format("Invalid key in 'logit_bias': '{}' is not a token id.", std::string_view(key)));
      }
      ASSIGN_OR_RETURN(const double bias, as_number(value, param));
      if (!(bias >= -100.0 && bias <= 100.0))
        return invalid_param(param, "Logit bias values must be between -100 and 100.");
      s->logit_bias.emplace_back(id, bias);
    }
  }
  RETURN_IF_ERROR(get_bool(o, "ignore_eos", &s->ignore_eos));
  return parse_stop(o, limits, &s->stop);
}

Status refuse_unknown_fields(const json::object& o,
                             std::initializer_list<std::span<const std::string_view>> field_sets) {
  for (const auto& kv : o) {
    const std::string_view key(kv.key().data(), kv.key().size());
    bool ok = false;
    for (const auto& set : field_sets) {
      for (const std::string_view k : set) ok = ok || key == k;
    }
    if (!ok) {
      // The field name is the client's: cap what the message repeats.
      const std::string_view name = key.substr(0, 64);
      return invalid_param(name, fmt::format("Unknown field '{}'.", name));
    }
  }
  return ok_status();
}

}  // namespace parley::api_json
