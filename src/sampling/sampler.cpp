#include "sampling/sampler.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "base/check.h"
#include "base/rng.h"

namespace parley {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr double kLn2 = 0.69314718055994530942;
constexpr std::size_t kScratchKeep = 1 << 16;   // candidates kept allocated between calls
constexpr double kFirstWeightCut = 0.1;        // top_p's first guess at its lowest weight

std::uint64_t random_device_seed() {
  // std::random_device may throw where no entropy source exists; the clock is good enough then
  // (the seed is reported by seed(), so the request stays reproducible either way).
  try {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  } catch (...) {
    return Rng::derive(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()), 0x5eed);
  }
}

// ln(x) for x > 0 in plain IEEE arithmetic: the collection cuts computed from it decide which
// tokens become candidates, and with them the draw order, so they must not depend on the C
// library's log. frexp is exact; then ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 1/3.
double portable_log(double x) {
  int e = 0;
  const double m = std::frexp(x, &e);
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double term = s;
  double sum = 0.0;
  for (int k = 1; k < 64; k += 2) {  // s^64 < 1e-30
    sum += term / k;
    term *= s2;
  }
  return 2.0 * sum + e * kLn2;
}

template <typename T>
void release_if_large(std::vector<T>& v) {
  if (v.capacity() > kScratchKeep) std::vector<T>().swap(v);
}

}  // namespace

Sampler::Sampler(SamplingParams params, std::int32_t n_vocab)
    : params_(std::move(params)),
      n_vocab_(n_vocab),
      seed_(params_.has_seed ? params_.seed : random_device_seed()),
      repetition_on_(params_.repetition_penalty != 1.0f),
      openai_penalties_on_(params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
  const Status status = params_.validate(n_vocab);
  CHECK(status.ok(), "Sampler built from unvalidated params: {}", status.to_string());
  for (const auto& [token, bias] : params_.logit_bias) {
    if (bias <= -kLogitBiasMax) banned_.push_back(token);
  }
  std::sort(banned_.begin(), banned_.end());
  if (repetition_on_ && params_.penalty_last_n > 0) window_.reserve(static_cast<std::size_t>(params_.penalty_last_n));
}

void Sampler::set_prompt(std::span<const TokenId> prompt) {
  CHECK(!prompt_set_ && n_accepted_ == 0, "set_prompt must be called once, before accept()");
  prompt_set_ = true;
  if (!repetition_on_) return;
  const auto last_n = static_cast<std::size_t>(params_.penalty_last_n);
  const std::size_t start = last_n > 0 && prompt.size() > last_n ? prompt.size() - last_n : 0;
  for (std::size_t i = start; i < prompt.size(); ++i) {
    if (prompt[i] >= 0 && prompt[i] < n_vocab_) push_history(prompt[i]);
  }
}

void Sampler::accept(TokenId token) {
  CHECK(token >= 0 && token < n_vocab_, "accepted token {} outside the vocabulary [0, {})", token, n_vocab_);
  ++n_accepted_;
  if (repetition_on_) push_history(token);
  if (openai_penalties_on_) output_counts_.add(token);
}

void Sampler::push_history(TokenId token) {
  const auto last_n = static_cast<std::size_t>(params_.penalty_last_n);
  if (last_n > 0) {
    if (window_.size() < last_n) {
      window_.push_back(token);
    } else {
      repetition_counts_.remove(window_[window_head_]);
      window_[window_head_] = token;
      window_head_ = (window_head_ + 1) % last_n;
    }
  }
  repetition_counts_.add(token);
}

void Sampler::process_logits(std::span<float> logits, std::span<const std::uint64_t> allowed) const {
  process(logits, allowed);
}

