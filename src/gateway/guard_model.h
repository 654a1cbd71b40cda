// GuardModel: a served model used as a classifier of prompts and replies ([moderation.guard],
// docs/moderation.md). The text goes into a configurable prompt (Llama Guard's by default), sent
// as one user message through the model's chat template; the answer is read in Llama Guard's
// format: "safe", or "unsafe" and a second line of comma-separated categories ("S1,S10").
//
// classify() blocks its caller (a request pool thread) for at most the time budget; an answer
// that does not come in time, an engine error or an answer in another format is a failure, which
// the caller treats as the configuration says (fail open: allow; fail closed: refuse).
//
// Thread safety: classify() may be called from any number of threads at once (not the engine's).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/served_model.h"
#include "obs/metrics.h"

namespace parley {

struct GuardConfig {
  std::string model;    // the id of a served model; empty: no guard
  bool input = true;    // classify prompts before generation
  bool output = false;  // classify finished replies (stage "output" or "both")
  std::string prompt;   // "{role}" and "{text}" are replaced; empty: kLlamaGuardPrompt
  std::int64_t timeout_ms = 2000;
  bool fail_closed = false;  // a failed classification refuses the request (503) instead of allowing it
  std::int32_t max_tokens = 16;
};

extern const std::string_view kLlamaGuardPrompt;

struct GuardVerdict {
  bool ok = false;  // an answer in the expected format came in time
  bool unsafe = false;
  std::vector<std::string> categories;  // "S1", ... (unsafe only)
  std::string error;                    // !ok: why
};

// "safe" / "unsafe\nS1,S2" (surrounding white space ignored); anything else: !ok.
GuardVerdict parse_guard_answer(std::string_view answer);

// The OpenAI moderation category of a Llama Guard 3 category where one corresponds ("S1" ->
// "violence", "S10" -> "hate", ...); the category itself otherwise ("S7").
std::string_view openai_category(std::string_view guard_category);
// Every category a Llama Guard 3 answer can name, as openai_category() reports it, in order.
const std::vector<std::string_view>& guard_categories();

class GuardModel {
 public:
  GuardModel(GuardConfig config, const ServedModel& model, Family<Histogram>& latency);
  const GuardConfig& config() const { return config_; }
  GuardVerdict classify(std::string_view role, std::string_view text) const;

 private:
  GuardConfig config_;
  const ServedModel& model_;
  Family<Histogram>& latency_;
};

}  // namespace parley
