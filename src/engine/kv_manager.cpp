#include "engine/kv_manager.h"

#include <algorithm>

#include "base/check.h"
#include "engine/step_runner.h"

namespace parley {

BlockContent KvManager::content(const Sequence& seq, std::int32_t b, BlockSerial parent) const {
  const std::int32_t bs = block_size();
  // Only a block wholly inside the shared leading tokens is public; one that holds a private
  // token too would reveal it.
  const BlockHash scope = (b + 1) * bs <= seq.n_shared ? kSharedScope : seq.cache_scope_key;
  return {parent, scope,
          std::span<const TokenId>(seq.tokens).subspan(static_cast<std::size_t>(b * bs), static_cast<std::size_t>(bs))};
}

std::int32_t KvManager::match_prefix(Sequence& seq) {
  CHECK(seq.blocks.empty() && seq.n_computed == 0, "prefix match on a sequence that has blocks");
  const std::int32_t bs = block_size();
  const auto n_tokens = static_cast<std::int32_t>(seq.tokens.size());
  BlockSerial parent = kRootSerial;
  for (std::int32_t b = 0; (b + 1) * bs <= n_tokens; ++b) {
    BlockContent c = content(seq, b, parent);
    std::optional<CachedBlock> hit = pool_.lookup(c);
    if (!hit && c.scope != kSharedScope) {
      // Content that another request declared public is public: any scope may reuse it.
      c.scope = kSharedScope;
      hit = pool_.lookup(c);
      if (!hit) c.scope = seq.cache_scope_key;
    }
    if (hit) {
      pool_.retain(hit->block);
      if (tier_ != nullptr) {
        const TierDigest up = b == 0 ? tier_->root() : seq.tier_digests.back();
        seq.tier_digests.push_back(tier_block_digest(up, tier_scope(seq, c.scope), c.tokens));
      }
    } else if (tier_ != nullptr) {
      hit = load_from_tier(seq, b, parent);  // registered, ref 1, digest recorded
    }
    if (!hit) break;
    seq.blocks.push_back(hit->block);
    seq.block_serials.push_back(hit->serial);
    parent = hit->serial;
  }
  const auto hit_tokens = static_cast<std::int32_t>(seq.blocks.size()) * bs;
  seq.n_computed = std::min(hit_tokens, n_tokens - 1);
  return seq.n_computed;
}

bool KvManager::must_copy(const Sequence& seq) const {
  // The next write lands in an existing block only when the computed tokens end inside it
  // (after a prefix hit that covered every token); a shared or cached block is immutable.
  const auto idx = static_cast<std::size_t>(seq.n_computed / block_size());
  if (idx >= seq.blocks.size()) return false;
  const std::int32_t b = seq.blocks[idx];
  return pool_.ref(b) > 1 || pool_.is_registered(b);
}

std::int32_t KvManager::blocks_needed(const Sequence& seq, std::int32_t n) const {
  const std::int32_t bs = block_size();
  const std::int32_t total = (seq.n_computed + n + bs - 1) / bs;
  return std::max(0, total - static_cast<std::int32_t>(seq.blocks.size())) + (must_copy(seq) ? 1 : 0);
}

bool KvManager::prepare(Sequence& seq, std::int32_t n, std::vector<BlockCopy>* copies) {
  const std::int32_t need = blocks_needed(seq, n);
  if (need > pool_.n_available()) return false;
  if (must_copy(seq)) {
    const auto idx = static_cast<std::size_t>(seq.n_computed / block_size());
    const std::int32_t copy = *pool_.allocate();
    copies->push_back({seq.blocks[idx], copy});
    pool_.release(seq.blocks[idx]);
    seq.blocks[idx] = copy;
  }
  const std::int32_t bs = block_size();
  const std::int32_t total = (seq.n_computed + n + bs - 1) / bs;
  while (static_cast<std::int32_t>(seq.blocks.size()) < total) seq.blocks.push_back(*pool_.allocate());
  return true;
}

void KvManager::commit(Sequence& seq, std::int32_t n) {
  seq.n_computed += n;
  CHECK(seq.n_computed <= static_cast<std::int32_t>(seq.tokens.size()));
  const std::int32_t bs = block_size();
  while ((static_cast<std::int32_t>(seq.block_serials.size()) + 1) * bs <= seq.n_computed) {
    const auto b = static_cast<std::int32_t>(seq.block_serials.size());
    const BlockSerial parent = b == 0 ? kRootSerial : seq.block_serials.back();
    BlockSerial serial = kNoSerial;
    const std::int32_t block = seq.blocks[static_cast<std::size_t>(b)];
    const BlockContent c = content(seq, b, parent);
    const bool was_registered = pool_.is_registered(block);
    if (parent != kNoSerial) {
      // A duplicate of registered content stays private; its successors chain to that entry.
      serial = pool_.register_block(block, c).value_or(kNoSerial);
    }
    seq.block_serials.push_back(serial);
    if (tier_ != nullptr) {
      const TierDigest up = b == 0 ? tier_->root() : seq.tier_digests.back();
      const TierDigest scope = tier_scope(seq, c.scope);
      seq.tier_digests.push_back(tier_block_digest(up, scope, c.tokens));
      if (!was_registered && pool_.is_registered(block)) {
        tier_meta_[static_cast<std::size_t>(block)] = {true, seq.tier_digests.back(), up, scope};
      }
    }
  }
}

void KvManager::release(Sequence& seq) {
  // Last block first: it joins the LRU first and is evicted first, so a prefix loses its tail
  // before its head (a child without its parent could not be reached).
  for (auto it = seq.blocks.rbegin(); it != seq.blocks.rend(); ++it) pool_.release(*it);
  seq.blocks.clear();
  seq.block_serials.clear();
  seq.tier_digests.clear();
  seq.n_computed = 0;
}

KvManager::~KvManager() {
  if (tier_ != nullptr) pool_.set_evict_listener(nullptr);
}

void KvManager::attach_tier(KvTier* tier, StepRunner* io) {
  CHECK(tier != nullptr && io != nullptr && io->block_bytes() == tier->block_bytes(),
        "the KV tier's block size does not match the cache's");
  tier_ = tier;
  io_ = io;
  tier_meta_.assign(static_cast<std::size_t>(pool_.n_blocks()), TierMeta{});
  scratch_.resize(tier->block_bytes());
  pool_.set_evict_listener([this](std::int32_t block) { on_evict(block); });
}

void KvManager::on_evict(std::int32_t block) {
  TierMeta& m = tier_meta_[static_cast<std::size_t>(block)];
  if (!m.valid) return;
  m.valid = false;
  io_->read_block(block, scratch_);
  tier_->store({m.key, m.parent, m.scope, pool_.tokens_of(block)}, scratch_);
}

std::optional<CachedBlock> KvManager::load_from_tier(Sequence& seq, std::int32_t b, BlockSerial parent) {
  BlockContent c = content(seq, b, parent);
  const TierDigest up = b == 0 ? tier_->root() : seq.tier_digests.back();
  TierDigest scope = tier_scope(seq, c.scope);
  TierDigest key = tier_block_digest(up, scope, c.tokens);
  if (!tier_->contains(key) && c.scope != kSharedScope) {
    c.scope = kSharedScope;  // as in the pool: public content is public
    scope = kSharedTierScope;
    key = tier_block_digest(up, scope, c.tokens);
    if (!tier_->contains(key)) return std::nullopt;
  } else if (!tier_->contains(key)) {
    return std::nullopt;
  }
  const std::optional<std::int32_t> block = pool_.allocate();  // may evict (and store) another block
  if (!block) return std::nullopt;
  if (!tier_->load({key, up, scope, c.tokens}, scratch_)) {
    pool_.release(*block);
    return std::nullopt;
  }
  io_->write_block(*block, scratch_);
  const std::optional<BlockSerial> serial = pool_.register_block(*block, c);
  if (!serial || !pool_.is_registered(*block)) {
    pool_.release(*block);
    return std::nullopt;
  }
  tier_meta_[static_cast<std::size_t>(*block)] = {true, key, up, scope};
  seq.tier_digests.push_back(key);
  return CachedBlock{*block, *serial};
}

void KvManager::flush_to_tier() {
  if (tier_ == nullptr) return;
  for (std::int32_t b = 0; b < pool_.n_blocks(); ++b) {
    TierMeta& m = tier_meta_[static_cast<std::size_t>(b)];
    if (!m.valid || !pool_.is_registered(b)) continue;
    io_->read_block(b, scratch_);
    tier_->store({m.key, m.parent, m.scope, pool_.tokens_of(b)}, scratch_, /*wait=*/true);
  }
}

}  // namespace parley
