// From validated wire fields to engine parameters, shared by the OpenAI endpoints (gateway.cpp)
// and the conversation API (conversation_api.cpp), so that both sample and refuse alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/openai_request.h"
#include "base/result.h"
#include "engine/request.h"
#include "gateway/principal.h"
#include "sampling/sampling_params.h"

namespace parley {

// Sampling parameters from the wire fields, OpenAI's defaults where absent (temperature 1,
// top_p 1). `choice` offsets the seed so that the choices of one request differ. Token ids in
// logit_bias beyond the vocabulary are kInvalidArgument (param "logit_bias").
Result<SamplingParams> sampling_from(const SamplingFields& f, std::int32_t n_logprobs, std::int32_t n_vocab,
                                     std::int32_t choice);

// OpenAI's 400 for a prompt (plus max_tokens, when > 0) that does not fit the context: code
// "context_length_exceeded", detail "param" = `param`.
Status context_error(std::int64_t n_ctx, std::int64_t prompt, std::int64_t max_tokens, std::string_view param);
// The same error for a prompt whose tokenization stopped once it had more than `prompt_min`
// tokens (Tokenizer::encode_at_most): its exact length is not known.
Status context_error_over(std::int64_t n_ctx, std::int64_t prompt_min, std::string_view param);

// OpenAI's 404 for a model that is not served: code "model_not_found", detail "param" = "model".
Status model_not_found_error(std::string_view model);

// The engine's prefix-cache scope for `who` (GenerateRequest::cache_scope): one per account, so
// that no account can tell from cached_tokens or time to first token what another one sent; one
// for everyone in local mode, where there is one user.
std::string cache_scope_of(const Principal& who);

// The "cache_scope": "shared" extension makes a prompt reusable by every account, i.e. public:
// OK for administrators (through an API key: one with the "admin" scope) and in local mode;
// otherwise kPermissionDenied with code "insufficient_scope" and param "cache_scope". OK when
// `shared` is false.
Status check_cache_shared(const Principal& who, bool shared);

// The default priority class of each role's OpenAI API requests (config [priority]).
struct RolePriorities {
  Priority user = Priority::kInteractive;
  Priority admin = Priority::kInteractive;
  Priority for_role(auth::Role role) const { return role == auth::Role::kAdmin ? admin : user; }
};

// The priority class of a completion that `who` asks for with the "priority" extension (`asked`:
// "interactive", "batch", or "" when the request does not say): an API key with the "batch"
// scope always runs in the batch class (a request may not raise it); otherwise what the request
// asks, else its role's default.
Priority priority_of(const Principal& who, std::string_view asked, const RolePriorities& defaults);

}  // namespace parley
