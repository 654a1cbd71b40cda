#include "kv/disk_kv_tier.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "base/log.h"

namespace parley {
namespace {

constexpr char kMagic[4] = {'P', 'K', 'V', 'T'};
constexpr std::uint32_t kVersion = 1;
constexpr std::string_view kSuffix = ".kvb";

struct FileHeader {
  char magic[4];
  std::uint32_t version;
  std::uint32_t block_size;
  std::uint32_t reserved;
  std::uint64_t payload_bytes;
  TierDigest root, key, parent, scope;
};
static_assert(sizeof(FileHeader) == 152);

std::uint64_t file_size_for(std::int32_t block_size, std::size_t block_bytes) {
  return sizeof(FileHeader) + static_cast<std::uint64_t>(block_size) * sizeof(std::int32_t) + block_bytes +
         sizeof(TierDigest);
}

// Reads exactly out.size() bytes at `offset`; false on a short read or an error.
bool read_at(int fd, std::span<std::byte> out, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::optional<TierDigest> parse_hex(std::string_view s) {
  TierDigest d{};
  if (s.size() != 2 * d.size()) return std::nullopt;
  const auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < d.size(); ++i) {
    const int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return d;
}

}  // namespace

Result<std::unique_ptr<DiskKvTier>> DiskKvTier::open(const DiskKvTierOptions& options) {
  if (options.block_bytes == 0 || options.block_size <= 0) return invalid_argument_error("KV tier: empty block format");
  if (options.dir.empty()) return invalid_argument_error("KV tier: no directory");
  if (sodium_init() < 0) return internal_error("libsodium failed to initialize");
  std::unique_ptr<DiskKvTier> t(new DiskKvTier(options));
  RETURN_IF_ERROR(t->scan());
  t->thread_ = std::thread([p = t.get()] { p->writer(); });
  return t;
}

DiskKvTier::~DiskKvTier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string DiskKvTier::file_of(const TierDigest& key) const {
  return path_ + "/" + tier_hex(key) + std::string(kSuffix);
}

std::uint64_t DiskKvTier::file_bytes() const {
  return file_size_for(o_.block_size, o_.block_bytes);
}

Status DiskKvTier::scan() {
  // One directory per model identity and KV format: 16 bytes of the root name it.
  path_ = o_.dir + "/" + tier_hex(o_.root).substr(0, 32);
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) return unavailable_error("KV tier: cannot create {}: {}", path_, ec.message());
  ::chmod(o_.dir.c_str(), 0700);
  ::chmod(path_.c_str(), 0700);
  struct Found {
    std::filesystem::file_time_type mtime;
    TierDigest key;
  };
  std::vector<Found> found;
  std::vector<std::filesystem::path> bad;
  for (const auto& e : std::filesystem::directory_iterator(path_, ec)) {
    const std::string name = e.path().filename().string();
    std::optional<TierDigest> key;
    if (name.ends_with(kSuffix)) key = parse_hex(std::string_view(name).substr(0, name.size() - kSuffix.size()));
    bool ok = key.has_value() && e.is_regular_file(ec) && e.file_size(ec) == file_bytes();
    if (ok) {
      const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      FileHeader h{};
      ok = fd >= 0 && read_at(fd, std::as_writable_bytes(std::span(&h, 1)), 0);
      if (fd >= 0) ::close(fd);
      ok = ok && std::memcmp(h.magic, kMagic, 4) == 0 && h.version == kVersion && h.root == o_.root && h.key == *key &&
           h.block_size == static_cast<std::uint32_t>(o_.block_size) && h.payload_bytes == o_.block_bytes;
    }
    if (ok) {
      found.push_back({e.last_write_time(ec), *key});
    } else {
      bad.push_back(e.path());
    }
  }
  if (ec) return unavailable_error("KV tier: cannot list {}: {}", path_, ec.message());
  for (const auto& p : bad) std::filesystem::remove(p, ec);  // torn, temporary or foreign: never trusted
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard<std::mutex> lock(mu_);
  stats_.rejected += static_cast<std::int64_t>(bad.size());
  for (const Found& f : found) add_entry_locked(f.key, file_bytes());
  if (!found.empty() || !bad.empty()) {
    log_info("KV tier {}: {} blocks ({:.1f} MiB) from a previous run, {} files skipped", path_, found.size(),
             static_cast<double>(total_bytes_) / (1 << 20), bad.size());
  }
  return ok_status();
}

void DiskKvTier::add_entry_locked(const TierDigest& key, std::uint64_t bytes) {
  if (index_.contains(key)) return;
  lru_.push_back(key);
  index_[key] = Entry{bytes, std::prev(lru_.end())};
  total_bytes_ += bytes;
  while (total_bytes_ > o_.max_bytes && !lru_.empty()) forget_locked(lru_.front(), true);
  stats_.blocks = static_cast<std::int64_t>(index_.size());
  stats_.bytes = static_cast<std::int64_t>(total_bytes_);
}

void DiskKvTier::forget_locked(const TierDigest& key, bool count_eviction) {
  const auto it = index_.find(key);
  if (it == index_.end()) return;
  ::unlink(file_of(key).c_str());
  total_bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  index_.erase(it);
  if (count_eviction) ++stats_.evictions;
  stats_.blocks = static_cast<std::int64_t>(index_.size());
  stats_.bytes = static_cast<std::int64_t>(total_bytes_);
}

bool DiskKvTier::store(const TierBlock& block, std::span<const std::byte> bytes, bool wait) {
  if (bytes.size() != o_.block_bytes || block.tokens.size() != static_cast<std::size_t>(o_.block_size)) return false;
  std::unique_lock<std::mutex> lock(mu_);
  if (const auto it = index_.find(block.key); it != index_.end()) {
    lru_.splice(lru_.end(), lru_, it->second.lru);  // already there: just recently used
    return true;
  }
  if (pending_.contains(block.key)) return true;
  if (queued_bytes_ + bytes.size() > o_.max_queue_bytes) {
    if (!wait) {
      ++stats_.write_drops;
      return false;
    }
    room_cv_.wait(lock, [&] { return queued_bytes_ + bytes.size() <= o_.max_queue_bytes || queue_.empty(); });
  }
  auto job = std::make_shared<Job>();
  job->tokens.assign(block.tokens.begin(), block.tokens.end());
  job->meta = block;
  job->meta.tokens = job->tokens;
  job->bytes.assign(bytes.begin(), bytes.end());
  queued_bytes_ += bytes.size();
  pending_[block.key] = job;
  queue_.push_back(std::move(job));
  ++stats_.stored;
  cv_.notify_one();
  return true;
}

bool DiskKvTier::contains(const TierDigest& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.contains(key) || pending_.contains(key);
}

void DiskKvTier::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  room_cv_.wait(lock, [&] { return pending_.empty(); });
}

