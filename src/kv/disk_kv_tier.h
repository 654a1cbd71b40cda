// DiskKvTier: a KvTier in files, one per block, in a directory of the data directory, bounded in
// bytes (least recently used files go first) and surviving restarts.
//
// Layout: <dir>/<first 16 bytes of the root, hex>/<key hex>.kvb, one directory per model identity
// and KV format; directories 0700, files 0600. A file is
//   header  magic "PKVT", version, root, key, parent, scope, block size, payload bytes
//   tokens  the block's token ids
//   payload the block's bytes
//   trailer BLAKE2b-256 of everything before it
// written to a temporary name and renamed into place (a crash leaves a temporary file or none).
//
// Writes: store() copies the block into a bounded queue (max_queue_bytes) and returns; one writer
// thread writes the files and evicts. When the queue is full the block is dropped (counted); when
// a write fails (disk full, I/O error) the block is dropped with one log line per run of failures,
// and requests recompute. A block still in the queue is served from the queue.
// Reads: load() reads and verifies on the calling thread (root, key, parent, scope, tokens,
// payload size and checksum); anything that does not verify is deleted and counted, never used.
// Start: open() rebuilds the index from the files' headers (LRU order from their modification
// times); temporary files and files whose header does not verify are deleted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "kv/kv_tier.h"

namespace parley {

struct DiskKvTierOptions {
  std::string dir;                                   // created (0700) when missing
  std::uint64_t max_bytes = std::uint64_t{8} << 30;  // files kept, at most
  std::uint64_t max_queue_bytes = std::uint64_t{64} << 20;
  TierDigest root{};  // tier_root(model identity, KV format)
  std::size_t block_bytes = 0;
  std::int32_t block_size = 0;  // tokens per block
  // Tests: the writer thread calls this before writing each queued block (to hold the writer).
  std::function<void()> before_write;
};

class DiskKvTier final : public KvTier {
 public:
  static Result<std::unique_ptr<DiskKvTier>> open(const DiskKvTierOptions& options);
  // Writes what is queued, then stops the writer.
  ~DiskKvTier() override;

  std::size_t block_bytes() const override { return o_.block_bytes; }
  const TierDigest& root() const override { return o_.root; }
  bool store(const TierBlock& block, std::span<const std::byte> bytes, bool wait = false) override;
  bool contains(const TierDigest& key) const override;
  bool load(const TierBlock& block, std::span<std::byte> out) override;
  KvTierStats stats() const override;
  // The directory holding this tier's files.
  const std::string& path() const { return path_; }
  // Blocks until the queue is empty (tests, shutdown).
  void flush();

 private:
  struct Job {
    TierBlock meta;
    std::vector<std::int32_t> tokens;
    std::vector<std::byte> bytes;
  };
  struct Entry {
    std::uint64_t bytes = 0;
    std::list<TierDigest>::iterator lru;
  };
  explicit DiskKvTier(const DiskKvTierOptions& o) : o_(o) {}
  Status scan();
  void writer();
  bool write_file(const Job& job);
  std::string file_of(const TierDigest& key) const;
  void add_entry_locked(const TierDigest& key, std::uint64_t bytes);
  void forget_locked(const TierDigest& key, bool count_eviction);
  std::uint64_t file_bytes() const;

  DiskKvTierOptions o_;
  std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // the writer waits for jobs
  std::condition_variable room_cv_;  // store(wait) and flush() wait for room / an empty queue
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<TierDigest, std::shared_ptr<Job>> pending_;  // queued or being written
  std::uint64_t queued_bytes_ = 0;
  std::map<TierDigest, Entry> index_;
  std::list<TierDigest> lru_;  // least recently used first
  std::uint64_t total_bytes_ = 0;
  bool failing_ = false;  // the last write failed (logged once)
  bool stop_ = false;
  KvTierStats stats_;
  std::thread thread_;
};

}  // namespace parley
