#include "engine/kv_tier_setup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/log.h"
#include "kv/disk_kv_tier.h"

namespace parley {
namespace {

constexpr std::uint64_t kSample = 64 << 10;

Status read_at(int fd, std::uint64_t offset, std::span<std::byte> out, const std::string& path) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read", path, errno);
    if (n == 0) return io_error("{}: unexpected end of file", path);
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

}  // namespace

Result<TierDigest> model_identity(const GgufFile& file) {
  const int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open", file.path(), errno);
  std::vector<std::byte> buf(static_cast<std::size_t>(std::max<std::uint64_t>(file.data_offset(), kSample)));
  std::vector<std::byte> parts;  // size, header, then the per-tensor samples' digests
  const std::uint64_t size = file.file_size();
  parts.resize(sizeof(size));
  std::memcpy(parts.data(), &size, sizeof(size));
  Status st = read_at(fd, 0, std::span(buf).first(static_cast<std::size_t>(file.data_offset())), file.path());
  if (st.ok()) parts.insert(parts.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(file.data_offset()));
  for (const GgufTensorInfo& t : file.tensors()) {
    if (!st.ok()) break;
    const std::uint64_t begin = file.data_offset() + t.offset;
    const std::uint64_t n = std::min(kSample, t.n_bytes);
    for (const std::uint64_t at : {begin, begin + (t.n_bytes - n) / 2, begin + t.n_bytes - n}) {
      st = read_at(fd, at, std::span(buf).first(static_cast<std::size_t>(n)), file.path());
      if (!st.ok()) break;
      const TierDigest d = tier_hash(std::span<const std::byte>(buf).first(static_cast<std::size_t>(n)));
      parts.insert(parts.end(), reinterpret_cast<const std::byte*>(d.data()),
                   reinterpret_cast<const std::byte*>(d.data()) + d.size());
    }
  }
  ::close(fd);
  RETURN_IF_ERROR(st);
  return tier_hash(parts);
}

std::string kv_format_name(const KvLayout& l, std::size_t block_bytes) {
  return fmt::format("{}/{}x{}x{}/{}/{}", tensor_type_name(l.type), l.n_layers, l.n_kv_heads, l.head_dim, l.block_size,
                     block_bytes);
}

Result<std::unique_ptr<KvTier>> open_disk_kv_tier(const GgufFile& file, const KvLayout& layout, std::size_t block_bytes,
                                                  const std::string& dir, std::uint64_t max_bytes) {
  ASSIGN_OR_RETURN(const TierDigest id, model_identity(file));
  DiskKvTierOptions o;
  o.dir = dir;
  o.max_bytes = max_bytes;
  o.root = tier_root(id, kv_format_name(layout, block_bytes));
  o.block_bytes = block_bytes;
  o.block_size = static_cast<std::int32_t>(layout.block_size);
  ASSIGN_OR_RETURN(std::unique_ptr<DiskKvTier> t, DiskKvTier::open(o));
  log_info("engine: KV disk tier {} ({:.1f} GiB at most, {} blocks there now)", t->path(),
           static_cast<double>(max_bytes) / (1 << 30), t->stats().blocks);
  return std::unique_ptr<KvTier>(std::move(t));
}

}  // namespace parley