float Sampler::process(std::span<float> logits, std::span<const std::uint64_t> allowed) const {
  CHECK(logits.size() == static_cast<std::size_t>(n_vocab_), "got {} logits for a vocabulary of {}", logits.size(),
        n_vocab_);
  if (!allowed.empty()) logits_mask(logits, allowed);
  // Bias and penalties run on the raw logits and the sanitising pass comes last, fused with the
  // search for the maximum: one pass over the row instead of two. The results are those of
  // sanitising first: NaN and -inf pass through every step unchanged, and +inf is clamped to the
  // largest finite float before anything divides it.
  for (const auto& [token, bias] : params_.logit_bias) {
    float& x = logits[static_cast<std::size_t>(token)];
    x = bias <= -kLogitBiasMax ? -kInf : x + bias;
  }
  // The clamps keep finite logits finite, so only a ban can make a token impossible (see the
  // degenerate case in sampler.h).
  if (repetition_on_) {
    const float penalty = params_.repetition_penalty;
    for (const TokenId token : repetition_counts_.tokens()) {
      float& x = logits[static_cast<std::size_t>(token)];
      if (x > 0.0f) {
        x = std::min(std::min(x, kFloatMax) / penalty, kFloatMax);
      } else if (x > -kInf) {
        x = std::max(x * penalty, -kFloatMax);
      }
    }
  }
  if (openai_penalties_on_) {
    const auto tokens = output_counts_.tokens();
    const auto counts = output_counts_.counts();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      logits[static_cast<std::size_t>(tokens[i])] -=
          static_cast<float>(counts[i]) * params_.frequency_penalty + params_.presence_penalty;
    }
  }
  return logits_sanitize(logits);
}

float Sampler::inverse_temperature() const {
  // A temperature so small that 1/T overflows is greedy in all but name.
  return params_.is_greedy() ? kInf : 1.0f / params_.temperature;
}

SampleResult Sampler::sample(std::span<float> logits, std::span<const std::uint64_t> allowed) {
  // Drawn first so that every call consumes exactly one uniform, whatever path follows.
  Rng rng(Rng::derive(seed_, n_samples_));
  ++n_samples_;
  const double u = static_cast<double>(rng.next_u64() >> 11) * 0x1.0p-53;

  const float x_max = process(logits, allowed);
  SampleResult result;
  const bool want_logprobs = params_.n_logprobs >= 0;
  if (!(x_max > -kInf)) {
    result.token = fallback_token(allowed);
    result.fallback = true;
    if (want_logprobs) result.logprob = -kInf;
    return result;
  }
  const float inv_t = inverse_temperature();
  // Without truncation the draw overwrites the logits with their weights; at T = 1 those weights
  // are also the ones log-softmax needs.
  const bool weights_in_place = std::isfinite(inv_t) && !truncating();
  double sum_t1 = 0.0;  // sum of exp(x - x_max) (T = 1); 0 while not computed (>= 1 once it is)
  if (want_logprobs) {
    logits_select_top(logits, static_cast<std::size_t>(params_.n_logprobs), top_);  // before any overwrite
    std::sort(top_.begin(), top_.end(), ranks_before);
    if (!(weights_in_place && inv_t == 1.0f)) sum_t1 = logits_sum_exp(logits, x_max, 1.0f);
  }
  const Draw draw = choose(logits, x_max, inv_t, u, sum_t1, nullptr);
  result.token = draw.token;
  if (want_logprobs) {
    // log_softmax(x) = (x - x_max) - log(sum of exp(x_i - x_max)).
    const double log_sum = std::log(sum_t1 > 0.0 ? sum_t1 : draw.sum_weights);
    result.logprob = static_cast<float>(draw.offset - log_sum);
    for (const LogitCandidate& c : top_) {
      if (c.logit == -kInf) break;
      result.top.push_back({c.token, static_cast<float>((static_cast<double>(c.logit) - x_max) - log_sum)});
    }
  }
  release_if_large(candidates_);
  release_if_large(ranked_);
  return result;
}

std::vector<TokenProb> Sampler::distribution(std::span<float> logits, std::span<const std::uint64_t> allowed) {
  std::vector<TokenProb> dist;
  const float x_max = process(logits, allowed);
  if (!(x_max > -kInf)) {
    dist.push_back({fallback_token(allowed), 1.0});
    return dist;
  }
  choose(logits, x_max, inverse_temperature(), 0.0, 0.0, &dist);
  std::sort(dist.begin(), dist.end(), [](const TokenProb& a, const TokenProb& b) {
    return a.prob > b.prob || (a.prob == b.prob && a.token < b.token);
  });
  release_if_large(candidates_);
  release_if_large(ranked_);
  return dist;
}

