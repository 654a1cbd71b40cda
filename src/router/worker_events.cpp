// The worker protocol's generate events, models, stats and error bodies (router/worker_protocol.h).
#include <charconv>
#include <limits>

#include "net/sse.h"
#include "router/wire_json.h"
#include "router/worker_protocol.h"

namespace parley {

namespace json = boost::json;
using wire::ObjectReader;

namespace {

constexpr std::int64_t kI32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

json::object logprob_json(const SampleResult& s) {
  json::object o;
  o["token"] = s.token;
  o["logprob"] = wire::double_or_null(s.logprob);
  json::array top;
  for (const TokenLogprob& t : s.top) top.emplace_back(json::array{t.token, wire::double_or_null(t.logprob)});
  o["top"] = std::move(top);
  if (s.fallback) o["fallback"] = true;
  return o;
}

Result<SampleResult> parse_logprob(const json::value& v, const WorkerProtocolLimits& limits) {
  if (!v.is_object()) return wire::type_error("logprobs[]", "an object");
  ObjectReader r(v.as_object(), "logprobs[]");
  SampleResult s;
  RETURN_IF_ERROR(r.get_int_as("token", 0, kI32Max, &s.token, true));
  ASSIGN_OR_RETURN(const json::value* lp, r.require("logprob"));
  ASSIGN_OR_RETURN(const double logprob, wire::as_double_or_neg_inf(*lp, "logprobs[].logprob"));
  s.logprob = static_cast<float>(logprob);
  if (const json::value* top = r.find("top")) {
    if (!top->is_array() || top->as_array().size() > static_cast<std::size_t>(kLogprobsMax))
      return wire::type_error("logprobs[].top", fmt::format("an array of at most {} pairs", kLogprobsMax));
    for (const json::value& e : top->as_array()) {
      if (!e.is_array() || e.as_array().size() != 2)
        return wire::type_error("logprobs[].top[]", "a [token, logprob] pair");
      ASSIGN_OR_RETURN(const std::int64_t t, wire::as_int(e.as_array()[0], "logprobs[].top[][0]", 0, kI32Max));
      ASSIGN_OR_RETURN(const double l, wire::as_double_or_neg_inf(e.as_array()[1], "logprobs[].top[][1]"));
      s.top.push_back({static_cast<TokenId>(t), static_cast<float>(l)});
    }
  }
  RETURN_IF_ERROR(r.get_bool("fallback", &s.fallback));
  (void)limits;
  RETURN_IF_ERROR(r.finish());
  return s;
}

std::string_view reason_wire(FinishReason r) {
  return finish_reason_name(r);
}

std::optional<FinishReason> reason_from_wire(std::string_view s) {
  for (FinishReason r : {FinishReason::kStop, FinishReason::kLength, FinishReason::kCancelled, FinishReason::kError}) {
    if (finish_reason_name(r) == s) return r;
  }
  return std::nullopt;
}

Result<EngineEvent> parse_tokens_event(const json::object& o, const WorkerProtocolLimits& limits) {
  ObjectReader r(o, "tokens event");
  TokenEvent e;
  ASSIGN_OR_RETURN(const json::value* tokens, r.require("tokens"));
  if (!tokens->is_array() || tokens->as_array().size() > limits.max_tokens_per_event)
    return wire::type_error("tokens", "an array of token ids");
  for (const json::value& t : tokens->as_array()) {
    ASSIGN_OR_RETURN(const std::int64_t id, wire::as_int(t, "tokens[]", 0, kI32Max));
    e.tokens.push_back(static_cast<TokenId>(id));
  }
  if (const json::value* lps = r.find("logprobs")) {
    if (!lps->is_array() || lps->as_array().size() != e.tokens.size())
      return wire::type_error("logprobs", "an array with one entry per token");
    for (const json::value& lp : lps->as_array()) {
      ASSIGN_OR_RETURN(SampleResult s, parse_logprob(lp, limits));
      e.logprobs.push_back(std::move(s));
    }
  }
  RETURN_IF_ERROR(r.finish());
  return EngineEvent(std::move(e));
}

Result<EngineEvent> parse_finish_event(const json::object& o) {
  ObjectReader r(o, "finish event");
  FinishEvent f;
  std::string reason;
  RETURN_IF_ERROR(r.get_string("reason", 32, &reason, true));
  const std::optional<FinishReason> fr = reason_from_wire(reason);
  if (!fr) return invalid_argument_error("'reason' must be stop, length, cancelled or error, not '{}'", reason);
  f.reason = *fr;
  RETURN_IF_ERROR(r.get_string("message", 64 * 1024, &f.message));
  RETURN_IF_ERROR(r.get_int_as("prompt_tokens", 0, kI32Max, &f.prompt_tokens));
  RETURN_IF_ERROR(r.get_int_as("completion_tokens", 0, kI32Max, &f.completion_tokens));
  RETURN_IF_ERROR(r.get_int_as("cached_prompt_tokens", 0, kI32Max, &f.cached_prompt_tokens));
  RETURN_IF_ERROR(r.get_int_as("preemptions", 0, kI32Max, &f.preemptions));
  if (const json::value* t = r.find("timings")) {
    if (!t->is_object()) return wire::type_error("timings", "an object");
    ObjectReader tr(t->as_object(), "timings");
    RETURN_IF_ERROR(tr.get_double("queue_s", &f.timings.queue_s));
    RETURN_IF_ERROR(tr.get_double("ttft_s", &f.timings.ttft_s));
    RETURN_IF_ERROR(tr.get_double("total_s", &f.timings.total_s));
    RETURN_IF_ERROR(tr.finish());
  }
  RETURN_IF_ERROR(r.finish());
  return EngineEvent(std::move(f));
}

// EngineStats as named fields, in both directions from one list.
template <typename Fn>
void for_each_stat(EngineStats& s, Fn&& fn) {
  fn("waiting", s.waiting);
  fn("running", s.running);
  fn("kv_blocks_total", s.kv_blocks_total);
  fn("kv_blocks_used", s.kv_blocks_used);
  fn("kv_blocks_cached", s.kv_blocks_cached);
  fn("preemptions", s.preemptions);
  fn("prompt_tokens", s.prompt_tokens);
  fn("prefix_hit_tokens", s.prefix_hit_tokens);
  fn("generated_tokens", s.generated_tokens);
  fn("steps", s.steps);
  fn("requests_finished", s.requests_finished);
  fn("requests_rejected", s.requests_rejected);
  fn("grammar_masks", s.grammar_masks);
  fn("steps_over_target", s.steps_over_target);
}

template <typename Fn>
void for_each_double_stat(EngineStats& s, Fn&& fn) {
  fn("grammar_mask_seconds", s.grammar_mask_seconds);
  fn("target_step_seconds", s.target_step_seconds);
  fn("step_seconds_total", s.step_seconds_total);
  fn("step_cost_error", s.step_cost_error);
}

json::object by_priority_json(const std::array<std::int64_t, kNumPriorities>& v) {
  json::object o;
  for (const Priority p : {Priority::kInteractive, Priority::kBatch}) o[priority_name(p)] = v[priority_index(p)];
  return o;
}

Status parse_by_priority(const json::value* v, const std::string& name, std::array<std::int64_t, kNumPriorities>* out) {
  if (v == nullptr) return {};
  if (!v->is_object()) return wire::type_error(name, "an object by priority class");
  ObjectReader r(v->as_object(), name);
  for (const Priority p : {Priority::kInteractive, Priority::kBatch}) {
    RETURN_IF_ERROR(r.get_int(priority_name(p), 0, kI64Max, &(*out)[priority_index(p)]));
  }
  return r.finish();
}

json::object stats_json(EngineStats s) {
  json::object o;
  for_each_stat(s, [&](const char* name, std::int64_t& v) { o[name] = v; });
  for_each_double_stat(s, [&](const char* name, double& v) { o[name] = v; });
  o["waiting_by_priority"] = by_priority_json(s.waiting_by_priority);
  o["running_by_priority"] = by_priority_json(s.running_by_priority);
  json::array coefficients;
  for (const double c : s.step_cost_coefficients) coefficients.emplace_back(c);
  o["step_cost_coefficients"] = std::move(coefficients);
  return o;
}

Result<EngineStats> parse_stats(const json::value& v, const std::string& where) {
  if (!v.is_object()) return wire::type_error(where, "an object");
  ObjectReader r(v.as_object(), where);
  EngineStats s;
  Status st;
  for_each_stat(s, [&](const char* name, std::int64_t& x) {
    if (st.ok()) st = r.get_int(name, 0, kI64Max, &x);
  });
  RETURN_IF_ERROR(st);
  for_each_double_stat(s, [&](const char* name, double& x) {
    if (st.ok()) st = r.get_double(name, &x);
  });
  RETURN_IF_ERROR(st);
  RETURN_IF_ERROR(
      parse_by_priority(r.find("waiting_by_priority"), where + ".waiting_by_priority", &s.waiting_by_priority));
  RETURN_IF_ERROR(
      parse_by_priority(r.find("running_by_priority"), where + ".running_by_priority", &s.running_by_priority));
  if (const json::value* c = r.find("step_cost_coefficients")) {
    if (!c->is_array() || c->as_array().size() != s.step_cost_coefficients.size())
      return wire::type_error(where + ".step_cost_coefficients", "an array of 4 numbers");
    for (std::size_t i = 0; i < s.step_cost_coefficients.size(); ++i) {
      if (!c->as_array()[i].is_number()) return wire::type_error(where + ".step_cost_coefficients[]", "a number");
      s.step_cost_coefficients[i] = c->as_array()[i].to_number<double>();
    }
  }
  RETURN_IF_ERROR(r.finish());
  return s;
}

}  // namespace

std::string tokens_event_sse(const TokenEvent& e) {
  json::object o;
  json::array tokens;
  for (const TokenId t : e.tokens) tokens.emplace_back(t);
  o["tokens"] = std::move(tokens);
  if (!e.logprobs.empty()) {
    json::array lps;
    for (const SampleResult& s : e.logprobs) lps.emplace_back(logprob_json(s));
    o["logprobs"] = std::move(lps);
  }
  return format_sse_event(json::serialize(o), kTokensEvent);
}

std::string finish_event_sse(const FinishEvent& f) {
  json::object o;
  o["reason"] = reason_wire(f.reason);
  if (!f.message.empty()) o["message"] = f.message;
  o["prompt_tokens"] = f.prompt_tokens;
  o["completion_tokens"] = f.completion_tokens;
  o["cached_prompt_tokens"] = f.cached_prompt_tokens;
  o["preemptions"] = f.preemptions;
  o["timings"] =
      json::object{{"queue_s", f.timings.queue_s}, {"ttft_s", f.timings.ttft_s}, {"total_s", f.timings.total_s}};
  return format_sse_event(json::serialize(o), kFinishEvent);
}

Result<EngineEvent> parse_worker_event(std::string_view name, std::string_view data,
                                       const WorkerProtocolLimits& limits) {
  if (name != kTokensEvent && name != kFinishEvent) return invalid_argument_error("unknown event '{}'", name);
  ASSIGN_OR_RETURN(json::value v, wire::parse(data, limits.max_json_depth));
  if (!v.is_object()) return wire::type_error(std::string(name) + " event", "a JSON object");
  if (name == kTokensEvent) return parse_tokens_event(v.as_object(), limits);
  return parse_finish_event(v.as_object());
}

std::string models_to_json(const std::vector<WorkerModelInfo>& models) {
  json::array a;
  for (const WorkerModelInfo& m : models) {
    a.emplace_back(json::object{
        {"id", m.id}, {"n_ctx", m.n_ctx}, {"created", m.created}, {"demo", m.demo}, {"vocab_digest", m.vocab_digest}});
  }
  return json::serialize(json::object{{"models", std::move(a)}});
}

Result<std::vector<WorkerModelInfo>> parse_models(std::string_view body, const WorkerProtocolLimits& limits) {
  ASSIGN_OR_RETURN(json::value v, wire::parse(body, limits.max_json_depth));
  if (!v.is_object()) return wire::type_error("the models list", "a JSON object");
  ObjectReader top(v.as_object(), "");
  ASSIGN_OR_RETURN(const json::value* list, top.require("models"));
  RETURN_IF_ERROR(top.finish());
  if (!list->is_array() || list->as_array().size() > limits.max_models)
    return wire::type_error("models", fmt::format("an array of at most {} models", limits.max_models));
  std::vector<WorkerModelInfo> out;
  for (const json::value& m : list->as_array()) {
    if (!m.is_object()) return wire::type_error("models[]", "an object");
    ObjectReader r(m.as_object(), "models[]");
    WorkerModelInfo info;
    RETURN_IF_ERROR(r.get_string("id", limits.max_name_bytes, &info.id, true));
    if (info.id.empty()) return invalid_argument_error("'models[].id' is empty");
    RETURN_IF_ERROR(r.get_int_as("n_ctx", 1, kI32Max, &info.n_ctx, true));
    RETURN_IF_ERROR(r.get_int("created", 0, kI64Max, &info.created));
    RETURN_IF_ERROR(r.get_bool("demo", &info.demo));
    RETURN_IF_ERROR(r.get_string("vocab_digest", 128, &info.vocab_digest));
    RETURN_IF_ERROR(r.finish());
    out.push_back(std::move(info));
  }
  return out;
}

std::string worker_stats_to_json(const WorkerStats& stats) {
  json::object models;
  for (const auto& [id, s] : stats.models) models[id] = stats_json(s);
  json::object out{{"draining", stats.draining}, {"models", std::move(models)}};
  if (stats.prefix_blocks) {
    json::object by_model;
    for (const auto& [id, hashes] : stats.prefix_blocks->models) {
      json::array a;
      a.reserve(hashes.size());
      for (const std::uint64_t h : hashes) a.emplace_back(fmt::format("{:016x}", h));
      by_model[id] = std::move(a);
    }
    out["prefix_blocks"] = json::object{{"seq", stats.prefix_blocks->seq}, {"models", std::move(by_model)}};
  }
  return json::serialize(out);
}

namespace {

Result<PlacementLog::Since> parse_prefix_blocks(const json::value& v, const WorkerProtocolLimits& limits) {
  if (!v.is_object()) return wire::type_error("prefix_blocks", "an object");
  ObjectReader r(v.as_object(), "prefix_blocks");
  PlacementLog::Since out;
  bool present = false;
  RETURN_IF_ERROR(r.get_u64("seq", &out.seq, &present));
  ASSIGN_OR_RETURN(const json::value* models, r.require("models"));
  RETURN_IF_ERROR(r.finish());
  if (!models->is_object() || models->as_object().size() > limits.max_models)
    return wire::type_error("prefix_blocks.models", "an object of hash lists by model id");
  std::size_t total = 0;
  for (const auto& kv : models->as_object()) {
    const std::string where = "prefix_blocks.models." + std::string(kv.key());
    if (!kv.value().is_array()) return wire::type_error(where, "an array of hashes");
    std::vector<std::uint64_t> hashes;
    for (const json::value& h : kv.value().as_array()) {
      if (++total > kMaxStatsBlocks) return invalid_argument_error("'{}': more than {} hashes", where, kMaxStatsBlocks);
      const std::string_view hex = h.is_string() ? std::string_view(h.as_string()) : std::string_view();
      std::uint64_t value = 0;
      const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
      if (hex.size() != 16 || ec != std::errc() || end != hex.data() + hex.size())
        return wire::type_error(where, "hashes of 16 hex digits");
      hashes.push_back(value);
    }
    out.models.emplace_back(std::string(kv.key()), std::move(hashes));
  }
  return out;
}

}  // namespace

Result<WorkerStats> parse_worker_stats(std::string_view body, const WorkerProtocolLimits& limits) {
  ASSIGN_OR_RETURN(json::value v, wire::parse(body, limits.max_json_depth));
  if (!v.is_object()) return wire::type_error("the stats", "a JSON object");
  ObjectReader r(v.as_object(), "");
  WorkerStats out;
  RETURN_IF_ERROR(r.get_bool("draining", &out.draining));
  ASSIGN_OR_RETURN(const json::value* models, r.require("models"));
  if (const json::value* blocks = r.find("prefix_blocks")) {
    ASSIGN_OR_RETURN(out.prefix_blocks, parse_prefix_blocks(*blocks, limits));
  }
  RETURN_IF_ERROR(r.finish());
  if (!models->is_object() || models->as_object().size() > limits.max_models)
    return wire::type_error("models", "an object of stats by model id");
  for (const auto& kv : models->as_object()) {
    const std::string id(kv.key());
    ASSIGN_OR_RETURN(EngineStats s, parse_stats(kv.value(), "models." + id));
    out.models.emplace_back(id, s);
  }
  return out;
}

std::string error_to_json(const Status& st) {
  json::object e;
  e["code"] = error_code_name(st.code());
  e["message"] = st.message();
  for (const char* key : {"param", "code", "retry_after"}) {
    if (!st.detail(key).empty()) e[std::string(key == std::string_view("code") ? "detail_code" : key)] = st.detail(key);
  }
  return json::serialize(json::object{{"error", std::move(e)}});
}

int worker_http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnimplemented:
      return 501;
    case ErrorCode::kUnavailable:
    case ErrorCode::kFailedPrecondition:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

namespace {

ErrorCode code_for_http_status(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 413:
    case 429:
      return ErrorCode::kResourceExhausted;
    case 503:
      return ErrorCode::kUnavailable;
    case 504:
      return ErrorCode::kDeadlineExceeded;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

Status parse_error_body(int http_status, std::string_view body) {
  ErrorCode code = code_for_http_status(http_status);
  std::string message = fmt::format("the worker answered HTTP {}", http_status);
  Result<json::value> v = wire::parse(body, 8);
  const json::object* e = nullptr;
  if (v.ok() && v->is_object()) {
    const auto it = v->as_object().find("error");
    if (it != v->as_object().end() && it->value().is_object()) e = &it->value().as_object();
  }
  if (e == nullptr) return Status(code, message);
  const auto str = [e](std::string_view key) -> std::string {
    const auto it = e->find(key);
    return it != e->end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
  };
  const std::string name = str("code");
  for (int c = 1; c <= static_cast<int>(ErrorCode::kIoError); ++c) {
    if (error_code_name(static_cast<ErrorCode>(c)) == name) code = static_cast<ErrorCode>(c);
  }
  if (!str("message").empty()) message = str("message");
  Status st(code, message);
  if (!str("param").empty()) st = st.with_detail("param", str("param"));
  if (!str("detail_code").empty()) st = st.with_detail("code", str("detail_code"));
  if (!str("retry_after").empty()) st = st.with_detail("retry_after", str("retry_after"));
  return st;
}

}  // namespace parley
