// Sampler: picks the next token of one sequence from the model's logits, and reports logprobs.
//
// The chain, in order (each stage sees the output of the one before):
//   0. allowed    with a mask of allowed tokens (a grammar's, grammar/grammar_matcher.h): every
//                 other token's logit becomes -inf. First, so that no later stage can bring a
//                 token back: the mask wins over logit_bias (a bias added to -inf stays -inf)
//                 and over the penalties (they never raise -inf).
//   1. sanitise   NaN -> -inf, +inf -> the largest finite float (logits_sanitize)
//   2. logit_bias added; a bias of -100 is a ban: the logit becomes -inf
//   3. repetition_penalty (CTRL): for each distinct token among the last penalty_last_n tokens
//      of prompt + output (all of them when 0): x > 0 ? x / penalty : x * penalty
//   4. presence/frequency (OpenAI), over the OUTPUT only:
//      x -= count * frequency_penalty + presence_penalty  (one float subtraction)
//   -- logprobs are taken HERE: log-softmax over the full vocabulary of these processed logits,
//      before temperature and truncation. OpenAI-compatible servers report the model's (biased,
//      penalised) distribution, not the truncated one we draw from, so a token outside the nucleus
//      still has a meaningful logprob and logprobs do not change with temperature.
//   5. temperature == 0: greedy, the argmax (ties -> lowest id); stages 6-9 are skipped
//   6. top_k: keep the k highest logits (ties -> lower id)
//   7. temperature: p_i proportional to w_i = exp((x_i - x_max) / T), so w = 1 for the top token
//   8. top_p: the smallest prefix of the tokens sorted by (p desc, id asc) whose cumulative
//      probability is >= top_p (at least 1 token; the probabilities are those after top_k)
//   9. min_p: keep tokens with p_i >= min_p * p_max, i.e. w_i >= min_p (inclusive)
//  10. draw: renormalise what is left and invert its CDF with one uniform.
//
// Cost: stages 2-4 touch only the biased tokens and the distinct tokens of the history; the rest
// is a few vectorised passes over the row (logit_ops.h) and never a full sort. Greedy: sanitise
// and find the maximum. No truncation: one exp pass that keeps the weights, then a scan of their
// running sum. top_k: a bounded heap. top_p/min_p: only the tokens that can qualify are collected
// (see truncate() in sampler.cpp) and top_p's boundary is found with a histogram of those, one
// bucket sorted. Logprobs add a pass for the alternatives and, unless T = 1 without truncation,
// an exp pass.
//
// Determinism: given the same logits, seed and history, the same token comes out on every
// machine. The uniform comes from parley::Rng; the weights from our own exp in IEEE arithmetic
// without FMA, bit-identical in scalar, portable-vector and AVX2 code; and every order the draw
// walks is fixed by the logits alone, not by the standard library or the C library.
//
// Degenerate logits: if no token has a finite processed logit (the model produced only NaN/-inf,
// or every other token is banned), sample() returns the lowest token id not banned by logit_bias
// (token 0 if all are) among the allowed ones (with a mask; the lowest allowed one if all of them
// are banned), with fallback = true, logprob = -inf and no alternatives; the engine should treat
// this as a model failure. Stages 3-4 never turn a finite logit into -inf (they
// clamp at the largest finite float), so this token is also the argmax of the sanitised raw
// logits among the tokens not banned, lowest id first.
//
// Randomness and preemption: each sample() call consumes exactly one uniform, whatever path it
// takes (greedy included), and the n-th call's uniform (0-based) is a pure function of
// (seed(), n): Rng(Rng::derive(seed, n)). The state of a Sampler is therefore fully determined by
// (params, seed(), prompt, accepted tokens, n_samples()). To rebuild one after preemption:
//   SamplingParams p = params; p.seed = old.seed(); p.has_seed = true;
//   Sampler s(p, n_vocab); s.set_prompt(prompt); for (t : output) s.accept(t);
//   s.set_n_samples(old.n_samples());
// and it continues with the identical token stream.
//
// Thread safety: none; a Sampler belongs to one sequence and is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sampling/logit_ops.h"
#include "sampling/sampling_params.h"
#include "sampling/token_counts.h"

namespace parley {

struct TokenLogprob {
  TokenId token = 0;
  float logprob = 0.0f;
  friend bool operator==(const TokenLogprob&, const TokenLogprob&) = default;
};

struct SampleResult {
  TokenId token = 0;
  float logprob = 0.0f;           // of the chosen token; valid when n_logprobs >= 0, else 0
  std::vector<TokenLogprob> top;  // n_logprobs best tokens, descending, ties by lower id;
                                  // banned (-inf) tokens are left out, so it may be shorter
  bool fallback = false;          // degenerate logits (see above)
};

// One entry of the distribution sample() draws from (Sampler::distribution).
struct TokenProb {
  TokenId token = 0;
  double prob = 0.0;
};

class Sampler {
 public:
  // `params` must be valid for n_vocab (params.validate(n_vocab).ok(), CHECKed): validation
  // belongs at the edge, where the error can be reported to the client.
  Sampler(SamplingParams params, std::int32_t n_vocab);

