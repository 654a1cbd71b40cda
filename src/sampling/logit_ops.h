// LogitOps: the passes over a whole row of logits (up to ~256K floats), the hot loops of
// sampling, and the exp() they share. Stateless free functions; any thread.
//
// They work on blocks of kLogitLanes floats with GCC/Clang generic vectors (logit_vectors.h), one
// accumulator per lane: fast without -ffast-math, and every sum has a fixed order. The passes
// that compute per token (sanitise, exp) also have an AVX2 build chosen at run time; it does the
// same arithmetic lane for lane. exp() is our own (logit_exp), not libm's, and the module is
// built with -ffp-contract=off, so weights and sums are bit-identical in scalar, portable and AVX2
// code, on every IEEE-754 platform.
//
// All functions but logits_sanitize expect sanitised logits (no NaN, no +inf).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sampling/sampling_params.h"

namespace parley {

inline constexpr std::size_t kLogitLanes = 8;

// Below this exponent exp() is flushed to 0: e^-80 ~ 1.8e-35 relative to the most likely token
// can neither be drawn with a 53-bit uniform nor move a sum, and stopping here keeps every result
// a normal float (denormal arithmetic is slow on some CPUs).
inline constexpr float kLogitExpCutoff = -80.0f;

// exp(z) for z <= 0, within ~2.5 ulp of the true value; exactly 1 at z == 0 and 0 below
// kLogitExpCutoff (including -inf). The same function, lane for lane, as the vectorised passes.
float logit_exp(float z);

// A token, its logit and (once a stage has computed it) its weight exp((logit - x_max) / T).
// Candidates are ranked by higher logit first, then lower id: a strict total order, so every
// selection below is deterministic.
struct LogitCandidate {
  float logit = 0.0f;
  TokenId token = 0;
  float weight = 0.0f;
};

inline bool ranks_before(const LogitCandidate& a, const LogitCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

// The lowest index whose logit equals `value` (logits.size() when none does).
std::size_t logits_find(std::span<const float> logits, float value);

// The passes that do arithmetic on every token use AVX2 where the processor has it, else portable
// vectors; both give bit-identical results. kPortable forces the latter (for tests that compare).
enum class LogitSimd { kBest, kPortable };
bool logit_simd_has_avx2();

// Sanitises in place, NaN -> -inf (a token the model could not score is never chosen) and
// +inf -> the largest finite float (the token wins, and differences with it stay defined), and
// returns the largest logit (-inf when there is none or all are -inf). One pass.
float logits_sanitize(std::span<float> logits, LogitSimd simd = LogitSimd::kBest);

// Sets to -inf every logit whose bit in `allowed` is clear (bit t of word t / 64; tokens past the
// end of `allowed` count as clear). Whole words of one kind cost a skip or a fill.
void logits_mask(std::span<float> logits, std::span<const std::uint64_t> allowed);

// Sum over i of the weights w_i = logit_exp((x_i - x_max) * inv_t), accumulated in double.
double logits_sum_exp(std::span<const float> logits, float x_max, float inv_t, LogitSimd simd = LogitSimd::kBest);

// Replaces every logit by its weight logit_exp((x_i - x_max) * inv_t) and returns their sum.
double logits_exp_in_place(std::span<float> logits, float x_max, float inv_t, LogitSimd simd = LogitSimd::kBest);

// Sets each candidate's weight to logit_exp((logit - x_max) * inv_t) (vectorised, with the same
// results as the scalar function) and returns their sum, added in candidate order.
double candidates_weigh(std::span<LogitCandidate> candidates, float x_max, float inv_t,
                        LogitSimd simd = LogitSimd::kBest);

// Inverse CDF: the lowest index at which the running sum of `weights` exceeds `target`; if
// rounding keeps the sum from getting there, the last index with a positive weight (0 if none).
std::size_t weights_scan(std::span<const float> weights, double target);

// Replaces `out` by the k best-ranked tokens (see ranks_before) in id order; k >= logits.size()
// gives every token. A bounded heap with an early reject per block for small k (one pass that
// mostly compares), nth_element for large k.
void logits_select_top(std::span<const float> logits, std::size_t k, std::vector<LogitCandidate>& out);

// Appends to `out` every token with lo <= logit < hi, in id order.
void logits_collect_band(std::span<const float> logits, float lo, float hi, std::vector<LogitCandidate>& out);

}  // namespace parley
