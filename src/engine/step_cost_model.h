// StepCostModel: how long an engine step takes, as a function of what it computes, learned online
// from the engine's own step timings. The scheduler asks it how many prompt tokens fit in a step
// so that the streams in that step still get their next token within the latency target.
//
// A step's time is modelled as
//     t = c0 + c_prefill * prefill tokens + c_decode * decode tokens + c_attn * attention
// where `attention` is the number of (query, key) pairs the step's tokens attend to (a token at
// position p reads p + 1 keys): matrix products cost per token, attention per token and context,
// and a step has a fixed cost (weights streamed once, launches, sampling). The coefficients are a
// least-squares fit, constrained non-negative (a cost cannot be negative; the subset of
// coefficients that are free is chosen exactly, which is cheap for four), over a bounded window
// of the most recent steps, so the model follows a machine whose speed changes (other processes,
// thermal limits). Outliers (a step stalled by the OS, a page fault storm) are dropped before the
// final fit: residuals beyond `outlier_mads` median absolute deviations from the median residual.
//
// Pure arithmetic, deterministic, no clock: the engine measures and calls observe().
// Not thread-safe: owned by the engine thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace parley {

struct StepShape {
  std::int64_t n_prefill = 0;  // tokens of prompts (or of a recompute after preemption)
  std::int64_t n_decode = 0;   // sequences generating their next token
  double attention = 0;        // (query, key) pairs: sum over the step's tokens of position + 1

  // A chunk of n tokens of a sequence whose first `pos` tokens are already computed.
  void add_prefill(std::int64_t pos, std::int64_t n) {
    n_prefill += n;
    attention +=
        static_cast<double>(n) * static_cast<double>(pos) + static_cast<double>(n) * static_cast<double>(n + 1) / 2;
  }
  void add_decode(std::int64_t pos) {
    n_decode += 1;
    attention += static_cast<double>(pos + 1);
  }
  bool empty() const { return n_prefill == 0 && n_decode == 0; }
};

struct StepCostModelConfig {
  std::int32_t window = 128;      // most recent steps fitted
  std::int32_t min_samples = 8;   // steps seen before predictions are trusted
  double outlier_mads = 4.0;      // residuals beyond this many MADs are dropped from the fit
  double error_smoothing = 0.05;  // weight of a new step in the running prediction error
};

class StepCostModel {
 public:
  static constexpr std::size_t kFeatures = 4;  // 1, prefill, decode, attention / kAttentionUnit
  static constexpr double kAttentionUnit = 1e4;
  using Coefficients = std::array<double, kFeatures>;

  explicit StepCostModel(const StepCostModelConfig& config = {});

  // Records a step that took `seconds`; first compares it with what the model predicted.
  void observe(const StepShape& shape, double seconds);
  // Enough steps have been seen (and among them at least one with prompt tokens) to predict.
  bool ready() const { return ready_; }
  // Predicted seconds (0 before ready()). Monotone in every field of the shape.
  double predict(const StepShape& shape) const;

  // Running mean of |predicted - measured| / measured over the steps seen since ready().
  double error() const { return error_; }
  std::int64_t n_observed() const { return n_observed_; }
  std::int64_t n_outliers() const { return n_outliers_; }  // steps left out of the last fit
  // The largest prefill count in the window: the scheduler extrapolates at most 2x beyond it.
  std::int64_t max_prefill_seen() const;
  // The smallest prefill count in the window. The fixed cost and the cost of a prompt token are
  // told apart only once the window holds steps with different counts.
  std::int64_t min_prefill_seen() const;
  const Coefficients& coefficients() const { return coef_; }

 private:
  struct Sample {
    Coefficients x;
    double t;
  };
  void refit();
  // Weighted least squares over the samples with use[i], coefficients >= 0.
  Coefficients fit(const std::vector<bool>& use) const;

  StepCostModelConfig config_;
  std::vector<Sample> samples_;  // ring buffer of at most config_.window
  std::size_t next_ = 0;
  Coefficients coef_{};
  bool ready_ = false;
  double error_ = 0;
  bool error_started_ = false;
  std::int64_t n_observed_ = 0;
  std::int64_t n_outliers_ = 0;
};

}  // namespace parley
