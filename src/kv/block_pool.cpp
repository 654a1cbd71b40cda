#include "kv/block_pool.h"

#include "base/check.h"

namespace parley {

BlockHash hash_block(BlockHash parent, std::span<const std::int32_t> tokens) {
  // 64-bit mixing of the parent and every token (splitmix-style finaliser per step). Collisions
  // are astronomically unlikely for honest traffic; the prefix cache is per process and
  // per model, and a collision could only mix up a request's own context with another prompt of
  // the same length, so a keyed hash is not needed here.
  std::uint64_t h = parent ^ (static_cast<std::uint64_t>(tokens.size()) * 0xD6E8FEB86659FD93ull);
  for (const std::int32_t t : tokens) {
    h ^= static_cast<std::uint32_t>(t) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    h ^= h >> 31;
  }
  return h;
}

BlockPool::BlockPool(std::int32_t n_blocks, std::int32_t block_size)
    : n_blocks_(n_blocks),
      block_size_(block_size),
      ref_(static_cast<std::size_t>(n_blocks), 0),
      hash_of_(static_cast<std::size_t>(n_blocks)),
      lru_pos_(static_cast<std::size_t>(n_blocks)),
      in_lru_(static_cast<std::size_t>(n_blocks), false) {
  CHECK(n_blocks > 0 && block_size > 0);
  free_.reserve(static_cast<std::size_t>(n_blocks));
  for (std::int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

std::optional<std::int32_t> BlockPool::allocate() {
  std::int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    b = lru_.front();
    lru_.pop_front();
    in_lru_[static_cast<std::size_t>(b)] = false;
    unregister(b);
    ++stats_.evictions;
  } else {
    return std::nullopt;
  }
  ref_[static_cast<std::size_t>(b)] = 1;
  return b;
}

bool BlockPool::allocate_n(std::int32_t n, std::vector<std::int32_t>* out) {
  if (n > n_available()) return false;
  for (std::int32_t i = 0; i < n; ++i) out->push_back(*allocate());
  return true;
}

void BlockPool::retain(std::int32_t block) {
  auto& r = ref_[static_cast<std::size_t>(block)];
  if (r == 0) {
    CHECK(in_lru_[static_cast<std::size_t>(block)], "retain of free block {}", block);
    lru_.erase(lru_pos_[static_cast<std::size_t>(block)]);
    in_lru_[static_cast<std::size_t>(block)] = false;
  }
  ++r;
}

void BlockPool::release(std::int32_t block) {
  auto& r = ref_[static_cast<std::size_t>(block)];
  CHECK(r > 0, "release of unreferenced block {}", block);
  if (--r > 0) return;
  if (hash_of_[static_cast<std::size_t>(block)]) {
    lru_.push_back(block);
    lru_pos_[static_cast<std::size_t>(block)] = std::prev(lru_.end());
    in_lru_[static_cast<std::size_t>(block)] = true;
  } else {
    free_.push_back(block);
  }
}

std::optional<std::int32_t> BlockPool::lookup(BlockHash hash) {
  ++stats_.lookups;
  const auto it = index_.find(hash);
  if (it == index_.end()) return std::nullopt;
  ++stats_.hits;
  return it->second;
}

bool BlockPool::register_block(std::int32_t block, BlockHash hash) {
  CHECK(ref_[static_cast<std::size_t>(block)] > 0, "registering block {} that is not in use", block);
  if (hash_of_[static_cast<std::size_t>(block)]) return *hash_of_[static_cast<std::size_t>(block)] == hash;
  const auto [it, inserted] = index_.emplace(hash, block);
  if (!inserted) return false;
  hash_of_[static_cast<std::size_t>(block)] = hash;
  return true;
}

void BlockPool::unregister(std::int32_t block) {
  auto& h = hash_of_[static_cast<std::size_t>(block)];
  if (!h) return;
  const auto it = index_.find(*h);
  if (it != index_.end() && it->second == block) index_.erase(it);
  h.reset();
}

}  // namespace parley
