#include "gateway/api_json.h"

#include <fmt/format.h>

#include <charconv>

#include "auth/limits.h"
#include "base/log.h"
#include "gateway/http_errors.h"
#include "gateway/route_table.h"
#include "net/url.h"

namespace parley::api_json {
namespace {

Status bad_type(std::string_view key, std::string_view want) {
  return invalid_argument_error("'{}' must be {}.", key, want).with_detail("param", std::string(key));
}

}  // namespace

Result<boost::json::object> parse_body(const HttpRequest& request, std::initializer_list<std::string_view> known) {
  if (!parley::is_json_media_type(request.header("Content-Type"))) {
    return invalid_argument_error("The request body must be JSON (Content-Type: application/json).")
        .with_detail("http_status", "415")
        .with_detail("code", "unsupported_media_type");
  }
  if (request.body.size() > kMaxApiBodyBytes) {
    return invalid_argument_error("The request body is larger than {} bytes.", kMaxApiBodyBytes)
        .with_detail("http_status", "413")
        .with_detail("code", "request_too_large");
  }
  boost::json::parse_options opts;
  opts.max_depth = 8;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(request.body, ec, {}, opts);
  if (ec) return invalid_argument_error("The request body is not valid JSON.").with_detail("code", "invalid_json");
  if (!v.is_object())
    return invalid_argument_error("The request body must be a JSON object.").with_detail("code", "invalid_json");
  boost::json::object& o = v.as_object();
  for (const auto& kv : o) {
    bool ok = false;
    for (const std::string_view k : known) ok = ok || kv.key() == k;
    if (!ok) {
      // The field name is the client's: cap what the message repeats.
      const std::string_view name(kv.key().data(), std::min<std::size_t>(kv.key().size(), 64));
      return invalid_argument_error("Unknown field '{}'.", name).with_detail("param", std::string(name));
    }
  }
  return std::move(o);
}

Status store_error(const Status& st) {
  switch (st.code()) {
    case ErrorCode::kNotFound:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kAlreadyExists:
      return st;
    case ErrorCode::kUnavailable:
      return unavailable_error("the account database is unavailable; retry shortly");
    default:
      log_error("account database error: {}", st.to_string());
      return internal_error("the account database failed");
  }
}

Status missing(std::string_view key) {
  return invalid_argument_error("'{}' is required.", key).with_detail("param", std::string(key));
}

Result<std::optional<std::string>> string_field(const boost::json::object& o, std::string_view key,
                                                std::size_t max_bytes) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return bad_type(key, "a string");
  const boost::json::string& s = v->get_string();
  if (s.size() > max_bytes) {
    return invalid_argument_error("'{}' is longer than {} bytes.", key, max_bytes)
        .with_detail("param", std::string(key));
  }
  return std::optional<std::string>(std::string(s.data(), s.size()));
}

Result<std::optional<bool>> bool_field(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) return bad_type(key, "true or false");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<std::int64_t>> int_field(const boost::json::object& o, std::string_view key, std::int64_t lo,
                                              std::int64_t hi) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>();
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(hi)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    return bad_type(key, fmt::format("an integer in [{}, {}]", lo, hi));
  }
  if (n < lo || n > hi) return bad_type(key, fmt::format("an integer in [{}, {}]", lo, hi));
  return std::optional<std::int64_t>(n);
}

void reply(HttpResponder& responder, int status, const std::string& request_id, const boost::json::value& body,
           HttpHeaders extra) {
  HttpHeaders h{{"Content-Type", "application/json"}, {"X-Request-Id", request_id}, {"Cache-Control", "no-store"}};
  for (auto& kv : extra) h.push_back(std::move(kv));
  responder.respond(status, std::move(h), boost::json::serialize(body));
}

void reply_no_content(HttpResponder& responder, const std::string& request_id, HttpHeaders extra) {
  HttpHeaders h{{"X-Request-Id", request_id}, {"Cache-Control", "no-store"}};
  for (auto& kv : extra) h.push_back(std::move(kv));
  responder.respond(204, std::move(h), "");
}

void reply_error(HttpResponder& responder, const std::string& request_id, const Status& status) {
  const HttpError e = to_http_error(status);
  HttpHeaders h{{"Content-Type", "application/json"}, {"X-Request-Id", request_id}, {"Cache-Control", "no-store"}};
  if (e.retry_after_s > 0) h.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  responder.respond(e.status, std::move(h), e.body());
}

std::int64_t unix_seconds(store::Time t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

boost::json::value unix_seconds_or_null(const std::optional<store::Time>& t) {
  if (!t) return nullptr;
  return unix_seconds(*t);
}

store::Time from_unix_seconds(std::int64_t s) {
  return store::Time(std::chrono::seconds(s));
}

Result<UsageWindow> usage_window(const HttpRequest& request, std::chrono::system_clock::time_point now) {
  UsageWindow w;
  w.from = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::system_clock::time_point(auth::month_window(now).start));
  w.to = std::chrono::time_point_cast<std::chrono::microseconds>(now) + std::chrono::seconds(1);
  Result<QueryParams> q = parse_query(request.query);
  if (!q.ok()) return invalid_argument_error("The query string is malformed.");
  // Between 2000 and 2200: anything else is a mistake, and keeps the microsecond arithmetic far
  // from overflow.
  constexpr std::int64_t kMin = 946684800, kMax = 7258118400;
  for (const auto& [name, value] : *q) {
    if (name != "from" && name != "to") continue;
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || ptr != value.data() + value.size() || v < kMin || v > kMax) {
      return invalid_argument_error("'{}' must be a Unix time in seconds.", name).with_detail("param", name);
    }
    (name == "from" ? w.from : w.to) = from_unix_seconds(v);
  }
  if (!(w.from < w.to)) return invalid_argument_error("'from' must be before 'to'.").with_detail("param", "from");
  return w;
}

boost::json::object totals_json(const store::UsageTotals& t) {
  boost::json::object o;
  o["requests"] = t.requests;
  o["prompt_tokens"] = t.prompt_tokens;
  o["completion_tokens"] = t.completion_tokens;
  o["total_tokens"] = t.prompt_tokens + t.completion_tokens;
  o["cost_micros"] = t.cost_micros;
  o["cost"] = static_cast<double>(t.cost_micros) / 1e6;
  return o;
}

}  // namespace parley::api_json
