// PrefixIndex: the router's approximate picture of what each worker's prefix cache holds: for
// every worker, the prefix-block hashes (router/route_policy.h) of the requests sent there, in a
// bounded LRU (the worker's cache evicts too, so old entries are the least likely to be there),
// and for every hash the workers that hold it, so that a lookup costs one hash-map probe whatever
// the number of workers.
//
// Thread safety: none (AffinityPolicy locks around it).
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "router/route_policy.h"

namespace parley {

class PrefixIndex {
 public:
  explicit PrefixIndex(std::size_t blocks_per_worker);

  // Records (or refreshes) `blocks` at `worker`, evicting its least recently used beyond the bound.
  void insert(WorkerId worker, std::span<const std::uint64_t> blocks);
  // The workers holding `block` (null: none).
  const std::vector<WorkerId>* holders(std::uint64_t block) const;
  void forget(WorkerId worker);
  std::size_t size(WorkerId worker) const;

 private:
  struct PerWorker {
    std::list<std::uint64_t> lru;  // most recent first
    std::unordered_map<std::uint64_t, std::list<std::uint64_t>::iterator> pos;
  };
  void drop_holder(std::uint64_t block, WorkerId worker);

  std::size_t bound_;
  std::unordered_map<WorkerId, PerWorker> workers_;
  std::unordered_map<std::uint64_t, std::vector<WorkerId>> holders_;
};

}  // namespace parley
