#include "engine/step_cost_model.h"

#include <algorithm>
#include <cmath>

namespace parley {
namespace {

using Coefficients = StepCostModel::Coefficients;
constexpr std::size_t kN = StepCostModel::kFeatures;

Coefficients features(const StepShape& s) {
  return {1.0, static_cast<double>(s.n_prefill), static_cast<double>(s.n_decode),
          s.attention / StepCostModel::kAttentionUnit};
}

double dot(const Coefficients& a, const Coefficients& b) {
  double d = 0;
  for (std::size_t i = 0; i < kN; ++i) d += a[i] * b[i];
  return d;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Solves the normal equations restricted to the features in `mask` (Gaussian elimination with
// partial pivoting on at most 4 unknowns); false when singular.
bool solve_subset(const std::array<Coefficients, kN>& g, const Coefficients& b, unsigned mask, Coefficients* out) {
  std::array<std::size_t, kN> idx{};
  std::size_t n = 0;
  for (std::size_t j = 0; j < kN; ++j) {
    if (mask & (1u << j)) idx[n++] = j;
  }
  std::array<std::array<double, kN + 1>, kN> m{};
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < n; ++c) m[r][c] = g[idx[r]][idx[c]];
    m[r][n] = b[idx[r]];
  }
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < n; ++r) {
      if (std::abs(m[r][col]) > std::abs(m[piv][col])) piv = r;
    }
    if (std::abs(m[piv][col]) < 1e-300) return false;
    std::swap(m[piv], m[col]);
    for (std::size_t r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = m[r][col] / m[col][col];
      for (std::size_t c = col; c <= n; ++c) m[r][c] -= f * m[col][c];
    }
  }
  *out = {};
  for (std::size_t r = 0; r < n; ++r) (*out)[idx[r]] = m[r][n] / m[r][r];
  return true;
}

}  // namespace

StepCostModel::StepCostModel(const StepCostModelConfig& config) : config_(config) {
  config_.window = std::max(config_.window, 4);
  config_.min_samples = std::clamp(config_.min_samples, 1, config_.window);
  samples_.reserve(static_cast<std::size_t>(config_.window));
}

double StepCostModel::predict(const StepShape& shape) const {
  return ready_ ? dot(coef_, features(shape)) : 0.0;
}

std::int64_t StepCostModel::max_prefill_seen() const {
  double m = 0;
  for (const Sample& s : samples_) m = std::max(m, s.x[1]);
  return static_cast<std::int64_t>(m);
}

std::int64_t StepCostModel::min_prefill_seen() const {
  if (samples_.empty()) return 0;
  double m = samples_.front().x[1];
  for (const Sample& s : samples_) m = std::min(m, s.x[1]);
  return static_cast<std::int64_t>(m);
}

void StepCostModel::observe(const StepShape& shape, double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return;
  if (ready_ && seconds > 0) {
    const double rel = std::abs(predict(shape) - seconds) / seconds;
    error_ = error_started_ ? (1 - config_.error_smoothing) * error_ + config_.error_smoothing * rel : rel;
    error_started_ = true;
  }
  const Sample s{features(shape), seconds};
  if (samples_.size() < static_cast<std::size_t>(config_.window)) {
    samples_.push_back(s);
  } else {
    samples_[next_] = s;
  }
  next_ = (next_ + 1) % static_cast<std::size_t>(config_.window);
  ++n_observed_;
  if (static_cast<std::int32_t>(samples_.size()) >= config_.min_samples) {
    refit();
    ready_ = true;
  }
}

void StepCostModel::refit() {
  n_outliers_ = 0;
  std::vector<bool> use(samples_.size(), true);
  coef_ = fit(use);
  // Drop the outliers of the fit and fit again, until the set of outliers settles (a few rounds:
  // a first fit pulled by the outliers hides some of them).
  std::vector<double> r(samples_.size()), dev(samples_.size());
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < samples_.size(); ++i) r[i] = samples_[i].t - dot(coef_, samples_[i].x);
    const double med = median(r);
    for (std::size_t i = 0; i < r.size(); ++i) dev[i] = std::abs(r[i] - med);
    const double mad = 1.4826 * median(dev);
    std::vector<bool> next(samples_.size(), true);
    std::int64_t n_out = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      // A deviation within 2% of the step's own time is noise, never an outlier (an exact fit
      // has a MAD of almost nothing).
      if (dev[i] > std::max(config_.outlier_mads * mad, 0.02 * samples_[i].t)) {
        next[i] = false;
        ++n_out;
      }
    }
    if (n_out * 2 >= static_cast<std::int64_t>(r.size()) || next == use) break;
    use = std::move(next);
    n_outliers_ = n_out;
    coef_ = fit(use);
  }
}

StepCostModel::Coefficients StepCostModel::fit(const std::vector<bool>& use) const {
  std::array<Coefficients, kN> g{};
  Coefficients b{};
  double tt = 0;
  for (std::size_t i = 0; i < samples_.size(); ++i) {
    if (!use[i]) continue;
    const Sample& s = samples_[i];
    for (std::size_t r = 0; r < kN; ++r) {
      for (std::size_t c = 0; c < kN; ++c) g[r][c] += s.x[r] * s.x[c];
      b[r] += s.x[r] * s.t;
    }
    tt += s.t * s.t;
  }
  // A whisper of ridge keeps a feature that never varied (no prompt seen yet) from making the
  // system singular; it pulls that coefficient towards 0, which the scheduler's cap on
  // extrapolation covers.
  for (std::size_t j = 0; j < kN; ++j) g[j][j] += 1e-9 * std::max(g[j][j], 1e-12);
  // Non-negative least squares, exactly: the best unconstrained fit over each subset of free
  // coefficients (the others at 0) that comes out non-negative.
  Coefficients best{};
  double best_sse = tt;
  for (unsigned mask = 1; mask < (1u << kN); ++mask) {
    Coefficients c;
    if (!solve_subset(g, b, mask, &c)) continue;
    if (std::any_of(c.begin(), c.end(), [](double v) { return v < 0; })) continue;
    double sse = tt - 2 * dot(c, b);
    for (std::size_t r = 0; r < kN; ++r) sse += c[r] * dot(g[r], c);
    if (sse < best_sse) {
      best_sse = sse;
      best = c;
    }
  }
  // A kind of token the window has not seen costs what the other kind costs: the matrix products
  // are the same for a prompt token and a generated one. (A zero would let the first step with
  // decodes, or with prompt tokens, overshoot the target.)
  if (g[2][2] <= 1e-9) best[2] = best[1];
  if (g[1][1] <= 1e-9) best[1] = best[2];
  return best;
}

}  // namespace parley
