#include "sampling/token_counts.h"

#include "base/check.h"

namespace parley {

void TokenCounts::add(TokenId token) {
  const auto [it, inserted] = slot_of_.try_emplace(token, static_cast<std::uint32_t>(tokens_.size()));
  if (inserted) {
    tokens_.push_back(token);
    counts_.push_back(1);
  } else {
    ++counts_[it->second];
  }
}

void TokenCounts::remove(TokenId token) {
  const auto it = slot_of_.find(token);
  CHECK(it != slot_of_.end(), "TokenCounts::remove of absent token {}", token);
  const std::uint32_t slot = it->second;
  if (--counts_[slot] > 0) return;
  // Swap-remove keeps the arrays dense; the moved token's slot is updated.
  const std::uint32_t last = static_cast<std::uint32_t>(tokens_.size() - 1);
  if (slot != last) {
    tokens_[slot] = tokens_[last];
    counts_[slot] = counts_[last];
    slot_of_[tokens_[slot]] = slot;
  }
  tokens_.pop_back();
  counts_.pop_back();
  slot_of_.erase(it);
}

void TokenCounts::clear() {
  slot_of_.clear();
  tokens_.clear();
  counts_.clear();
}

std::int32_t TokenCounts::count(TokenId token) const {
  const auto it = slot_of_.find(token);
  return it == slot_of_.end() ? 0 : counts_[it->second];
}

}  // namespace parley
