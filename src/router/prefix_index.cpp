#include "router/prefix_index.h"

#include <algorithm>

namespace parley {

PrefixIndex::PrefixIndex(std::size_t blocks_per_worker) : bound_(std::max<std::size_t>(1, blocks_per_worker)) {}

void PrefixIndex::insert(WorkerId worker, std::span<const std::uint64_t> blocks) {
  PerWorker& w = workers_[worker];
  for (const std::uint64_t b : blocks) {
    if (const auto it = w.pos.find(b); it != w.pos.end()) {
      w.lru.splice(w.lru.begin(), w.lru, it->second);
      continue;
    }
    w.lru.push_front(b);
    w.pos.emplace(b, w.lru.begin());
    holders_[b].push_back(worker);
    if (w.lru.size() > bound_) {
      const std::uint64_t old = w.lru.back();
      w.lru.pop_back();
      w.pos.erase(old);
      drop_holder(old, worker);
    }
  }
}

const std::vector<WorkerId>* PrefixIndex::holders(std::uint64_t block) const {
  const auto it = holders_.find(block);
  return it == holders_.end() ? nullptr : &it->second;
}

void PrefixIndex::drop_holder(std::uint64_t block, WorkerId worker) {
  const auto it = holders_.find(block);
  if (it == holders_.end()) return;
  std::vector<WorkerId>& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), worker), v.end());
  if (v.empty()) holders_.erase(it);
}

void PrefixIndex::forget(WorkerId worker) {
  const auto it = workers_.find(worker);
  if (it == workers_.end()) return;
  for (const std::uint64_t b : it->second.lru) drop_holder(b, worker);
  workers_.erase(it);
}

std::size_t PrefixIndex::size(WorkerId worker) const {
  const auto it = workers_.find(worker);
  return it == workers_.end() ? 0 : it->second.lru.size();
}

}  // namespace parley
