#include "gateway/generation_params.h"

#include <fmt/format.h>

namespace parley {

// Sampling parameters from the wire fields, OpenAI's defaults where absent.
Result<SamplingParams> sampling_from(const SamplingFields& f, std::int32_t n_logprobs, std::int32_t n_vocab,
                                     std::int32_t choice) {
  SamplingParams p;
  p.temperature = static_cast<float>(f.temperature.value_or(1.0));
  p.top_p = static_cast<float>(f.top_p.value_or(1.0));
  p.top_k = static_cast<std::int32_t>(f.top_k.value_or(0));
  p.min_p = static_cast<float>(f.min_p.value_or(0.0));
  p.repetition_penalty = static_cast<float>(f.repetition_penalty.value_or(1.0));
  p.presence_penalty = static_cast<float>(f.presence_penalty);
  p.frequency_penalty = static_cast<float>(f.frequency_penalty);
  for (const auto& [id, bias] : f.logit_bias) {
    if (id >= n_vocab)
      return invalid_param("logit_bias",
                           fmt::format("Token id {} is outside the vocabulary of {} tokens.", id, n_vocab));
    p.logit_bias.emplace_back(id, static_cast<float>(bias));
  }
  if (f.seed) {
    // Choices of one request differ, and each is reproducible.
    p.seed = static_cast<std::uint64_t>(*f.seed) + static_cast<std::uint64_t>(choice);
    p.has_seed = true;
  }
  p.n_logprobs = n_logprobs;
  RETURN_IF_ERROR(p.validate(n_vocab));
  return p;
}

Status context_error(std::int64_t n_ctx, std::int64_t prompt, std::int64_t max_tokens, std::string_view param) {
  std::string msg = max_tokens > 0
                        ? fmt::format(
                              "This model's maximum context length is {} tokens. However, you requested {} tokens "
                              "({} in the prompt, {} for the completion). Please reduce the prompt or the "
                              "completion length.",
                              n_ctx, prompt + max_tokens, prompt, max_tokens)
                        : fmt::format(
                              "This model's maximum context length is {} tokens. However, your prompt has {} "
                              "tokens. Please reduce the length of the prompt.",
                              n_ctx, prompt);
  return invalid_param(param, std::move(msg)).with_detail("code", "context_length_exceeded");
}

Status context_error_over(std::int64_t n_ctx, std::int64_t prompt_min, std::string_view param) {
  return invalid_param(param, fmt::format("This model's maximum context length is {} tokens. However, your prompt has "
                                          "more than {} tokens. Please reduce the length of the prompt.",
                                          n_ctx, prompt_min))
      .with_detail("code", "context_length_exceeded");
}

Status model_not_found_error(std::string_view model) {
  return not_found_error("The model '{}' does not exist.", model)
      .with_detail("param", "model")
      .with_detail("code", "model_not_found");
}

std::string cache_scope_of(const Principal& who) {
  // Prefixed so that no account id can name the local scope.
  return who.local_mode ? std::string("local") : "user:" + who.user_id;
}

Status check_cache_shared(const Principal& who, bool shared) {
  if (!shared || who.local_mode || (who.is_admin() && who.may(auth::Scope::kAdmin))) return ok_status();
  return Status(ErrorCode::kPermissionDenied,
                "'cache_scope': 'shared' makes the prompt reusable by every account; only administrators (API keys "
                "with the 'admin' scope) may declare a prompt public.")
      .with_detail("code", "insufficient_scope")
      .with_detail("param", "cache_scope");
}

Priority priority_of(const Principal& who, std::string_view asked, const RolePriorities& defaults) {
  if (who.may(auth::Scope::kBatch)) return Priority::kBatch;
  if (const std::optional<Priority> p = parse_priority(asked)) return *p;
  return defaults.for_role(who.role);
}

}  // namespace parley
