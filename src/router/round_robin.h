// round_robin: each candidate in turn (by position among the candidates, so workers that come
// and go do not reset the rotation). Ignores load and prefixes.
#pragma once

#include <atomic>

#include "router/route_policy.h"

namespace parley {

class RoundRobinPolicy final : public RoutePolicy {
 public:
  std::string_view name() const override { return "round_robin"; }
  std::size_t choose(const RouteRequest& request, std::span<const RouteCandidate> candidates) override;

 private:
  std::atomic<std::uint64_t> next_{0};
};

}  // namespace parley
