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
// Prefix index. A full block's content is (parent, scope, tokens):
//   parent   the serial of the index entry that holds the block before it (kRootSerial for a
//            sequence's first block). Serials are handed out once per registration and never
//            reused, so a serial names one exact prefix: the chain of entries back to the root.
//   scope    kSharedScope for content declared public, else the request's scope key
//            (scope_key()): equal tokens under different scopes are different content, so one
//            tenant can never hit (and so never detect) what another tenant sent.
//   tokens   the block's block_size token ids.
// Entries are found by a 64-bit SipHash-2-4 of the content under a secret random key drawn per
// pool, and every hit is verified against the stored content: a hash collision is a miss, never
// a wrong block. Nobody outside the process can compute a scope key or an index hash, so nobody
// can aim collisions at another scope's entries either.
// Cost of verification: per block, its tokens (4 bytes each), its parent serial and scope key
// (8 bytes each) and its own serial (8), i.e. 88 bytes for a block of 16 tokens, against
// hundreds of KiB of K/V in the block itself; per lookup, one comparison of that content.
//
// Registered blocks are immutable: writing into one needs copy-on-write (the engine copies it
// into a fresh block first).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley {

using BlockHash = std::uint64_t;
using BlockSerial = std::uint64_t;

// The parent of a sequence's first block.
inline constexpr BlockSerial kRootSerial = 0;
// A block whose content no index entry holds (it lost a hash collision): its successors are not
// registered either, since their parent cannot be named.
inline constexpr BlockSerial kNoSerial = ~BlockSerial{0};
// The scope of content declared shareable across scopes; scope_key() never returns it.
inline constexpr BlockHash kSharedScope = 0;

// What a full block holds, as the prefix index sees it.
struct BlockContent {
  BlockSerial parent = kRootSerial;
  BlockHash scope = kSharedScope;
  std::span<const std::int32_t> tokens;  // block_size() ids
};

// An index entry: the block and the serial that names its content.
struct CachedBlock {
  std::int32_t block = -1;
  BlockSerial serial = kNoSerial;
};

struct BlockPoolStats {
  std::int64_t lookups = 0;     // blocks looked up in the prefix index
  std::int64_t hits = 0;        // of which found (and verified)
  std::int64_t collisions = 0;  // index hashes that matched but whose content did not (misses)
  std::int64_t evictions = 0;   // cached blocks reused for new content
};

class BlockPool {
 public:
  // Draws the pool's secret key from the operating system's CSPRNG.
  BlockPool(std::int32_t n_blocks, std::int32_t block_size);

  std::int32_t n_blocks() const { return n_blocks_; }
  std::int32_t block_size() const { return block_size_; }
  // Blocks that allocate() can hand out: free plus cached.
  std::int32_t n_available() const { return static_cast<std::int32_t>(free_.size() + lru_.size()); }
  std::int32_t n_in_use() const { return n_blocks_ - n_available(); }
  std::int32_t n_cached() const { return static_cast<std::int32_t>(lru_.size()); }
  const BlockPoolStats& stats() const { return stats_; }

  // The key of an opaque cache scope ("" is a scope like any other): a keyed hash under this
  // pool's secret, never kSharedScope. Equal scopes give equal keys within one pool only.
  BlockHash scope_key(std::string_view scope) const;

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

  // The registered block holding exactly `content`, if any (counts a lookup and maybe a hit).
  std::optional<CachedBlock> lookup(const BlockContent& content);
  // Registers a full, in-use block as holding `content` and returns the serial that now names
  // that content: a new one, or the existing entry's when another block already holds the same
  // content (this block then stays unregistered: a private duplicate). nullopt when another
  // content owns the same index hash (a collision): the block stays unregistered.
  std::optional<BlockSerial> register_block(std::int32_t block, const BlockContent& content);
  bool is_registered(std::int32_t block) const { return serial_of_[static_cast<std::size_t>(block)] != kNoSerial; }

  // Called by allocate() with the cached block it is about to evict, before the block leaves the
  // index (its content is still intact and tokens_of() still names it): the hook for a lower
  // KV tier (kv/kv_tier.h) to copy the block out before it is reused.
  using EvictFn = std::function<void(std::int32_t block)>;
  void set_evict_listener(EvictFn fn) { on_evict_ = std::move(fn); }
  // The tokens a registered block holds.
  std::span<const std::int32_t> tokens_of(std::int32_t block) const {
    return std::span<const std::int32_t>(tokens_).subspan(
        static_cast<std::size_t>(block) * static_cast<std::size_t>(block_size_), static_cast<std::size_t>(block_size_));
  }

  // Tests only: replaces the index hash (e.g. by a constant, to force collisions).
  using HashFn = std::function<BlockHash(const BlockContent&)>;
  void set_hash_for_testing(HashFn fn) { hash_for_testing_ = std::move(fn); }

 private:
  BlockHash index_hash(const BlockContent& content);
  bool holds(std::int32_t block, const BlockContent& content) const;
  void unregister(std::int32_t block);

  std::int32_t n_blocks_;
  std::int32_t block_size_;
  std::array<unsigned char, 16> secret_{};  // SipHash key, random per pool
  std::vector<unsigned char> scratch_;      // the bytes hashed for one lookup
  std::vector<std::int32_t> ref_;
  // Per block, the content it is registered with (valid while serial_of_ != kNoSerial).
  std::vector<BlockSerial> serial_of_;
  std::vector<BlockHash> hash_of_;
  std::vector<BlockSerial> parent_of_;
  std::vector<BlockHash> scope_of_;
  std::vector<std::int32_t> tokens_;  // [n_blocks, block_size]
  BlockSerial next_serial_ = kRootSerial + 1;
  std::vector<std::int32_t> free_;  // a stack: recently freed blocks first
  std::list<std::int32_t> lru_;     // cached blocks, least recently used at the front
  std::vector<std::list<std::int32_t>::iterator> lru_pos_;
  std::vector<bool> in_lru_;
  std::unordered_map<BlockHash, std::int32_t> index_;
  HashFn hash_for_testing_;
  EvictFn on_evict_;
  BlockPoolStats stats_;
};

}  // namespace parley
