#include "router/affinity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace parley {

namespace {

// The position of `worker` among candidates sorted by worker id, or candidates.size().
std::size_t find_candidate(std::span<const RouteCandidate> candidates, WorkerId worker) {
  const auto it = std::lower_bound(candidates.begin(), candidates.end(), worker,
                                   [](const RouteCandidate& c, WorkerId w) { return c.worker < w; });
  if (it == candidates.end() || it->worker != worker) return candidates.size();
  return static_cast<std::size_t>(it - candidates.begin());
}

}  // namespace

AffinityPolicy::AffinityPolicy(const RoutePolicyOptions& options)
    : eps_(std::max(0.0, options.load_bound_eps)),
      fallback_(options.seed ^ 0x5851F42D4C957F2Dull),
      index_(options.index_blocks_per_worker) {}

std::size_t AffinityPolicy::choose(const RouteRequest& request, std::span<const RouteCandidate> candidates) {
  const std::size_t n = candidates.size();
  double total = 0;
  for (const RouteCandidate& c : candidates) total += std::floor(c.load);
  // The least loaded candidate is always under the bound: min <= total / n < cap.
  const double cap = std::ceil((1.0 + eps_) * (total + 1.0) / static_cast<double>(n));
  const auto under_bound = [&](std::size_t i) { return std::floor(candidates[i].load) < cap; };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::size_t b = request.blocks.size(); b-- > 0;) {
      const std::vector<WorkerId>* holders = index_.holders(request.blocks[b]);
      if (holders == nullptr) continue;
      std::size_t best = n;
      for (const WorkerId w : *holders) {
        const std::size_t i = find_candidate(candidates, w);
        if (i == n || !under_bound(i)) continue;
        if (best == n || candidates[i].load < candidates[best].load) best = i;
      }
      if (best != n) return best;
    }
  }
  return fallback_.choose_where(candidates, under_bound);
}

void AffinityPolicy::on_routed(const RouteRequest& request, WorkerId worker) {
  if (request.blocks.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  index_.insert(worker, request.blocks);
}

void AffinityPolicy::on_worker_blocks(WorkerId worker, std::span<const std::uint64_t> blocks) {
  if (blocks.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  index_.insert(worker, blocks);
}

void AffinityPolicy::forget(WorkerId worker) {
  std::lock_guard<std::mutex> lock(mu_);
  index_.forget(worker);
}

std::size_t AffinityPolicy::match_blocks(const RouteRequest& request, WorkerId worker) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t b = request.blocks.size(); b-- > 0;) {
    const std::vector<WorkerId>* holders = index_.holders(request.blocks[b]);
    if (holders != nullptr && std::find(holders->begin(), holders->end(), worker) != holders->end()) return b + 1;
  }
  return 0;
}

}  // namespace parley