void DiskKvTier::writer() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, everything written
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    if (o_.before_write) o_.before_write();
    const bool ok = write_file(*job);
    lock.lock();
    pending_.erase(job->meta.key);
    queued_bytes_ -= job->bytes.size();
    if (ok) {
      stats_.bytes_written += static_cast<std::int64_t>(job->bytes.size());
      add_entry_locked(job->meta.key, file_bytes());
      if (failing_) log_info("KV tier {}: writes succeed again", path_);
      failing_ = false;
    } else {
      ++stats_.write_errors;
    }
    room_cv_.notify_all();
  }
}

bool DiskKvTier::write_file(const Job& job) {
  const std::string final_path = file_of(job.meta.key);
  const std::string tmp = final_path + ".tmp" + std::to_string(::getpid());
  FileHeader h{};
  std::memcpy(h.magic, kMagic, 4);
  h.version = kVersion;
  h.block_size = static_cast<std::uint32_t>(o_.block_size);
  h.payload_bytes = job.bytes.size();
  h.root = o_.root;
  h.key = job.meta.key;
  h.parent = job.meta.parent;
  h.scope = job.meta.scope;
  TierDigest sum{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sum.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(&h), sizeof(h));
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(job.tokens.data()), job.tokens.size() * 4);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(job.bytes.data()), job.bytes.size());
  crypto_generichash_final(&st, sum.data(), sum.size());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  int err = ok ? 0 : errno;
  if (ok) {
    ok = write_all(fd, &h, sizeof(h)) && write_all(fd, job.tokens.data(), job.tokens.size() * 4) &&
         write_all(fd, job.bytes.data(), job.bytes.size()) && write_all(fd, sum.data(), sum.size());
    if (!ok) err = errno;
    if (::close(fd) != 0 && ok) {
      ok = false;
      err = errno;
    }
  }
  if (ok && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    std::lock_guard<std::mutex> lock(mu_);
    if (!failing_) {
      log_warn("KV tier {}: cannot write a block ({}); evicted blocks will be recomputed until writes succeed", path_,
               std::strerror(err));
    }
    failing_ = true;
  }
  return ok;
}