bool Sampler::truncating() const {
  return top_k_on() || params_.top_p < 1.0f || params_.min_p > 0.0f;
}

bool Sampler::top_k_on() const {
  return params_.top_k > 0 && params_.top_k < n_vocab_;
}

Sampler::Draw Sampler::choose(std::span<float> logits, float x_max, float inv_t, double u, double sum_t1,
                              std::vector<TokenProb>* dist) {
  if (!std::isfinite(inv_t)) {
    const auto token = static_cast<TokenId>(logits_find(logits, x_max));
    if (dist != nullptr) dist->push_back({token, 1.0});
    return {token, 0.0, 0.0};
  }
  if (!truncating()) {
    if (dist != nullptr) {
      const double total = logits_sum_exp(logits, x_max, inv_t);
      for (std::size_t i = 0; i < logits.size(); ++i) {
        const float w = logit_exp((logits[i] - x_max) * inv_t);
        if (w > 0.0f) dist->push_back({static_cast<TokenId>(i), w / total});
      }
      return {};
    }
    // One exp pass that keeps the weights, then a scan that mostly adds. The chosen token's
    // logit is gone, but w = exp((x - x_max) / T) gives x - x_max back to ~1e-7 * T.
    const double total = logits_exp_in_place(logits, x_max, inv_t);
    const std::size_t i = weights_scan(logits, u * total);
    return {static_cast<TokenId>(i), std::log(static_cast<double>(logits[i])) / inv_t, total};
  }
  truncate(logits, x_max, inv_t, inv_t == 1.0f ? sum_t1 : 0.0);
  double total = 0.0;
  for (const LogitCandidate& c : candidates_) total += c.weight;
  if (dist != nullptr) {
    for (const LogitCandidate& c : candidates_) dist->push_back({c.token, c.weight / total});
    return {};
  }
  // The candidates' order is fixed by the logits alone (not by how a standard library's selection
  // permutes), so the draw is the same everywhere.
  const double target = u * total;
  double cum = 0.0;
  const LogitCandidate* chosen = &candidates_.back();  // if u * total rounded up to total
  for (const LogitCandidate& c : candidates_) {
    cum += c.weight;
    if (cum > target) {
      chosen = &c;
      break;
    }
  }
  return {chosen->token, static_cast<double>(chosen->logit) - x_max, 0.0};
}

void Sampler::truncate(std::span<const float> logits, float x_max, float inv_t, double sum_t) {
  const bool top_p_on = params_.top_p < 1.0f;
  const bool min_p_on = params_.min_p > 0.0f;
  double mass = 0.0;
  double mass_target = 0.0;  // top_p's: top_p times the mass its probabilities are relative to
  if (top_k_on()) {
    logits_select_top(logits, static_cast<std::size_t>(params_.top_k), candidates_);
    mass = candidates_weigh(candidates_, x_max, inv_t);
    mass_target = params_.top_p * mass;  // top_p's probabilities are those after top_k
  } else {
    // Only tokens with a weight w >= w_cut can survive, so only those are collected, in passes
    // that mostly compare: min_p gives w_cut = min_p; top_p's nucleus lies above any w_cut whose
    // tokens weigh >= top_p * S together. That is tried from w_cut = 0.1 down, a factor of 10 at
    // a time, each step adding the band of tokens between the old cut and the new, down to
    // w_cut_safe = (1 - top_p) * S / n_vocab, which always qualifies: the tokens below it weigh
    // less than (1 - top_p) * S together. Cuts are applied to logits with ln 2 of slack, so that
    // rounding can only add candidates; the exact tests run on their weights. The candidates end
    // up ordered by band, then id: an order fixed by the logits alone.
    candidates_.clear();
    float x_above = kInf;  // the band collected last started here
    const auto collect_down_to = [&](double w_cut) {
      const auto x_cut = static_cast<float>(x_max + (portable_log(w_cut) - kLn2) / inv_t);
      const std::size_t first = candidates_.size();
      logits_collect_band(logits, x_cut, x_above, candidates_);
      mass += candidates_weigh(std::span(candidates_).subspan(first), x_max, inv_t);
      x_above = x_cut;
    };
    const double w_min_p = min_p_on ? params_.min_p : 0.0;
    if (!top_p_on) {
      collect_down_to(w_min_p);
    } else {
      const double total = sum_t > 0.0 ? sum_t : logits_sum_exp(logits, x_max, inv_t);
      mass_target = params_.top_p * total;
      const double w_cut_safe = (1.0 - params_.top_p) * total / n_vocab_;
      for (double w_cut = kFirstWeightCut;; w_cut *= 0.1) {
        collect_down_to(std::max({w_cut, w_cut_safe, w_min_p}));
        // Below min_p nothing survives anyway; at the safe cut the nucleus is in.
        if (mass >= mass_target || w_cut <= w_min_p || w_cut <= w_cut_safe) break;
      }
    }
  }
  LogitCandidate nucleus_last;
  if (top_p_on) nucleus_last = nucleus_last_token(mass_target, x_max, inv_t);
  // min_p: w_i >= min_p is p_i >= min_p * p_max, as w = 1 for the top token. Weights that
  // underflowed to 0 go too. Compacting in place keeps the order.
  const float w_min = min_p_on ? params_.min_p : std::numeric_limits<float>::min();
  std::size_t kept = 0;
  for (const LogitCandidate& c : candidates_) {
    if (c.weight >= w_min && (!top_p_on || !ranks_before(nucleus_last, c))) candidates_[kept++] = c;
  }
  CHECK(kept > 0, "truncation removed the top token");
  candidates_.resize(kept);
}

