// KvManager: a sequence's KV blocks on top of the BlockPool: automatic prefix caching at
// admission, growing the block table as tokens are computed (copy-on-write where a shared or
// cached block would be written), registering full blocks for reuse, and releasing. Pure
// bookkeeping; the block copies it asks for are carried out by the step runner before the step.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/sequence.h"
#include "kv/block_pool.h"
#include "kv/kv_tier.h"

namespace parley {

struct BlockCopy {
  std::int32_t src;
  std::int32_t dst;
};

class StepRunner;

class KvManager {
 public:
  explicit KvManager(BlockPool& pool) : pool_(pool) {}
  ~KvManager();
  KvManager(const KvManager&) = delete;
  KvManager& operator=(const KvManager&) = delete;

  // Puts `tier` below the pool (kv/kv_tier.h): a cached block the pool evicts is first read
  // through `io` (synchronously, on the engine thread, before anything can write the block) and
  // handed to tier->store(), which copies it and writes it elsewhere; match_prefix() continues
  // in the tier where the pool misses and loads the blocks it finds (verified) through `io`.
  // Both outlive the manager; io->block_bytes() must equal tier->block_bytes().
  void attach_tier(KvTier* tier, StepRunner* io);
  KvTier* tier() const { return tier_; }
  // Shutdown: offers every block that holds registered content to the tier (waiting for room),
  // so that the conversations cached in the pool resume after a restart.
  void flush_to_tier();

  BlockPool& pool() { return pool_; }
  std::int32_t block_size() const { return pool_.block_size(); }

  // For a sequence without blocks: takes the longest run of its leading full blocks found in the
  // prefix index and marks them computed (at most all tokens but the last, whose logits are
  // needed). Returns the number of tokens served from the cache. A block within the sequence's
  // shared leading tokens is looked up (and later registered) under kSharedScope; any other
  // under the sequence's scope key, or else under kSharedScope (content someone declared
  // public). A sequence never sees another scope's blocks.
  std::int32_t match_prefix(Sequence& seq);

  // Blocks needed (from the pool) to compute `n` more tokens of `seq`, copy-on-write included.
  std::int32_t blocks_needed(const Sequence& seq, std::int32_t n) const;
  // Makes room for `n` more computed tokens: a private copy of a shared block that would be
  // written, and new blocks. All or nothing: false (and no change) when the pool is short.
  bool prepare(Sequence& seq, std::int32_t n, std::vector<BlockCopy>* copies);
  // After the step: `n` more tokens are computed; newly full blocks join the prefix index.
  void commit(Sequence& seq, std::int32_t n);
  // Gives every block back (registered ones stay cached for reuse).
  void release(Sequence& seq);

 private:
  bool must_copy(const Sequence& seq) const;
  // Block `b` of `seq` as the prefix index sees it, after the block named `parent`.
  BlockContent content(const Sequence& seq, std::int32_t b, BlockSerial parent) const;
  // The tier's id of the scope a block is cached under in the pool.
  TierDigest tier_scope(const Sequence& seq, BlockHash pool_scope) const {
    return pool_scope == kSharedScope ? kSharedTierScope : seq.tier_scope;
  }
  // Block `b` of `seq` from the tier, after the pool missed it: a fresh block holding the
  // verified bytes, registered (ref 1), or nullopt.
  std::optional<CachedBlock> load_from_tier(Sequence& seq, std::int32_t b, BlockSerial parent);
  void on_evict(std::int32_t block);

  // What a registered block is in the tier's terms (valid while the block holds that content).
  struct TierMeta {
    bool valid = false;
    TierDigest key{}, parent{}, scope{};
  };
  BlockPool& pool_;
  KvTier* tier_ = nullptr;
  StepRunner* io_ = nullptr;
  std::vector<TierMeta> tier_meta_;  // per block
  std::vector<std::byte> scratch_;   // one block's bytes
};

}  // namespace parley
