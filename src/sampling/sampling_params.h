// SamplingParams: how one sequence picks its next token (OpenAI-compatible knobs plus the usual
// llama-style ones). Plain data: parsed from the wire in api/gateway, checked once with
// validate(), then handed to a Sampler (sampling/sampler.h), which takes validity for granted.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "base/status.h"

namespace parley {

// A token id. Declared here, not taken from the tokenizer, so that sampling depends on base only;
// it is the same type as the tokenizer's.
using TokenId = std::int32_t;

inline constexpr float kTemperatureMax = 100.0f;
inline constexpr float kRepetitionPenaltyMax = 10.0f;
inline constexpr float kOpenAiPenaltyMax = 2.0f;  // |presence_penalty|, |frequency_penalty|
inline constexpr float kLogitBiasMax = 100.0f;    // |logit_bias| value; -100 bans the token
inline constexpr std::int32_t kLogprobsMax = 20;  // the most alternatives OpenAI's API allows

struct SamplingParams {
  float temperature = 1.0f;         // 0 => greedy (argmax, ties -> lowest id)
  std::int32_t top_k = 0;           // 0 (or >= n_vocab) => disabled
  float top_p = 1.0f;               // 1 => disabled
  float min_p = 0.0f;               // 0 => disabled; keeps tokens with p >= min_p * p_max
  float repetition_penalty = 1.0f;  // 1 => disabled; CTRL-style, over prompt AND output tokens
  float presence_penalty = 0.0f;    // OpenAI: subtracted once per distinct OUTPUT token
  float frequency_penalty = 0.0f;   // OpenAI: subtracted count times per OUTPUT token
  std::int32_t penalty_last_n = 0;  // 0 => whole history; else only the last N tokens
                                    // (prompt then output) count for repetition_penalty
  // Added to the logits. -100 is a ban (the logit becomes -inf), as OpenAI documents it; other
  // values are added as they are. At most one entry per token.
  std::vector<std::pair<TokenId, float>> logit_bias;
  std::uint64_t seed = 0;
  bool has_seed = false;            // false => the Sampler draws a seed from std::random_device
  std::int32_t n_logprobs = -1;     // -1: none; 0: the chosen token's; N <= 20: plus top-N

  // Checks every field against its documented range for a vocabulary of n_vocab tokens.
  // Errors are kInvalidArgument and name the field, e.g. "top_p must be in (0, 1], got 0".
  Status validate(std::int32_t n_vocab) const;

  bool is_greedy() const { return temperature == 0.0f; }
};

}  // namespace parley