LogitCandidate Sampler::nucleus_last_token(double mass_target, float x_max, float inv_t) {
  // Buckets of 1/8 nat of (x_max - x) / T: a monotone function of the logit, so each bucket is an
  // interval of ranks. One pass sums the weight per bucket, a walk finds the bucket where the
  // cumulative weight crosses the target, and only that bucket is sorted. O(candidates).
  constexpr float kBucketsPerNat = 8.0f;
  constexpr std::size_t kNucleusBuckets = 8 * 90;  // weights are 0 beyond 80 nats
  const auto bucket_of = [&](float logit) {
    const float d = (x_max - logit) * inv_t * kBucketsPerNat;
    return d < static_cast<float>(kNucleusBuckets - 1) ? static_cast<std::size_t>(d) : kNucleusBuckets - 1;
  };
  std::array<double, kNucleusBuckets> bucket_mass{};
  for (const LogitCandidate& c : candidates_) bucket_mass[bucket_of(c.logit)] += c.weight;
  double cum = 0.0;
  std::size_t crossing = 0;
  while (crossing < kNucleusBuckets && cum + bucket_mass[crossing] < mass_target) cum += bucket_mass[crossing++];
  if (crossing == kNucleusBuckets) {
    // The target lies beyond the candidates: min_p alone set the collection cut (and removes the
    // rest anyway), or rounding at an extreme top_p. Keep them all.
    return *std::min_element(candidates_.begin(), candidates_.end(),
                             [](const LogitCandidate& a, const LogitCandidate& b) { return ranks_before(b, a); });
  }
  ranked_.clear();
  for (const LogitCandidate& c : candidates_) {
    if (bucket_of(c.logit) == crossing) ranked_.push_back(c);
  }
  std::sort(ranked_.begin(), ranked_.end(), ranks_before);
  for (const LogitCandidate& c : ranked_) {
    cum += c.weight;
    if (cum >= mass_target) return c;
  }
  return ranked_.back();  // the bucket's sum crossed but, added one by one, fell short by rounding
}

TokenId Sampler::fallback_token(std::span<const std::uint64_t> allowed) const {
  const auto is_allowed = [&](TokenId t) {
    const auto w = static_cast<std::size_t>(t) >> 6;
    return allowed.empty() || (w < allowed.size() && ((allowed[w] >> (t & 63)) & 1));
  };
  TokenId first_allowed = -1;
  for (TokenId t = 0; t < n_vocab_; ++t) {
    if (!is_allowed(t)) continue;
    if (first_allowed < 0) first_allowed = t;
    if (!std::binary_search(banned_.begin(), banned_.end(), t)) return t;
  }
  CHECK(allowed.empty() || first_allowed >= 0, "the mask of allowed tokens is empty");
  return first_allowed >= 0 ? first_allowed : 0;
}

}  // namespace parley
