// PlacementLog: what a worker has been asked to compute recently, as the router's prefix-block
// hashes (router/route_policy.h) per model, numbered so that each gateway can fetch what is new
// since its last poll (`GET /internal/v1/stats?blocks_since=N`). A gateway's AffinityPolicy adds
// them to its PrefixIndex: it learns placements that other gateways routed (or that it routed
// before a restart), not only its own.
//
// Bounded: `capacity` entries, the oldest dropped first; a hash already in the log is moved to the
// end (it is recent again) rather than repeated, so a long conversation does not flood the log.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley {

class PlacementLog {
 public:
  explicit PlacementLog(std::size_t capacity = std::size_t{1} << 15);

  void record(const std::string& model, std::span<const std::uint64_t> blocks);

  struct Since {
    std::uint64_t seq = 0;  // the newest entry's number: ask for blocks_since=seq next time
    std::vector<std::pair<std::string, std::vector<std::uint64_t>>> models;  // oldest first
  };
  // The entries after `seq`, at most `max_entries` (the newest). A `seq` beyond the newest (the
  // worker restarted since the caller's last poll) returns everything, from the oldest.
  Since since(std::uint64_t seq, std::size_t max_entries) const;

 private:
  struct Entry {
    std::uint64_t seq;
    std::string model;
    std::uint64_t hash;
  };
  using Key = std::pair<std::string, std::uint64_t>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return std::hash<std::string>()(k.first) ^ k.second; }
  };

  std::size_t capacity_;
  mutable std::mutex mu_;
  std::uint64_t seq_ = 0;
  std::list<Entry> log_;  // by seq, oldest first
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> pos_;
};

}  // namespace parley