bool DiskKvTier::load(const TierBlock& block, std::span<std::byte> out) {
  if (out.size() != o_.block_bytes || block.tokens.size() != static_cast<std::size_t>(o_.block_size)) return false;
  const auto matches = [&](const TierBlock& m, std::span<const std::int32_t> tokens) {
    return m.key == block.key && m.parent == block.parent && m.scope == block.scope &&
           std::equal(tokens.begin(), tokens.end(), block.tokens.begin(), block.tokens.end());
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (const auto p = pending_.find(block.key); p != pending_.end()) {
      // Still queued: served from memory.
      const bool ok = matches(p->second->meta, p->second->tokens);
      if (ok) {
        std::copy(p->second->bytes.begin(), p->second->bytes.end(), out.begin());
        ++stats_.hits;
        stats_.bytes_read += static_cast<std::int64_t>(out.size());
      } else {
        ++stats_.misses;
      }
      return ok;
    }
    const auto it = index_.find(block.key);
    if (it == index_.end()) {
      ++stats_.misses;
      return false;
    }
    lru_.splice(lru_.end(), lru_, it->second.lru);
  }
  // Read and verify outside the lock (the writer may evict the file meanwhile: a miss).
  const int fd = ::open(file_of(block.key).c_str(), O_RDONLY | O_CLOEXEC);
  FileHeader h{};
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(o_.block_size));
  TierDigest stored{}, sum{};
  bool ok = fd >= 0;
  if (ok) {
    struct stat stt {};
    ok = ::fstat(fd, &stt) == 0 && static_cast<std::uint64_t>(stt.st_size) == file_bytes() &&
         read_at(fd, std::as_writable_bytes(std::span(&h, 1)), 0) &&
         read_at(fd, std::as_writable_bytes(std::span(tokens)), sizeof(h)) &&
         read_at(fd, out, sizeof(h) + tokens.size() * 4) &&
         read_at(fd, std::as_writable_bytes(std::span(stored)), sizeof(h) + tokens.size() * 4 + out.size());
    ::close(fd);
  }
  if (ok) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, sum.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(&h), sizeof(h));
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(tokens.data()), tokens.size() * 4);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(out.data()), out.size());
    crypto_generichash_final(&st, sum.data(), sum.size());
    TierBlock m{h.key, h.parent, h.scope, tokens};
    ok = sodium_memcmp(sum.data(), stored.data(), sum.size()) == 0 && std::memcmp(h.magic, kMagic, 4) == 0 &&
         h.version == kVersion && h.root == o_.root && h.payload_bytes == o_.block_bytes &&
         h.block_size == static_cast<std::uint32_t>(o_.block_size) && matches(m, tokens);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!ok) {
    if (fd >= 0) ++stats_.rejected;  // else the file is gone (evicted meanwhile): a plain miss
    forget_locked(block.key, false);
    ++stats_.misses;
    return false;
  }
  ++stats_.hits;
  stats_.bytes_read += static_cast<std::int64_t>(out.size());
  return true;
}

KvTierStats DiskKvTier::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  KvTierStats s = stats_;
  s.queued = static_cast<std::int64_t>(pending_.size());
  return s;
}

}  // namespace parley
