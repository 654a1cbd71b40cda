#include "engine/kv_manager.h"

#include <algorithm>

#include "base/check.h"

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
    }
    if (!hit) break;
    pool_.retain(hit->block);
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
    if (parent != kNoSerial) {
      // A duplicate of registered content stays private; its successors chain to that entry.
      serial =
          pool_.register_block(seq.blocks[static_cast<std::size_t>(b)], content(seq, b, parent)).value_or(kNoSerial);
    }
    seq.block_serials.push_back(serial);
  }
}

void KvManager::release(Sequence& seq) {
  // Last block first: it joins the LRU first and is evicted first, so a prefix loses its tail
  // before its head (a child without its parent could not be reached).
  for (auto it = seq.blocks.rbegin(); it != seq.blocks.rend(); ++it) pool_.release(*it);
  seq.blocks.clear();
  seq.block_serials.clear();
  seq.n_computed = 0;
}

}  // namespace parley
