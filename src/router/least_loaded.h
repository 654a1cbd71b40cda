// least_loaded: the power of two choices. Two distinct candidates drawn at random, the less
// loaded one wins (the first drawn on a tie). Nearly as good as scanning every worker for the
// least loaded, without herding every router onto the same worker between two stats polls.
#pragma once

#include <mutex>

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

 private:
  std::mutex mu_;
  Rng rng_;
};

}  // namespace parley
