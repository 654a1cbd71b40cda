// JSON for the /api/* endpoints (account_api.h): strict request bodies and the replies.
//
// A request body must be `Content-Type: application/json` (415 otherwise: besides telling a
// confused client what is wrong, a browser cannot send that type cross-site without a CORS
// preflight, which Parley never grants; that is what protects the no-auth local mode, where there
// is no session to carry a CSRF token), at most kMaxApiBodyBytes (413), well-formed UTF-8 JSON
// (400), an object (400) without unknown fields (400 naming the field: a typo such as "pasword"
// must not be silently ignored). Field getters check types and sizes and name the field.
//
// Internal to the gateway; thread safety: plain functions.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "net/http_request.h"
#include "net/http_responder.h"
#include "store/store.h"

namespace parley::api_json {

inline constexpr std::size_t kMaxApiBodyBytes = 64 << 10;

// The request's JSON object; `known` lists the fields it may have.
Result<boost::json::object> parse_body(const HttpRequest& request, std::initializer_list<std::string_view> known);

// Absent (or null) fields are nullopt; a wrong type or size is kInvalidArgument naming the field.
Result<std::optional<std::string>> string_field(const boost::json::object& o, std::string_view key,
                                                std::size_t max_bytes);
Result<std::optional<bool>> bool_field(const boost::json::object& o, std::string_view key);
Result<std::optional<std::int64_t>> int_field(const boost::json::object& o, std::string_view key, std::int64_t lo,
                                              std::int64_t hi);
Status missing(std::string_view key);

// A store error as the API reports it: the caller's own mistakes (not found, invalid, duplicate)
// pass through; anything else keeps its class (503 for unavailable) but not its text, which may
// name database internals, and is logged.
Status store_error(const Status& status);

// Replies: JSON with X-Request-Id (and `extra` headers such as Set-Cookie); errors in OpenAI's
// shape through to_http_error (with Retry-After when the status says so).
void reply(HttpResponder& responder, int status, const std::string& request_id, const boost::json::value& body,
           HttpHeaders extra = {});
void reply_no_content(HttpResponder& responder, const std::string& request_id, HttpHeaders extra = {});
void reply_error(HttpResponder& responder, const std::string& request_id, const Status& status);

// Instants as Unix seconds (what the OpenAI API uses for `created`), null when absent.
std::int64_t unix_seconds(store::Time t);
boost::json::value unix_seconds_or_null(const std::optional<store::Time>& t);
store::Time from_unix_seconds(std::int64_t s);

// The window of a usage query: `from` and `to` (Unix seconds, from < to) in the query string,
// else the current UTC calendar month up to now. kInvalidArgument naming the parameter.
struct UsageWindow {
  store::Time from{};
  store::Time to{};
};
Result<UsageWindow> usage_window(const HttpRequest& request, std::chrono::system_clock::time_point now);

// {"requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_micros", "cost"}.
boost::json::object totals_json(const store::UsageTotals& totals);

}  // namespace parley::api_json
