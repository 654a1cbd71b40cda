// The generate request of the worker protocol (router/worker_protocol.h); the events, stats,
// models and errors are in worker_events.cpp.
#include "router/worker_protocol.h"

#include <limits>

#include "router/grammar_wire.h"
#include "router/wire_json.h"

namespace parley {

namespace json = boost::json;
using wire::ObjectReader;

namespace {

constexpr std::int64_t kI32Max = std::numeric_limits<std::int32_t>::max();

std::string_view kind_name(GrammarKind k) {
  switch (k) {
    case GrammarKind::kJsonSchema:
      return "json_schema";
    case GrammarKind::kJsonObject:
      return "json_object";
    case GrammarKind::kRegex:
      return "regex";
    case GrammarKind::kChoice:
      return "choice";
    case GrammarKind::kGbnf:
      return "gbnf";
  }
  return "json_object";
}

std::optional<GrammarKind> kind_from_name(std::string_view s) {
  for (GrammarKind k : {GrammarKind::kJsonSchema, GrammarKind::kJsonObject, GrammarKind::kRegex, GrammarKind::kChoice,
                        GrammarKind::kGbnf}) {
    if (kind_name(k) == s) return k;
  }
  return std::nullopt;
}

json::array token_array(const std::vector<TokenId>& ids) {
  json::array a;
  a.reserve(ids.size());
  for (const TokenId t : ids) a.emplace_back(t);
  return a;
}

json::object sampling_json(const SamplingParams& s) {
  json::object o;
  o["temperature"] = s.temperature;
  o["top_k"] = s.top_k;
  o["top_p"] = s.top_p;
  o["min_p"] = s.min_p;
  o["repetition_penalty"] = s.repetition_penalty;
  o["presence_penalty"] = s.presence_penalty;
  o["frequency_penalty"] = s.frequency_penalty;
  o["penalty_last_n"] = s.penalty_last_n;
  json::array bias;
  for (const auto& [t, b] : s.logit_bias) bias.emplace_back(json::array{t, b});
  o["logit_bias"] = std::move(bias);
  if (s.has_seed) o["seed"] = s.seed;
  o["n_logprobs"] = s.n_logprobs;
  return o;
}

json::object grammar_json(const GrammarSpec& g) {
  json::object o;
  o["kind"] = kind_name(g.kind);
  o["text"] = g.text;
  json::array choices;
  for (const std::string& c : g.choices) choices.emplace_back(json::string(c));
  o["choices"] = std::move(choices);
  o["strict"] = g.json.strict;
  o["whitespace"] = g.json.whitespace == JsonWhitespace::kCompact ? "compact" : "flexible";
  o["max_indent"] = g.json.max_indent;
  return o;
}

Status parse_tokens(const json::value* v, const std::string& name, std::size_t max, std::vector<TokenId>* out) {
  if (v == nullptr) return {};
  if (!v->is_array()) return wire::type_error(name, "an array of token ids");
  const json::array& a = v->as_array();
  if (a.size() > max) return invalid_argument_error("'{}' holds more than {} tokens", name, max);
  out->clear();
  out->reserve(a.size());
  for (const json::value& t : a) {
    ASSIGN_OR_RETURN(const std::int64_t id, wire::as_int(t, name + "[]", 0, kI32Max));
    out->push_back(static_cast<TokenId>(id));
  }
  return {};
}

Status parse_sampling(const json::value& v, const WorkerProtocolLimits& limits, SamplingParams* s) {
  if (!v.is_object()) return wire::type_error("sampling", "an object");
  ObjectReader r(v.as_object(), "sampling");
  RETURN_IF_ERROR(r.get_float("temperature", &s->temperature));
  RETURN_IF_ERROR(r.get_int_as("top_k", 0, kI32Max, &s->top_k));
  RETURN_IF_ERROR(r.get_float("top_p", &s->top_p));
  RETURN_IF_ERROR(r.get_float("min_p", &s->min_p));
  RETURN_IF_ERROR(r.get_float("repetition_penalty", &s->repetition_penalty));
  RETURN_IF_ERROR(r.get_float("presence_penalty", &s->presence_penalty));
  RETURN_IF_ERROR(r.get_float("frequency_penalty", &s->frequency_penalty));
  RETURN_IF_ERROR(r.get_int_as("penalty_last_n", 0, kI32Max, &s->penalty_last_n));
  if (const json::value* b = r.find("logit_bias")) {
    if (!b->is_array()) return wire::type_error("sampling.logit_bias", "an array of [token, bias] pairs");
    if (b->as_array().size() > limits.max_logit_bias)
      return invalid_argument_error("'sampling.logit_bias' holds more than {} entries", limits.max_logit_bias);
    for (const json::value& e : b->as_array()) {
      if (!e.is_array() || e.as_array().size() != 2 || !e.as_array()[1].is_number())
        return wire::type_error("sampling.logit_bias[]", "a [token, bias] pair");
      ASSIGN_OR_RETURN(const std::int64_t t, wire::as_int(e.as_array()[0], "sampling.logit_bias[][0]", 0, kI32Max));
      s->logit_bias.emplace_back(static_cast<TokenId>(t), static_cast<float>(e.as_array()[1].to_number<double>()));
    }
  }
  RETURN_IF_ERROR(r.get_u64("seed", &s->seed, &s->has_seed));
  RETURN_IF_ERROR(r.get_int_as("n_logprobs", -1, kLogprobsMax, &s->n_logprobs));
  return r.finish();
}

Result<GrammarSpec> parse_grammar(const json::value& v, const WorkerProtocolLimits& limits) {
  if (!v.is_object()) return wire::type_error("grammar", "an object");
  ObjectReader r(v.as_object(), "grammar");
  GrammarSpec g;
  std::string kind;
  RETURN_IF_ERROR(r.get_string("kind", 32, &kind, true));
  const std::optional<GrammarKind> k = kind_from_name(kind);
  if (!k) return invalid_argument_error("'grammar.kind' must be json_schema, json_object, regex, choice or gbnf");
  g.kind = *k;
  RETURN_IF_ERROR(r.get_string("text", limits.max_grammar_bytes, &g.text));
  if (const json::value* c = r.find("choices")) {
    if (!c->is_array()) return wire::type_error("grammar.choices", "an array of strings");
    if (c->as_array().size() > limits.max_choices)
      return invalid_argument_error("'grammar.choices' holds more than {} strings", limits.max_choices);
    std::size_t bytes = g.text.size();
    for (const json::value& s : c->as_array()) {
      if (!s.is_string()) return wire::type_error("grammar.choices[]", "a string");
      bytes += s.as_string().size();
      if (bytes > limits.max_grammar_bytes)
        return invalid_argument_error("the grammar is larger than {} bytes", limits.max_grammar_bytes);
      g.choices.emplace_back(s.as_string());
    }
  }
  RETURN_IF_ERROR(r.get_bool("strict", &g.json.strict));
  std::string ws = "flexible";
  RETURN_IF_ERROR(r.get_string("whitespace", 16, &ws));
  if (ws != "compact" && ws != "flexible")
    return invalid_argument_error("'grammar.whitespace' must be compact or flexible");
  g.json.whitespace = ws == "compact" ? JsonWhitespace::kCompact : JsonWhitespace::kFlexible;
  RETURN_IF_ERROR(r.get_int_as("max_indent", 0, 1024, &g.json.max_indent));
  RETURN_IF_ERROR(r.finish());
  return g;
}

}  // namespace

Result<std::string> generate_request_to_json(std::string_view model, std::string_view request_id,
                                             const GenerateRequest& q) {
  json::object o;
  o["model"] = model;
  o["request_id"] = request_id;
  o["prompt"] = token_array(q.prompt);
  o["sampling"] = sampling_json(q.sampling);
  o["max_tokens"] = q.max_tokens;
  o["stop_token_ids"] = token_array(q.stop_token_ids);
  o["ignore_eos"] = q.ignore_eos;
  o["tenant"] = q.tenant;
  o["priority"] = priority_name(q.priority);
  o["cache_scope"] = q.cache_scope;
  o["cache_shared_tokens"] = q.cache_shared_tokens;
  if (q.grammar) {
    if (q.grammar->source()) {
      o["grammar"] = grammar_json(*q.grammar->source());
    } else if (q.grammar->built()) {
      o["grammar_built"] = wire::built_grammar_json(*q.grammar->built());
    } else {
      return unimplemented_error("this request's grammar has no source to send to a worker");
    }
    o["grammar_triggers"] = token_array(q.grammar_triggers);
  }
  return json::serialize(o);
}

Result<WorkerGenerate> parse_generate_request(std::string_view body, const WorkerProtocolLimits& limits) {
  ASSIGN_OR_RETURN(json::value v, wire::parse(body, limits.max_json_depth));
  if (!v.is_object()) return wire::type_error("the request body", "a JSON object");
  ObjectReader r(v.as_object(), "");
  WorkerGenerate w;
  GenerateRequest& q = w.request;
  RETURN_IF_ERROR(r.get_string("model", limits.max_name_bytes, &w.model, true));
  RETURN_IF_ERROR(r.get_string("request_id", limits.max_name_bytes, &w.request_id, true));
  ASSIGN_OR_RETURN(const json::value* prompt, r.require("prompt"));
  RETURN_IF_ERROR(parse_tokens(prompt, "prompt", limits.max_prompt_tokens, &q.prompt));
  if (q.prompt.empty()) return invalid_argument_error("'prompt' is empty");
  ASSIGN_OR_RETURN(const json::value* sampling, r.require("sampling"));
  RETURN_IF_ERROR(parse_sampling(*sampling, limits, &q.sampling));
  RETURN_IF_ERROR(r.get_int_as("max_tokens", 0, kI32Max, &q.max_tokens));
  RETURN_IF_ERROR(parse_tokens(r.find("stop_token_ids"), "stop_token_ids", limits.max_stop_tokens, &q.stop_token_ids));
  RETURN_IF_ERROR(r.get_bool("ignore_eos", &q.ignore_eos));
  RETURN_IF_ERROR(r.get_string("tenant", limits.max_name_bytes, &q.tenant));
  std::string priority(priority_name(q.priority));
  RETURN_IF_ERROR(r.get_string("priority", 32, &priority));
  const std::optional<Priority> p = parse_priority(priority);
  if (!p) return invalid_argument_error("'priority' must be interactive or batch, not '{}'", priority);
  q.priority = *p;
  RETURN_IF_ERROR(r.get_string("cache_scope", limits.max_name_bytes, &q.cache_scope));
  RETURN_IF_ERROR(r.get_int_as("cache_shared_tokens", 0, kI32Max, &q.cache_shared_tokens));
  if (const json::value* g = r.find("grammar")) {
    ASSIGN_OR_RETURN(w.grammar, parse_grammar(*g, limits));
  }
  if (const json::value* g = r.find("grammar_built")) {
    if (w.grammar) return invalid_argument_error("'grammar' and 'grammar_built' exclude each other");
    ASSIGN_OR_RETURN(w.built_grammar, wire::parse_built_grammar(*g, limits.max_grammar_exprs));
  }
  RETURN_IF_ERROR(
      parse_tokens(r.find("grammar_triggers"), "grammar_triggers", limits.max_triggers, &q.grammar_triggers));
  if (!w.grammar && !w.built_grammar && !q.grammar_triggers.empty())
    return invalid_argument_error("'grammar_triggers' without 'grammar'");
  RETURN_IF_ERROR(r.finish());
  return w;
}

}  // namespace parley
