// The worker protocol: what a gateway (router/remote_engine.h) and a worker (worker/) say to each
// other over the internal API (docs/scaling.md), as JSON and Server-Sent Events. The engine's
// types (engine/request.h) stay free of JSON: this file turns them into wire text and back.
//
//   POST /internal/v1/generate   body: generate_request_to_json()     -> parse_generate_request()
//     response: text/event-stream of `tokens` events, then one `finish` event (tokens_event_sse(),
//     finish_event_sse() -> parse_worker_event())
//   GET  /internal/v1/models     models_to_json()                     -> parse_models()
//   GET  /internal/v1/stats      worker_stats_to_json()               -> parse_worker_stats()
//   errors (any status >= 400)   error_to_json()                      -> parse_error_body()
//
// Parsing is strict, since the bytes come from the network: unknown fields, wrong types, values
// out of range and lists over WorkerProtocolLimits are kInvalidArgument naming the field. A
// grammar travels as its source spec (GrammarSpec, grammar/grammar_spec.h): the worker compiles
// it with its own GrammarCompiler. A grammar built in code (a tool-call syntax) travels as its
// rules and expressions (CompiledGrammar::built()), checked by Grammar::from_parts and cached
// under its key plus a digest of its content.
//
// Thread safety: plain functions of their arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/engine_stats.h"
#include "engine/request.h"
#include "grammar/grammar_spec.h"
#include "router/placement_log.h"

namespace parley {

inline constexpr std::string_view kInternalApiPrefix = "/internal/v1";
// The detail code (`detail_code` on the wire) of a draining worker's 503: the router takes the
// worker out of rotation until its next probe, without counting a failure toward ejection.
inline constexpr std::string_view kWorkerDrainingCode = "worker_draining";

struct WorkerProtocolLimits {
  std::size_t max_prompt_tokens = std::size_t{1} << 20;  // the worker then holds it to its model's n_ctx
  std::size_t max_stop_tokens = 1024;
  std::size_t max_logit_bias = 1 << 16;
  std::size_t max_triggers = 1024;
  std::size_t max_name_bytes = 1024;  // model, request id, tenant, cache scope
  std::size_t max_grammar_bytes = std::size_t{4} << 20;
  std::size_t max_choices = 4096;
  std::size_t max_tokens_per_event = 1 << 16;
  std::size_t max_models = 1024;
  std::size_t max_grammar_exprs = std::size_t{1} << 20;
  int max_json_depth = 32;
};

// A generate call as the worker receives it.
struct WorkerGenerate {
  std::string model;
  std::string request_id;   // the gateway's id: POST /internal/v1/cancel/{request_id}
  GenerateRequest request;  // request.grammar is null: the worker compiles `grammar` or `built_grammar`
  std::optional<GrammarSpec> grammar;
  // A grammar built in code (tool calls), with a cache key that covers its whole content.
  std::shared_ptr<const BuiltGrammar> built_grammar;
};

// The body of POST /internal/v1/generate. The grammar is taken from request.grammar->source() or
// ->built() (kUnimplemented for a compiled grammar with neither).
Result<std::string> generate_request_to_json(std::string_view model, std::string_view request_id,
                                             const GenerateRequest& request);
Result<WorkerGenerate> parse_generate_request(std::string_view body, const WorkerProtocolLimits& limits = {});

// Events of the generate stream, as whole SSE events ("event: tokens\ndata: {...}\n\n").
inline constexpr std::string_view kTokensEvent = "tokens";
inline constexpr std::string_view kFinishEvent = "finish";
std::string tokens_event_sse(const TokenEvent& event);
std::string finish_event_sse(const FinishEvent& event);
// One parsed SSE event (its name and data) back into an engine event.
Result<EngineEvent> parse_worker_event(std::string_view name, std::string_view data,
                                       const WorkerProtocolLimits& limits = {});

// GET /internal/v1/models.
struct WorkerModelInfo {
  std::string id;
  std::int32_t n_ctx = 0;
  std::int64_t created = 0;  // unix seconds
  bool demo = false;
  std::string vocab_digest;  // identifies the vocabulary (hex), so that a router can check workers agree
  friend bool operator==(const WorkerModelInfo&, const WorkerModelInfo&) = default;
};
std::string models_to_json(const std::vector<WorkerModelInfo>& models);
Result<std::vector<WorkerModelInfo>> parse_models(std::string_view body, const WorkerProtocolLimits& limits = {});

// GET /internal/v1/stats.
struct WorkerStats {
  bool draining = false;
  std::vector<std::pair<std::string, EngineStats>> models;  // by model id
  // Only when asked for (`?blocks_since=N`): the prefix blocks of the requests the worker took
  // since entry N of its PlacementLog, by model: {"prefix_blocks": {"seq": M, "models": {"<id>":
  // ["<16 hex digits>", ...]}}}.
  std::optional<PlacementLog::Since> prefix_blocks;
};
// The most block hashes one stats answer carries (the newest; the log keeps more).
inline constexpr std::size_t kMaxStatsBlocks = 8192;
std::string worker_stats_to_json(const WorkerStats& stats);
Result<WorkerStats> parse_worker_stats(std::string_view body, const WorkerProtocolLimits& limits = {});

// Error bodies: {"error": {"code": "<error_code_name>", "message": ..., "param"?, "detail_code"?,
// "retry_after"?}}; the Status's details "param", "code" and "retry_after" travel with it.
std::string error_to_json(const Status& status);
// The Status an error response stands for. A body that is not one of ours still gives an error
// (from the HTTP status alone).
Status parse_error_body(int http_status, std::string_view body);
// The HTTP status a worker answers an error with (400, 401, 404, 429, 503, 500, ...).
int worker_http_status(ErrorCode code);

}  // namespace parley
