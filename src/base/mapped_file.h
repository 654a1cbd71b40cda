// MappedFile: a read-only memory map of a whole file (RAII, move-only). Model files are opened
// this way so that tensor data is never copied: views point straight into the mapping.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/result.h"

namespace parley {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file gives an empty span (mmap of length 0 is not allowed).
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the resident pages of the whole pages inside `range` (a part of bytes()) from this
  // process (madvise MADV_DONTNEED): for data that was copied elsewhere and is no longer read.
  // The mapping stays valid; a later read faults the pages in again from the file.
  void release(std::span<const std::byte> range) const;

 private:
  void reset();
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace parley
