// StaticSite: the files, embedded or read from a directory without leaving it. The HTTP side
// (negotiation, caching headers, routes) is in static_site_http.cpp.
#include "gateway/static_site.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "auth/crypto.h"

namespace parley {
namespace {

// The same table as cmake/embed_web.mjs (StaticSite.EmbeddedContentTypesMatchTheServersTable).
constexpr std::pair<std::string_view, std::string_view> kContentTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".xml", "application/xml"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".avif", "image/avif"},
    {".ico", "image/x-icon"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".otf", "font/otf"},
    {".wasm", "application/wasm"},
};

constexpr std::size_t kPathBytesMax = 1024;
constexpr std::size_t kSegmentsMax = 32;
// Larger files are not served from a directory (a Vite build has none near this).
constexpr std::size_t kFileBytesMax = std::size_t{64} << 20;

// The segments of a relative path that may name a file, or kInvalidArgument.
Result<std::vector<std::string>> file_segments(std::string_view rel) {
  const auto invalid = [] { return invalid_argument_error("not a path of the site"); };
  if (rel.empty() || rel.size() > kPathBytesMax) return invalid();
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = rel.find('/', start);
    const std::string_view seg = rel.substr(start, slash == std::string_view::npos ? slash : slash - start);
    // Empty ("a//b", a leading '/': absolute), ".", ".." and hidden names; '\' (a separator
    // elsewhere) and NUL (ends a C string) never appear in a file of the site.
    if (seg.empty() || seg.front() == '.' || seg.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos) {
      return invalid();
    }
    out.emplace_back(seg);
    if (out.size() > kSegmentsMax) return invalid();
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The bytes of the regular file `segments` below `root`, opened one segment at a time with
// O_NOFOLLOW: no symbolic link below the root is followed, so nothing outside it is reachable.
Result<std::string> read_beneath(const std::string& root, const std::vector<std::string>& segments) {
  auto dir = std::make_unique<Fd>(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir->get() < 0) return errno_error("open the web directory", root, errno);
  const auto missing = [] { return not_found_error("no such file"); };
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    auto next = std::make_unique<Fd>(
        ::openat(dir->get(), segments[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next->get() < 0) return missing();
    dir = std::move(next);
  }
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not regular).
  const Fd file(::openat(dir->get(), segments.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (file.get() < 0) return missing();
  struct stat st {};
  if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) return missing();
  if (static_cast<std::uint64_t>(st.st_size) > kFileBytesMax) return missing();
  std::string bytes;
  bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read a file of the web directory", root, errno);
    if (n == 0) break;
    bytes.append(buf, static_cast<std::size_t>(n));
    if (bytes.size() > kFileBytesMax) return missing();
  }
  return bytes;
}

}  // namespace

std::string_view content_type_for(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const std::string_view ext = path.substr(dot);
  for (const auto& [e, type] : kContentTypes) {
    if (iequals(e, ext)) return type;
  }
  return "application/octet-stream";
}

StaticSite::StaticSite(std::span<const EmbeddedFile> files, std::string root) : files_(files), root_(std::move(root)) {
  for (const EmbeddedFile& f : files_) by_path_.emplace(f.path, &f);
}

std::shared_ptr<const StaticSite> StaticSite::embedded(std::span<const EmbeddedFile> files) {
  return std::make_shared<const StaticSite>(files, std::string());
}

Result<std::shared_ptr<const StaticSite>> StaticSite::directory(const std::string& root) {
  struct stat st {};
  if (root.empty() || ::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return invalid_argument_error("the web directory {} is not a directory", root);
  }
  return std::make_shared<const StaticSite>(std::span<const EmbeddedFile>(), root);
}

Status StaticSite::find(std::string_view rel, File* out) const {
  ASSIGN_OR_RETURN(const std::vector<std::string> segments, file_segments(rel));
  if (!reads_files()) {
    const auto it = by_path_.find(rel);
    if (it == by_path_.end()) return not_found_error("no such file");
    out->info = *it->second;
    return ok_status();
  }
  ASSIGN_OR_RETURN(out->storage, read_beneath(root_, segments));
  out->etag_storage = "\"" + auth::sha256_hex(out->storage).substr(0, 32) + "\"";
  out->info.path = rel;
  out->info.content_type = content_type_for(rel);
  out->info.bytes = out->storage;
  out->info.etag = out->etag_storage;
  out->info.immutable = rel.starts_with("assets/");
  return ok_status();
}

}  // namespace parley
