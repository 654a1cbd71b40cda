#include "router/placement_log.h"

#include <algorithm>
#include <map>

namespace parley {

PlacementLog::PlacementLog(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

void PlacementLog::record(const std::string& model, std::span<const std::uint64_t> blocks) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::uint64_t hash : blocks) {
    Key key{model, hash};
    if (const auto it = pos_.find(key); it != pos_.end()) {
      log_.erase(it->second);
      pos_.erase(it);
    }
    log_.push_back({++seq_, model, hash});
    pos_.emplace(std::move(key), std::prev(log_.end()));
    if (log_.size() > capacity_) {
      pos_.erase(Key{log_.front().model, log_.front().hash});
      log_.pop_front();
    }
  }
}

PlacementLog::Since PlacementLog::since(std::uint64_t seq, std::size_t max_entries) const {
  std::lock_guard<std::mutex> lock(mu_);
  Since out;
  out.seq = seq_;
  if (seq > seq_) seq = 0;  // a restarted worker numbers from 0 again
  // Walk back from the newest to the first entry after `seq`, at most max_entries.
  auto first = log_.end();
  std::size_t n = 0;
  while (first != log_.begin() && n < max_entries) {
    auto prev = std::prev(first);
    if (prev->seq <= seq) break;
    first = prev;
    ++n;
  }
  std::map<std::string, std::size_t> slot;
  for (auto it = first; it != log_.end(); ++it) {
    auto [s, fresh] = slot.try_emplace(it->model, out.models.size());
    if (fresh) out.models.emplace_back(it->model, std::vector<std::uint64_t>{});
    out.models[s->second].second.push_back(it->hash);
  }
  return out;
}

}  // namespace parley
