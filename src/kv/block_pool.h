// BlockPool: the KV blocks of one cache, with reference counts and automatic prefix caching.
// Pure bookkeeping (no KV memory, no model), owned by the engine thread; not thread-safe.
//
// A block is in one of three states:
//   in use   ref > 0: held by one or more sequences' block tables;
//   cached   ref == 0 but registered in the prefix index: its content is still valid and can be
//            reused by a request whose prompt starts with the same tokens; it sits in an LRU list
//            and is evicted (unregistered) only when a free block is needed and none is left;
//   free     ref == 0, no content worth keeping.
//
// Prefix index: a full block is registered under a hash chained over every token from the start
// of the sequence to its end (hash_block(parent_hash, tokens)), so equal hashes mean equal
// prefixes. Registered blocks are immutable: writing into one needs copy-on-write (the engine
// copies it into a fresh block first).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace parley {

using BlockHash = std::uint64_t;

// The hash of a full block whose tokens are `tokens`, following the block hashed `parent`
// (kNoParentHash for the first block).
inline constexpr BlockHash kNoParentHash = 0x9E3779B97F4A7C15ull;
BlockHash hash_block(BlockHash parent, std::span<const std::int32_t> tokens);

struct BlockPoolStats {
  std::int64_t lookups = 0;       // blocks looked up in the prefix index
  std::int64_t hits = 0;          // of which found
  std::int64_t evictions = 0;     // cached blocks reused for new content
};

class BlockPool {
 public:
  BlockPool(std::int32_t n_blocks, std::int32_t block_size);

  std::int32_t n_blocks() const { return n_blocks_; }
  std::int32_t block_size() const { return block_size_; }
  // Blocks that allocate() can hand out: free plus cached.
  std::int32_t n_available() const { return static_cast<std::int32_t>(free_.size() + lru_.size()); }
  std::int32_t n_in_use() const { return n_blocks_ - n_available(); }
  std::int32_t n_cached() const { return static_cast<std::int32_t>(lru_.size()); }
  const BlockPoolStats& stats() const { return stats_; }

  // A block with ref 1: a free one, else the least recently used cached one (which leaves the
  // prefix index). nullopt when every block is in use.
  std::optional<std::int32_t> allocate();
  // Takes `n` blocks at once, or none (prepare, then commit).
  bool allocate_n(std::int32_t n, std::vector<std::int32_t>* out);
  // One more holder of an in-use or cached block (a cached block leaves the LRU).
  void retain(std::int32_t block);
  // One holder fewer; at zero the block becomes cached (when registered) or free.
  void release(std::int32_t block);
  std::int32_t ref(std::int32_t block) const { return ref_[static_cast<std::size_t>(block)]; }

  // The registered block with this hash, if any (counts a lookup and maybe a hit).
  std::optional<std::int32_t> lookup(BlockHash hash);
  // Registers a full, in-use block under `hash`. If another block already holds that hash, the
  // index keeps the existing one and this block stays unregistered (returns false).
  bool register_block(std::int32_t block, BlockHash hash);
  bool is_registered(std::int32_t block) const { return hash_of_[static_cast<std::size_t>(block)].has_value(); }

 private:
  void unregister(std::int32_t block);

  std::int32_t n_blocks_;
  std::int32_t block_size_;
  std::vector<std::int32_t> ref_;
  std::vector<std::optional<BlockHash>> hash_of_;
  std::vector<std::int32_t> free_;                 // a stack: recently freed blocks first
  std::list<std::int32_t> lru_;                    // cached blocks, least recently used at the front
  std::vector<std::list<std::int32_t>::iterator> lru_pos_;
  std::vector<bool> in_lru_;
  std::unordered_map<BlockHash, std::int32_t> index_;
  BlockPoolStats stats_;
};

}  // namespace parley
