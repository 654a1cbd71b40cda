// least_loaded: the power of two choices. Two distinct candidates drawn at random, the less
// loaded one wins (the first drawn on a tie). Nearly as good as scanning every worker for the
// least loaded, without herding every router onto the same worker between two stats polls.
#pragma once

#include <mutex>
#include <vector>

#include "base/rng.h"
#include "router/route_policy.h"

namespace parley {

class LeastLoadedPolicy final : public RoutePolicy {
 public:
  explicit LeastLoadedPolicy(std::uint64_t seed);
  std::string_view name() const override { return "least_loaded"; }
  std::size_t choose(const RouteRequest& request, std::span<const RouteCandidate> candidates) override;
  // The same choice among the candidates whose `allowed` is not 0 (at least one is); for affinity.
  std::size_t choose_among(std::span<const RouteCandidate> candidates, std::span<const std::uint8_t> allowed);
  // The same choice among the candidates for which `allowed(i)` is true (at least one is): random
  // draws first (most candidates are allowed), a scan when they keep missing.
  template <typename Allowed>
  std::size_t choose_where(std::span<const RouteCandidate> candidates, Allowed allowed) {
    const std::size_t n = candidates.size();
    std::size_t a = n;
    std::size_t b = n;
    if (n > 1) {
      std::lock_guard<std::mutex> lock(mu_);
      for (int tries = 0; tries < 16 && (a == n || b == n); ++tries) {
        const auto i = static_cast<std::size_t>(rng_.below(n));
        if (!allowed(i) || i == a) continue;
        (a == n ? a : b) = i;
      }
    }
    if (a != n && b != n) return candidates[b].load < candidates[a].load ? b : a;
    std::vector<std::uint8_t> mask(n);
    for (std::size_t i = 0; i < n; ++i) mask[i] = allowed(i) ? 1 : 0;
    return choose_among(candidates, mask);
  }

 private:
  std::mutex mu_;
  Rng rng_;
};

}  // namespace parley
