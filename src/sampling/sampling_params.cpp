#include "sampling/sampling_params.h"

#include <algorithm>
#include <cmath>

namespace parley {
namespace {

// The comparisons are written so that NaN fails them (NaN compares false with everything).
bool in_closed(float v, float lo, float hi) { return v >= lo && v <= hi; }

}  // namespace

Status SamplingParams::validate(std::int32_t n_vocab) const {
  if (n_vocab <= 0) return invalid_argument_error("n_vocab must be positive, got {}", n_vocab);
  if (!in_closed(temperature, 0.0f, kTemperatureMax)) {
    return invalid_argument_error("temperature must be in [0, {}], got {}", kTemperatureMax, temperature);
  }
  if (top_k < 0) return invalid_argument_error("top_k must be >= 0 (0 disables it), got {}", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) {
    return invalid_argument_error("top_p must be in (0, 1], got {}", top_p);
  }
  if (!in_closed(min_p, 0.0f, 1.0f)) return invalid_argument_error("min_p must be in [0, 1], got {}", min_p);
  if (!(repetition_penalty > 0.0f && repetition_penalty <= kRepetitionPenaltyMax)) {
    return invalid_argument_error("repetition_penalty must be in (0, {}], got {}", kRepetitionPenaltyMax,
                                  repetition_penalty);
  }
  if (!in_closed(presence_penalty, -kOpenAiPenaltyMax, kOpenAiPenaltyMax)) {
    return invalid_argument_error("presence_penalty must be in [-{}, {}], got {}", kOpenAiPenaltyMax,
                                  kOpenAiPenaltyMax, presence_penalty);
  }
  if (!in_closed(frequency_penalty, -kOpenAiPenaltyMax, kOpenAiPenaltyMax)) {
    return invalid_argument_error("frequency_penalty must be in [-{}, {}], got {}", kOpenAiPenaltyMax,
                                  kOpenAiPenaltyMax, frequency_penalty);
  }
  if (penalty_last_n < 0) {
    return invalid_argument_error("penalty_last_n must be >= 0 (0 means the whole history), got {}",
                                  penalty_last_n);
  }
  if (n_logprobs < -1 || n_logprobs > kLogprobsMax) {
    return invalid_argument_error("n_logprobs must be in [-1, {}], got {}", kLogprobsMax, n_logprobs);
  }
  std::vector<TokenId> ids;
  ids.reserve(logit_bias.size());
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= n_vocab) {
      return invalid_argument_error("logit_bias: token {} is outside the vocabulary [0, {})", token, n_vocab);
    }
    if (!in_closed(bias, -kLogitBiasMax, kLogitBiasMax)) {
      return invalid_argument_error("logit_bias: value for token {} must be in [-{}, {}], got {}", token,
                                    kLogitBiasMax, kLogitBiasMax, bias);
    }
    ids.push_back(token);
  }
  std::sort(ids.begin(), ids.end());
  if (const auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
    return invalid_argument_error("logit_bias: token {} appears more than once", *dup);
  }
  return ok_status();
}

}  // namespace parley
