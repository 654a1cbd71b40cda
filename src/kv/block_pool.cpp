#include "kv/block_pool.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace parley {
namespace {

// Domain tags: a scope name and a block's content are never hashed as the same bytes.
constexpr unsigned char kScopeTag = 'S';
constexpr unsigned char kBlockTag = 'B';

BlockHash siphash(const std::array<unsigned char, 16>& key, const unsigned char* data, std::size_t n) {
  static_assert(crypto_shorthash_siphash24_BYTES == sizeof(BlockHash));
  static_assert(crypto_shorthash_siphash24_KEYBYTES == 16);
  BlockHash h = 0;
  crypto_shorthash_siphash24(reinterpret_cast<unsigned char*>(&h), data, n, key.data());
  return h;
}

void put_u64(unsigned char* at, std::uint64_t v) {
  std::memcpy(at, &v, sizeof(v));
}

}  // namespace

BlockPool::BlockPool(std::int32_t n_blocks, std::int32_t block_size)
    : n_blocks_(n_blocks),
      block_size_(block_size),
      ref_(static_cast<std::size_t>(n_blocks), 0),
      serial_of_(static_cast<std::size_t>(n_blocks), kNoSerial),
      hash_of_(static_cast<std::size_t>(n_blocks), 0),
      parent_of_(static_cast<std::size_t>(n_blocks), kRootSerial),
      scope_of_(static_cast<std::size_t>(n_blocks), kSharedScope),
      tokens_(static_cast<std::size_t>(n_blocks) * static_cast<std::size_t>(block_size), 0),
      lru_pos_(static_cast<std::size_t>(n_blocks)),
      in_lru_(static_cast<std::size_t>(n_blocks), false) {
  CHECK(n_blocks > 0 && block_size > 0);
  // sodium_init() is idempotent and thread-safe; it makes sure the random source is usable.
  CHECK(sodium_init() >= 0, "libsodium failed to initialize (no usable random source?)");
  randombytes_buf(secret_.data(), secret_.size());
  scratch_.resize(1 + 2 * sizeof(std::uint64_t) + static_cast<std::size_t>(block_size) * sizeof(std::int32_t));
  free_.reserve(static_cast<std::size_t>(n_blocks));
  for (std::int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

BlockHash BlockPool::scope_key(std::string_view scope) const {
  std::vector<unsigned char> bytes(1 + scope.size());
  bytes[0] = kScopeTag;
  std::memcpy(bytes.data() + 1, scope.data(), scope.size());
  const BlockHash k = siphash(secret_, bytes.data(), bytes.size());
  return k == kSharedScope ? kSharedScope + 1 : k;
}

BlockHash BlockPool::index_hash(const BlockContent& content) {
  CHECK(static_cast<std::int32_t>(content.tokens.size()) == block_size_, "a block holds {} tokens, not {}", block_size_,
        content.tokens.size());
  if (hash_for_testing_) return hash_for_testing_(content);
  unsigned char* p = scratch_.data();
  *p++ = kBlockTag;
  put_u64(p, content.parent);
  put_u64(p + 8, content.scope);
  std::memcpy(p + 16, content.tokens.data(), content.tokens.size_bytes());
  return siphash(secret_, scratch_.data(), scratch_.size());
}

bool BlockPool::holds(std::int32_t block, const BlockContent& content) const {
  const auto b = static_cast<std::size_t>(block);
  if (serial_of_[b] == kNoSerial || parent_of_[b] != content.parent || scope_of_[b] != content.scope) return false;
  const auto first = tokens_.begin() + static_cast<std::ptrdiff_t>(b * static_cast<std::size_t>(block_size_));
  return std::equal(content.tokens.begin(), content.tokens.end(), first);
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
    if (on_evict_) on_evict_(b);
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
  if (is_registered(block)) {
    lru_.push_back(block);
    lru_pos_[static_cast<std::size_t>(block)] = std::prev(lru_.end());
    in_lru_[static_cast<std::size_t>(block)] = true;
  } else {
    free_.push_back(block);
  }
}

std::optional<CachedBlock> BlockPool::lookup(const BlockContent& content) {
  ++stats_.lookups;
  const auto it = index_.find(index_hash(content));
  if (it == index_.end()) return std::nullopt;
  if (!holds(it->second, content)) {
    ++stats_.collisions;
    return std::nullopt;
  }
  ++stats_.hits;
  return CachedBlock{it->second, serial_of_[static_cast<std::size_t>(it->second)]};
}

std::optional<BlockSerial> BlockPool::register_block(std::int32_t block, const BlockContent& content) {
  const auto b = static_cast<std::size_t>(block);
  CHECK(ref_[b] > 0, "registering block {} that is not in use", block);
  if (is_registered(block)) return holds(block, content) ? std::optional<BlockSerial>(serial_of_[b]) : std::nullopt;
  const BlockHash h = index_hash(content);
  const auto [it, inserted] = index_.emplace(h, block);
  if (!inserted) {
    if (holds(it->second, content)) return serial_of_[static_cast<std::size_t>(it->second)];
    ++stats_.collisions;
    return std::nullopt;
  }
  serial_of_[b] = next_serial_++;
  hash_of_[b] = h;
  parent_of_[b] = content.parent;
  scope_of_[b] = content.scope;
  std::copy(content.tokens.begin(), content.tokens.end(),
            tokens_.begin() + static_cast<std::ptrdiff_t>(b * static_cast<std::size_t>(block_size_)));
  return serial_of_[b];
}

void BlockPool::unregister(std::int32_t block) {
  const auto b = static_cast<std::size_t>(block);
  if (serial_of_[b] == kNoSerial) return;
  const auto it = index_.find(hash_of_[b]);
  if (it != index_.end() && it->second == block) index_.erase(it);
  serial_of_[b] = kNoSerial;
}

}  // namespace parley
