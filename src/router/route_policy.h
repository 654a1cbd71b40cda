// RoutePolicy: which worker a request goes to, among the candidates the registry offers for its
// model (up, ready, not draining, not ejected, same vocabulary). One file per policy:
//
//   round_robin    (router/round_robin.h)   each candidate in turn
//   least_loaded   (router/least_loaded.h)  power of two choices on load
//   affinity       (router/affinity.h)      the default: the worker that most likely holds the
//                                           request's prefix in its KV cache, bounded by load
//
// A decision costs microseconds (bench/router_bench): policies see plain numbers, never a socket.
//
// Thread safety: choose() and on_routed() may be called from any thread concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/request.h"

namespace parley {

using WorkerId = std::uint32_t;  // stable for a worker's life in the registry; never reused

// One worker that may take the request.
struct RouteCandidate {
  WorkerId worker = 0;
  // Its load: requests waiting or running there (the larger of its last stats and what this
  // router has in flight to it), plus its KV cache usage (0..1) to break ties.
  double load = 0;
};

// The prompt's prefix blocks: hash i covers tokens [0, 16 (i+1)) and the cache scope (chained:
// each hash mixes the previous one), so equal hashes mean an equal prefix in the same scope,
// which is what a worker's prefix cache can reuse. Only full blocks count.
inline constexpr std::size_t kRouteBlockTokens = 16;
std::vector<std::uint64_t> prefix_block_hashes(std::span<const TokenId> prompt, std::string_view cache_scope,
                                               std::size_t block_tokens = kRouteBlockTokens);

struct RouteRequest {
  std::span<const std::uint64_t> blocks;  // prefix_block_hashes() of the prompt (affinity only)
};

class RoutePolicy {
 public:
  virtual ~RoutePolicy() = default;
  virtual std::string_view name() const = 0;
  // Whether choose() uses RouteRequest::blocks (else the router does not compute them).
  virtual bool wants_blocks() const { return false; }
  // `candidates` is not empty and sorted by worker id. Returns an index into it.
  virtual std::size_t choose(const RouteRequest& request, std::span<const RouteCandidate> candidates) = 0;
  // The request went to `worker` (after choose(), or a retry elsewhere).
  virtual void on_routed(const RouteRequest& /*request*/, WorkerId /*worker*/) {}
  // The worker reports that it took requests with these prefix blocks (its stats' prefix_blocks:
  // possibly routed by another gateway), oldest first.
  virtual void on_worker_blocks(WorkerId /*worker*/, std::span<const std::uint64_t> /*blocks*/) {}
  // The worker left the registry: forget what is known of it.
  virtual void forget(WorkerId /*worker*/) {}
};

struct RoutePolicyOptions {
  std::uint64_t seed = 0;  // least_loaded's and affinity's random draws (0: from the clock)
  // affinity: a worker whose load is at or over ceil((1 + eps) (total load + 1) / candidates) is
  // skipped (consistent hashing with bounded loads).
  double load_bound_eps = 0.5;
  // affinity: prefix blocks remembered per worker (a bounded LRU of the hashes sent there).
  std::size_t index_blocks_per_worker = 1 << 16;
};

// "affinity", "least_loaded" or "round_robin"; else kInvalidArgument.
Result<std::unique_ptr<RoutePolicy>> make_route_policy(std::string_view name, const RoutePolicyOptions& options = {});

}  // namespace parley
