#include "router/route_policy.h"

#include <algorithm>
#include <chrono>

#include "base/rng.h"
#include "router/affinity.h"
#include "router/least_loaded.h"
#include "router/round_robin.h"

namespace parley {

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::vector<std::uint64_t> prefix_block_hashes(std::span<const TokenId> prompt, std::string_view cache_scope,
                                               std::size_t block_tokens) {
  std::vector<std::uint64_t> out;
  if (block_tokens == 0) return out;
  out.reserve(prompt.size() / block_tokens);
  std::uint64_t h = mix(0xCBF29CE484222325ull, fnv1a64(cache_scope.data(), cache_scope.size()));
  h = mix(h, cache_scope.size());
  for (std::size_t end = block_tokens; end <= prompt.size(); end += block_tokens) {
    // FNV-1a over the block's token ids (cheap), then one strong mix per block.
    for (std::size_t i = end - block_tokens; i < end; ++i) {
      h = (h ^ static_cast<std::uint32_t>(prompt[i])) * 0x100000001B3ull;
    }
    h = mix(h, end);
    out.push_back(h);
  }
  return out;
}

std::vector<RouteCandidate> prefer_loaded(std::vector<RouteCandidate> candidates) {
  const bool any = std::any_of(candidates.begin(), candidates.end(), [](const RouteCandidate& c) { return c.loaded; });
  if (any) std::erase_if(candidates, [](const RouteCandidate& c) { return !c.loaded; });
  return candidates;
}

Result<std::unique_ptr<RoutePolicy>> make_route_policy(std::string_view name, const RoutePolicyOptions& options) {
  RoutePolicyOptions o = options;
  if (o.seed == 0) o.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  if (name == "affinity") return std::unique_ptr<RoutePolicy>(std::make_unique<AffinityPolicy>(o));
  if (name == "least_loaded") return std::unique_ptr<RoutePolicy>(std::make_unique<LeastLoadedPolicy>(o.seed));
  if (name == "round_robin") return std::unique_ptr<RoutePolicy>(std::make_unique<RoundRobinPolicy>());
  return invalid_argument_error("unknown route policy '{}' (affinity, least_loaded or round_robin)", name);
}

}  // namespace parley
