// GgufWriter: builds a GGUF v3 file: metadata in insertion order, then tensor infos, then the
// aligned tensor data. Output is deterministic (same calls, same bytes). Tensor data is produced
// by a callback at write time, one tensor at a time, so multi-gigabyte models are written without
// holding them in memory. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_value.h"
#include "tensor/tensor_type.h"

namespace parley {

class GgufWriter {
 public:
  // Fills `out` (exactly the tensor's byte size) with the tensor's data.
  using TensorFill = std::function<Status(std::span<std::byte> out)>;

  // Sets a key; a key set twice keeps its first position and takes the new value.
  // "general.alignment" sets the data alignment; writing fails unless it is a u32 power of two.
  void set(std::string_view key, GgufValue value);
  void set_string(std::string_view key, std::string v) { set(key, GgufValue::string(std::move(v))); }
  void set_u32(std::string_view key, std::uint32_t v) { set(key, GgufValue::u32(v)); }
  void set_i32(std::string_view key, std::int32_t v) { set(key, GgufValue::i32(v)); }
  void set_u64(std::string_view key, std::uint64_t v) { set(key, GgufValue::u64(v)); }
  void set_f32(std::string_view key, float v) { set(key, GgufValue::f32(v)); }
  void set_bool(std::string_view key, bool v) { set(key, GgufValue::boolean(v)); }

  // Declares a tensor. `shape` is in GGUF order (shape[0] = row length), 1 to 4 dimensions.
  // Fails on a duplicate name, a bad shape, or a row length that is not a multiple of the block.
  Status add_tensor(std::string name, TensorType type, std::vector<std::int64_t> shape, TensorFill fill);
  // Same, copying `data` now (small tensors, tests).
  Status add_tensor_bytes(std::string name, TensorType type, std::vector<std::int64_t> shape,
                          std::span<const std::byte> data);

  // Writes the file atomically: to `path`.tmp, fsync, then rename over `path`.
  Status write_file(const std::string& path) const;
  // The whole file in memory (tests, fuzz seeds).
  Result<std::vector<std::byte>> write_memory() const;

  std::size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<std::int64_t> shape;
    std::uint64_t n_bytes;
    TensorFill fill;
  };
  // Writes everything through `sink`, which appends bytes to the output.
  Status write(const std::function<Status(std::span<const std::byte>)>& sink) const;

  // The data alignment from general.alignment (default 32), or why it is invalid.
  Result<std::uint32_t> alignment() const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace parley
