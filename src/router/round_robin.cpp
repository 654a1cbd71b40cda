#include "router/round_robin.h"

namespace parley {

std::size_t RoundRobinPolicy::choose(const RouteRequest&, std::span<const RouteCandidate> candidates) {
  return static_cast<std::size_t>(next_.fetch_add(1, std::memory_order_relaxed) % candidates.size());
}

}  // namespace parley
