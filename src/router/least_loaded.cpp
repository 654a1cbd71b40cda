#include "router/least_loaded.h"

#include <vector>

namespace parley {

LeastLoadedPolicy::LeastLoadedPolicy(std::uint64_t seed) : rng_(seed) {}

std::size_t LeastLoadedPolicy::choose(const RouteRequest&, std::span<const RouteCandidate> candidates) {
  const std::size_t n = candidates.size();
  if (n == 1) return 0;
  std::size_t a = 0;
  std::size_t b = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    a = static_cast<std::size_t>(rng_.below(n));
    b = static_cast<std::size_t>(rng_.below(n - 1));
  }
  if (b >= a) ++b;  // distinct from a
  return candidates[b].load < candidates[a].load ? b : a;
}

std::size_t LeastLoadedPolicy::choose_among(std::span<const RouteCandidate> candidates,
                                            std::span<const std::uint8_t> allowed) {
  std::size_t count = 0;
  for (const std::uint8_t ok : allowed) count += ok != 0 ? 1 : 0;
  // Draw the k-th and l-th allowed candidates.
  std::size_t k = 0;
  std::size_t l = 0;
  if (count > 1) {
    std::lock_guard<std::mutex> lock(mu_);
    k = static_cast<std::size_t>(rng_.below(count));
    l = static_cast<std::size_t>(rng_.below(count - 1));
    if (l >= k) ++l;
  }
  std::size_t a = candidates.size();
  std::size_t b = candidates.size();
  for (std::size_t i = 0, seen = 0; i < candidates.size(); ++i) {
    if (allowed[i] == 0) continue;
    if (seen == k) a = i;
    if (seen == l) b = i;
    ++seen;
  }
  if (count <= 1) return a;
  return candidates[b].load < candidates[a].load ? b : a;
}

}  // namespace parley
