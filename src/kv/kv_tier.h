// KvTier: where a KV block goes when the block pool evicts it, and where a prefix that misses the
// pool is looked for before it is recomputed. The engine's pool is the first tier (the memory the
// kernels read: host RAM on CPU, device memory on a GPU); a KvTier is the next one down. A GPU
// backend stacks them device -> host -> disk: a host-memory KvTier whose own evictions store()
// into a DiskKvTier, each level speaking this same interface.
//
// A block is opaque bytes of block_bytes() (any KV type, any layout: the format is part of the
// tier's identity and so of every key). It is named by a chained digest (TierDigest):
//   root       = BLAKE2b-256("parley-kv-root" | model identity | KV format)
//   digest(b)  = BLAKE2b-256("parley-kv-block" | digest(b-1) or root | scope id | tokens of b)
// so one digest names one exact prefix of one model with one KV format under one scope. The scope
// id is BLAKE2b-256 of the request's cache scope (kSharedTierScope for content declared public):
// equal tokens under two scopes are two different blocks, never shared.
//
// Threads: store(), contains() and load() are called by the engine thread; an implementation does
// its slow work (disk writes) elsewhere and never blocks the caller on it, except store() with
// wait = true (shutdown). Failure is a miss or a drop, never an error the request sees.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace parley {

using TierDigest = std::array<unsigned char, 32>;

// The scope id of content that any scope may reuse.
inline constexpr TierDigest kSharedTierScope{};

// What names and verifies one block in a tier.
struct TierBlock {
  TierDigest key;     // the chained digest of the block
  TierDigest parent;  // the chained digest of the block before it (the root for a first block)
  TierDigest scope;   // the scope id
  std::span<const std::int32_t> tokens;
};

struct KvTierStats {
  std::int64_t hits = 0;           // blocks loaded (verified)
  std::int64_t misses = 0;         // lookups that found nothing usable
  std::int64_t stored = 0;         // blocks accepted for writing
  std::int64_t bytes_written = 0;  // payload bytes written to the tier's medium
  std::int64_t bytes_read = 0;     // payload bytes loaded
  std::int64_t evictions = 0;      // blocks the tier dropped to stay within its bound
  std::int64_t write_drops = 0;    // blocks dropped because the write queue was full
  std::int64_t write_errors = 0;   // writes that failed (disk full, I/O error)
  std::int64_t rejected = 0;       // entries that failed verification (torn, foreign, corrupt)
  std::int64_t queued = 0;         // blocks accepted and not yet written
  std::int64_t blocks = 0;         // blocks held now
  std::int64_t bytes = 0;          // bytes held now (files included)
};

class KvTier {
 public:
  virtual ~KvTier() = default;
  // The size of every block this tier holds.
  virtual std::size_t block_bytes() const = 0;
  // The root of this tier's digest chains (model identity and KV format).
  virtual const TierDigest& root() const = 0;
  // Takes a copy of an evicted block (the caller may reuse its memory at once). false when it was
  // dropped (queue full, tier failing). wait: block until there is room (shutdown flushes).
  virtual bool store(const TierBlock& block, std::span<const std::byte> bytes, bool wait = false) = 0;
  // Whether a block named `key` may be loaded (a cheap index lookup; load() still verifies).
  virtual bool contains(const TierDigest& key) const = 0;
  // Reads the block named block.key into `out` (block_bytes()), verified against everything in
  // `block`; false on a miss or a failed verification (the entry is then forgotten).
  virtual bool load(const TierBlock& block, std::span<std::byte> out) = 0;
  virtual KvTierStats stats() const = 0;
};

// The chain's root for a model identity and a KV format (e.g. "f16/22x4x64/16").
TierDigest tier_root(const TierDigest& model_id, std::string_view kv_format);
// The scope id of a request's cache scope (never kSharedTierScope).
TierDigest tier_scope_id(std::string_view cache_scope);
// The digest of a block after `parent` (a digest or the root).
TierDigest tier_block_digest(const TierDigest& parent, const TierDigest& scope, std::span<const std::int32_t> tokens);
// BLAKE2b-256 of some bytes (identities, checksums).
TierDigest tier_hash(std::span<const std::byte> bytes);
// Lower-case hex of a digest (file names).
std::string tier_hex(const TierDigest& d);

}  // namespace parley
