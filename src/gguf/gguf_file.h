// GgufFile: a read-only, memory-mapped GGUF (v2/v3) model file. Metadata is parsed and
// validated at open; tensor data is never copied: tensor_data() returns a view into the mapping.
//
// Every file is untrusted. open() bounds every count and length by the bytes that remain, caps
// nesting and sizes (GgufLimits), checks tensor types, shapes, alignment, bounds and overlap, and
// returns a Status naming the problem instead of crashing or allocating without bound.
//
// Thread safety: immutable after open(); any number of threads may read it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "gguf/gguf_value.h"
#include "tensor/tensor_type.h"

namespace parley {

inline constexpr std::uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr std::uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;

// Standard general.* keys (model- and tokenizer-specific keys live with their modules).
inline constexpr std::string_view kKeyGeneralArchitecture = "general.architecture";
inline constexpr std::string_view kKeyGeneralName = "general.name";
inline constexpr std::string_view kKeyGeneralAlignment = "general.alignment";
inline constexpr std::string_view kKeyGeneralFileType = "general.file_type";
inline constexpr std::string_view kKeyGeneralQuantizationVersion = "general.quantization_version";

struct GgufLimits {
  std::uint64_t max_tensors = 1u << 16;
  std::uint64_t max_metadata = 1u << 16;
  std::uint64_t max_array_elements = 1u << 26;
  std::uint64_t max_string_bytes = 1u << 26;
  std::uint64_t max_key_bytes = 1u << 12;
  std::uint64_t max_tensor_name_bytes = 256;
  int max_array_depth = 4;
  std::uint32_t max_alignment = 1u << 16;
};

struct GgufTensorInfo {
  std::string name;
  TensorType type = TensorType::kF32;
  int n_dims = 0;
  // ne[0] is the row length (fastest varying), as in GGUF; dimensions past n_dims are 1.
  std::array<std::int64_t, kGgufMaxDims> ne{1, 1, 1, 1};
  std::uint64_t offset = 0;  // from the start of the data section
  std::uint64_t n_bytes = 0;

  std::int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  std::int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  // "[2048, 32000]"
  std::string shape_string() const;
};

class GgufFile {
 public:
  // Maps and parses the file at `path`.
  static Result<std::unique_ptr<GgufFile>> open(const std::string& path, const GgufLimits& limits = {});

  // Parses a buffer the caller keeps alive for the lifetime of the result (tests, fuzzing).
  static Result<std::unique_ptr<GgufFile>> from_memory(std::span<const std::byte> bytes, const GgufLimits& limits = {});

  const std::string& path() const { return path_; }
  std::uint32_t version() const { return version_; }
  std::uint32_t alignment() const { return alignment_; }
  std::uint64_t file_size() const { return bytes_.size(); }
  std::uint64_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  // Typed accessors. Missing key: the default when given, else kNotFound. Wrong type or a value
  // that does not fit T: kInvalidArgument / kOutOfRange, with the key in the message.
  // T is one of bool, (u)int32_t, (u)int64_t, float, double, std::string_view, std::string.
  template <typename T>
  Result<T> get(std::string_view key) const;
  template <typename T>
  Result<T> get(std::string_view key, T fallback) const {
    if (!contains(key)) return fallback;
    return get<T>(key);
  }
  // An array value, optionally requiring its element type.
  Result<const GgufArray*> get_array(std::string_view key, std::optional<GgufValueType> elem_type = std::nullopt) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // The tensor's bytes inside the mapping.
  std::span<const std::byte> tensor_data(const GgufTensorInfo& info) const {
    return bytes_.subspan(data_offset_ + info.offset, info.n_bytes);
  }
  // Drops the whole pages of `range` (inside the mapping) from this process's resident memory
  // (MappedFile::release); nothing for a file parsed from memory.
  void release_pages(std::span<const std::byte> range) const { mapping_.release(range); }

 private:
  friend class GgufParser;
  GgufFile() = default;

  std::string path_;
  MappedFile mapping_;
  std::span<const std::byte> bytes_;
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = kGgufDefaultAlignment;
  std::uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string_view, std::size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, std::size_t> tensor_index_;
};

}  // namespace parley
