// Typed access to the fields of a JSON request body, shared by the OpenAI requests
// (api/openai_request.cpp) and Parley's own (api/conversation_request.cpp). Internal to src/api:
// Boost.JSON stays out of the public headers.
//
// Conventions (OpenAI's): a field that is absent or null is "not given"; a field of the wrong
// type or out of range is kInvalidArgument with detail "param" naming it.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/openai_request.h"
#include "base/result.h"

namespace parley::api_json {

namespace json = boost::json;

// The body as a JSON object (at most limits.max_json_depth deep); anything else is an error.
Result<json::object> parse_object(std::string_view body, const ApiLimits& limits);

// The field, or nullptr when it is absent or null.
const json::value* field(const json::object& o, std::string_view key);

// "'param' must be <expected>, not <kind of v>."
Status type_error(std::string_view param, std::string_view expected, const json::value& v);

Status get_string(const json::object& o, std::string_view key, std::string* out, bool required = false);
Status get_bool(const json::object& o, std::string_view key, bool* out);
Result<double> as_number(const json::value& v, std::string_view param);
Status get_number(const json::object& o, std::string_view key, double lo, double hi, std::optional<double>* out);
// Integers, and numbers with an integral value (1.0), within [lo, hi].
Result<std::int64_t> as_integer(const json::value& v, std::string_view param);
Status get_integer(const json::object& o, std::string_view key, std::int64_t lo, std::int64_t hi,
                   std::optional<std::int64_t>* out);

// temperature, top_p, top_k, min_p, repetition_penalty, presence/frequency_penalty, seed,
// logit_bias, ignore_eos and stop.
Status parse_sampling(const json::object& o, const ApiLimits& limits, SamplingFields* s);
inline constexpr std::string_view kSamplingFieldNames[] = {
    "temperature", "top_p",      "top_k",      "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty",
    "seed",        "logit_bias", "ignore_eos", "stop"};

// For Parley's own APIs (a typo must not be silently ignored): kInvalidArgument naming the first
// field of `o` that is in none of `field_sets`.
Status refuse_unknown_fields(const json::object& o,
                             std::initializer_list<std::span<const std::string_view>> field_sets);

}  // namespace parley::api_json