  // The prompt's tokens count for repetition_penalty only (presence/frequency are about the
  // output, as in OpenAI's API). Call at most once, before any accept() (CHECKed). Ids outside
  // the vocabulary are ignored here (the engine rejects such prompts; this must not index out).
  void set_prompt(std::span<const TokenId> prompt);

  // Draws the next token. `logits` (n_vocab values, CHECKed) are the model's raw logits, used as
  // scratch: their contents on return are unspecified. Deterministic for a given seed, history
  // and n_samples(). Does not record the token: call accept().
  // `allowed`, when not empty, is a bitset of the tokens that may be drawn (bit t of word t / 64;
  // tokens past its end are not allowed); it must allow at least one token (CHECKed: the engine
  // ends a request whose grammar allows nothing before sampling).
  SampleResult sample(std::span<float> logits, std::span<const std::uint64_t> allowed = {});

  // Records a token the sequence emitted (also when replaying after preemption). The token must
  // be in the vocabulary (CHECKed: the engine only emits sampled tokens).
  void accept(TokenId token);

  // Stages 0-4 in place (the logits logprobs are computed from). For tests and diagnostics.
  void process_logits(std::span<float> logits, std::span<const std::uint64_t> allowed = {}) const;

  // The distribution sample() would draw from for these logits (all stages, renormalised), sorted
  // by probability descending then id; tokens with probability 0 are left out. Consumes no
  // randomness. For tests and diagnostics: without truncation it lists the whole vocabulary.
  std::vector<TokenProb> distribution(std::span<float> logits, std::span<const std::uint64_t> allowed = {});

  // The seed in use: params.seed, or the one drawn from std::random_device when it had none.
  std::uint64_t seed() const { return seed_; }
  // sample() calls so far, i.e. uniforms consumed.
  std::uint64_t n_samples() const { return n_samples_; }
  // Positions the random stream as if `n` sample() calls had been made (O(1)).
  void set_n_samples(std::uint64_t n) { n_samples_ = n; }

  const SamplingParams& params() const { return params_; }
  std::int32_t n_vocab() const { return n_vocab_; }
  std::int64_t n_accepted() const { return n_accepted_; }

 private:
  struct Draw {
    TokenId token = 0;
    double offset = 0.0;       // x_token - x_max, for its logprob
    double sum_weights = 0.0;  // sum of all weights at this temperature, when the draw computed it
  };

  // Stages 0-4 (see process_logits); returns the largest processed logit.
  float process(std::span<float> logits, std::span<const std::uint64_t> allowed) const;
  float inverse_temperature() const;
  // Stages 5-10 on processed logits whose maximum x_max is finite; inv_t = 1/T, infinite for
  // greedy. u in [0, 1); sum_t1: logits_sum_exp at T = 1 when already computed, else 0. Without
  // truncation the logits are overwritten by their weights. With `dist` set, fills it instead
  // of drawing (and leaves the logits alone).
  Draw choose(std::span<float> logits, float x_max, float inv_t, double u, double sum_t1, std::vector<TokenProb>* dist);
  // Stages 6-9: leaves in candidates_ the surviving tokens with their weights, in an order that
  // depends on the logits only.
  // sum_t: logits_sum_exp at this temperature if already computed, else 0.
  void truncate(std::span<const float> logits, float x_max, float inv_t, double sum_t);
  // The last token (in rank order) of the smallest prefix of candidates_ whose weight reaches
  // mass_target; the worst-ranked candidate when none does.
  LogitCandidate nucleus_last_token(double mass_target, float x_max, float inv_t);
  TokenId fallback_token(std::span<const std::uint64_t> allowed) const;
  void push_history(TokenId token);
  bool truncating() const;
  bool top_k_on() const;

  SamplingParams params_;
  std::int32_t n_vocab_;
  std::uint64_t seed_;
  std::uint64_t n_samples_ = 0;
  std::int64_t n_accepted_ = 0;
  bool prompt_set_ = false;
  bool repetition_on_;
  bool openai_penalties_on_;
  std::vector<TokenId> banned_;  // logit_bias entries of -100, sorted

  TokenCounts repetition_counts_;  // tokens in the repetition window (prompt + output)
  std::vector<TokenId> window_;    // ring of the last penalty_last_n tokens (when > 0)
  std::size_t window_head_ = 0;    // oldest entry once the ring is full
  TokenCounts output_counts_;      // every accepted token, for presence/frequency

  // Scratch reused across calls (one sequence, one thread).
  std::vector<LogitCandidate> candidates_;
  std::vector<LogitCandidate> ranked_;  // nucleus_last_token's boundary bucket
  std::vector<LogitCandidate> top_;
};

}  // namespace parley
