// BlockAllocator hands out KV blocks from a free list; BlockTable is one sequence's list of blocks
// and maps its positions to cache slots. Pure bookkeeping, no memory of its own.
//
// (The serving engine's block pool with reference counts, LRU of cached blocks and the prefix
// index will grow from here.)
#pragma once

#include <cstdint>
#include <vector>

#include "base/check.h"

namespace parley {

class BlockAllocator {
 public:
  explicit BlockAllocator(std::int32_t n_blocks) {
    free_.reserve(static_cast<std::size_t>(n_blocks));
    for (std::int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);  // hand out 0, 1, 2, ... first
  }
  std::int32_t n_free() const { return static_cast<std::int32_t>(free_.size()); }
  // A free block, or -1 when none is left.
  std::int32_t allocate() {
    if (free_.empty()) return -1;
    const std::int32_t b = free_.back();
    free_.pop_back();
    return b;
  }
  void release(std::int32_t block) { free_.push_back(block); }

 private:
  std::vector<std::int32_t> free_;
};

class BlockTable {
 public:
  explicit BlockTable(std::int32_t block_size) : block_size_(block_size) {}

  std::int32_t n_tokens() const { return n_tokens_; }
  const std::vector<std::int32_t>& blocks() const { return blocks_; }

  // Blocks needed to hold `n_more` more tokens.
  std::int32_t blocks_needed(std::int32_t n_more) const {
    const std::int32_t total = n_tokens_ + n_more;
    return std::max(0, (total + block_size_ - 1) / block_size_ - static_cast<std::int32_t>(blocks_.size()));
  }
  // Appends `n` tokens, taking blocks from `alloc`; false (and no change) when it runs out.
  bool append(std::int32_t n, BlockAllocator& alloc) {
    const std::int32_t need = blocks_needed(n);
    if (need > alloc.n_free()) return false;
    for (std::int32_t i = 0; i < need; ++i) blocks_.push_back(alloc.allocate());
    n_tokens_ += n;
    return true;
  }
  // The cache slot of position `pos` (< n_tokens()).
  std::int32_t slot(std::int32_t pos) const {
    DCHECK(pos >= 0 && pos < n_tokens_);
    return blocks_[static_cast<std::size_t>(pos / block_size_)] * block_size_ + pos % block_size_;
  }
  void release(BlockAllocator& alloc) {
    for (const std::int32_t b : blocks_) alloc.release(b);
    blocks_.clear();
    n_tokens_ = 0;
  }

 private:
  std::int32_t block_size_;
  std::int32_t n_tokens_ = 0;
  std::vector<std::int32_t> blocks_;
};

}  // namespace parley
