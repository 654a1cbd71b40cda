// affinity (the default policy): a request goes where its prefix most likely is in the KV cache.
// Its prefix-block hashes (chained, mixed with the cache scope: router/route_policy.h) are looked
// up in a PrefixIndex of what was sent to each worker; the candidate holding the longest prefix
// wins (the least loaded of them on a tie), so a conversation's next turn goes where its earlier
// turns were computed, and requests sharing a system prompt gather. Bounded by load (consistent
// hashing with bounded loads): a candidate whose load is at or over
// ceil((1 + eps) (total load + 1) / candidates) is skipped, so one hot prefix cannot overload a
// worker; the next-longest match elsewhere is taken then, and without any match the request goes
// to the less loaded of two random candidates under the bound (least_loaded). The index holds what
// this router sent and what the workers report taking (their stats' prefix_blocks, fed by the
// WorkerRegistry), so several gateways learn each other's placements.
#pragma once

#include <mutex>

#include "router/least_loaded.h"
#include "router/prefix_index.h"
#include "router/route_policy.h"

namespace parley {

class AffinityPolicy final : public RoutePolicy {
 public:
  explicit AffinityPolicy(const RoutePolicyOptions& options);
  std::string_view name() const override { return "affinity"; }
  bool wants_blocks() const override { return true; }
  std::size_t choose(const RouteRequest& request, std::span<const RouteCandidate> candidates) override;
  void on_routed(const RouteRequest& request, WorkerId worker) override;
  void on_worker_blocks(WorkerId worker, std::span<const std::uint64_t> blocks) override;
  void forget(WorkerId worker) override;

  // The longest prefix (in blocks) `worker` is thought to hold (for tests and logs).
  std::size_t match_blocks(const RouteRequest& request, WorkerId worker) const;

 private:
  double eps_;
  LeastLoadedPolicy fallback_;
  mutable std::mutex mu_;
  PrefixIndex index_;
};

}  // namespace parley
