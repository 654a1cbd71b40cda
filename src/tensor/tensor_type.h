// TensorType: the element types of GGUF tensors (ids as in the GGUF/ggml format) and their block
// layouts. A row of n elements of a block type occupies n / block_size blocks of block_bytes each;
// n must be a multiple of block_size. The math on these types lives in tensor/quantize.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"

namespace parley {

enum class TensorType : std::uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  // 4 and 5 were Q4_2/Q4_3, removed from the format.
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  // 31..33 were the Q4_0_4_4 / Q4_0_4_8 / Q4_0_8_8 repacked layouts, removed from the format.
  kTQ1_0 = 34,
  kTQ2_0 = 35,
};

// Elements per super-block of the K-quants.
inline constexpr std::int64_t kQK_K = 256;

struct TensorTypeInfo {
  TensorType type;
  std::string_view name;     // lower-case GGUF name: "f32", "q4_k", "iq2_xxs", ...
  std::int64_t block_size;   // elements per block (1 for plain scalar types)
  std::size_t block_bytes;   // bytes per block
  bool quantized;            // a block-quantized type
  bool computable;           // Parley can dequantize it (tensor/quantize.h)
};

// Layout of a type id read from a file, or nullptr when the id is not a known GGUF type.
// Every id the format defines is known (so `model info` can describe any file), even those
// Parley cannot compute with (`computable == false`).
const TensorTypeInfo* tensor_type_info(std::uint32_t id);

// Layout of a known type (CHECKs that it is known).
const TensorTypeInfo& tensor_type_info(TensorType type);

inline std::string_view tensor_type_name(TensorType type) { return tensor_type_info(type).name; }

// Parses a type name, case-insensitively ("q4_k", "Q4_K", "bf16").
Result<TensorType> parse_tensor_type(std::string_view name);

// Bytes of a row of `n` elements, or an error when n is negative or not a multiple of the block
// size. Never overflows: fails for rows whose byte count would not fit in 62 bits.
Result<std::size_t> tensor_row_bytes(TensorType type, std::int64_t n);

}  // namespace parley
