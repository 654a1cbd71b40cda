// What goes into the engine and what comes out: a GenerateRequest (token ids, sampling, limits)
// and typed events (tokens, then one finish) delivered to the request's sink. Nothing here knows
// HTTP, JSON or users: the gateway turns wire requests into these.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "grammar/compiled_grammar.h"
#include "sampling/sampler.h"

namespace parley {

using RequestId = std::uint64_t;

// Priority classes. Interactive requests (chats, the default) get the latency target and fair
// shares between tenants; batch requests only fill the capacity interactive work leaves idle: they
// are admitted only while no interactive request waits, their decodes and prompt chunks join a
// step only when its interactive work is planned and there is room left under the target, and
// they are preempted first.
enum class Priority : std::uint8_t { kInteractive = 0, kBatch = 1 };
inline constexpr std::size_t kNumPriorities = 2;
std::string_view priority_name(Priority p);  // "interactive", "batch"
std::optional<Priority> parse_priority(std::string_view name);
inline std::size_t priority_index(Priority p) {
  return static_cast<std::size_t>(p);
}
// Whether a is served before b (and preempted after it).
inline bool more_urgent(Priority a, Priority b) {
  return static_cast<int>(a) < static_cast<int>(b);
}

struct GenerateRequest {
  std::vector<TokenId> prompt;  // token ids, BOS and chat template already applied
  SamplingParams sampling;
  std::int32_t max_tokens = 0;           // 0: up to the context length
  std::vector<TokenId> stop_token_ids;   // besides the model's end-of-generation tokens
  bool ignore_eos = false;               // keep going past end-of-generation tokens
  std::string tenant;                    // fairness unit (the user); "" is a tenant too
  Priority priority = Priority::kInteractive;

  // Prefix-cache scope: an opaque name ("" is a scope like any other). KV blocks computed for
  // this request are reused only by requests of the same scope, so a request cannot detect
  // (by cached_prompt_tokens or time to first token) what another scope sent. The gateway
  // passes the account; in local mode everyone has one scope.
  std::string cache_scope;
  // The leading prompt tokens declared public: full blocks lying entirely within them are cached
  // without the scope and may be shared with every scope (e.g. an operator's system prompt).
  // 0: nothing is shared; values past the prompt count as the whole prompt (generated tokens
  // are never shared).
  std::int32_t cache_shared_tokens = 0;

  // Constrained decoding (optional). Every token is drawn from the tokens `grammar` allows next
  // (the mask comes first in the sampler's chain, so it wins over logit_bias), and the request
  // ends with kStop as soon as the grammar is complete (the last token is sent; no
  // end-of-generation token is generated). End-of-generation tokens are allowed only where the
  // grammar may end, and always stop (ignore_eos does not apply while a grammar constrains).
  // Compile it off the engine thread (grammar/grammar_compiler.h); it is shared and immutable.
  // The grammar must be compiled for this model's vocabulary.
  std::shared_ptr<const CompiledGrammar> grammar;
  // With triggers, generation is free until one of these tokens is generated; the grammar then
  // constrains the text after it (e.g. a tool call after <tool_call>, [TOOL_CALLS] or
  // <|python_tag|>). Empty: the grammar constrains the whole output.
  std::vector<TokenId> grammar_triggers;

  // W3C trace context of the caller's span (`00-<trace>-<span>-<flags>`), forwarded to a remote
  // engine as its `traceparent` header so that the worker's spans join the gateway's trace; the
  // local engine ignores it.
  std::string traceparent;
};

enum class FinishReason {
  kStop,       // an end-of-generation or stop token
  kLength,     // max_tokens, or the context is full
  kCancelled,  // cancel() or the client went away
  kError,      // the engine failed this request (the message says why)
};
std::string_view finish_reason_name(FinishReason r);

// One or more new tokens of a request (the engine batches what one step produced).
struct TokenEvent {
  std::vector<TokenId> tokens;
  std::vector<SampleResult> logprobs;  // one per token when the request asked for logprobs
};

struct RequestTimings {
  double queue_s = 0;  // arrival to first scheduled
  double ttft_s = 0;   // arrival to first token
  double total_s = 0;  // arrival to finish
};

struct FinishEvent {
  FinishReason reason = FinishReason::kStop;
  std::string message;  // for kError
  // For kError: the cause when it is not the model's. kUnavailable: the engine went away (a remote
  // worker that died or dropped the stream), so a request that had produced nothing yet may be
  // run again elsewhere (router/remote_engine.h).
  ErrorCode error = ErrorCode::kOk;
  std::int32_t prompt_tokens = 0;
  std::int32_t completion_tokens = 0;     // generated tokens, the stop token included
  std::int32_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache
  std::int32_t preemptions = 0;
  RequestTimings timings;
};

using EngineEvent = std::variant<TokenEvent, FinishEvent>;

// Receives a request's events in order: any number of TokenEvents, then exactly one FinishEvent.
// Called on the engine thread: must be quick and must not call back into the engine.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void on_event(RequestId id, EngineEvent event) = 0;
};

}  // namespace parley
