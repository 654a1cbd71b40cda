#include "tensor/tensor_type.h"

#include <array>
#include <cctype>

#include "tensor/blocks.h"

namespace parley {
namespace {

// Sizes follow the block structs in tensor/blocks.h (static_asserts there keep them in sync).
constexpr TensorTypeInfo kInfos[] = {
    {TensorType::kF32, "f32", 1, 4, false, true},
    {TensorType::kF16, "f16", 1, 2, false, true},
    {TensorType::kQ4_0, "q4_0", 32, 18, true, true},
    {TensorType::kQ4_1, "q4_1", 32, 20, true, true},
    {TensorType::kQ5_0, "q5_0", 32, 22, true, true},
    {TensorType::kQ5_1, "q5_1", 32, 24, true, true},
    {TensorType::kQ8_0, "q8_0", 32, 34, true, true},
    {TensorType::kQ8_1, "q8_1", 32, 36, true, false},
    {TensorType::kQ2_K, "q2_k", 256, 84, true, true},
    {TensorType::kQ3_K, "q3_k", 256, 110, true, true},
    {TensorType::kQ4_K, "q4_k", 256, 144, true, true},
    {TensorType::kQ5_K, "q5_k", 256, 176, true, true},
    {TensorType::kQ6_K, "q6_k", 256, 210, true, true},
    {TensorType::kQ8_K, "q8_k", 256, 292, true, false},
    {TensorType::kIQ2_XXS, "iq2_xxs", 256, 66, true, false},
    {TensorType::kIQ2_XS, "iq2_xs", 256, 74, true, false},
    {TensorType::kIQ3_XXS, "iq3_xxs", 256, 98, true, false},
    {TensorType::kIQ1_S, "iq1_s", 256, 50, true, false},
    {TensorType::kIQ4_NL, "iq4_nl", 32, 18, true, false},
    {TensorType::kIQ3_S, "iq3_s", 256, 110, true, false},
    {TensorType::kIQ2_S, "iq2_s", 256, 82, true, false},
    {TensorType::kIQ4_XS, "iq4_xs", 256, 136, true, false},
    {TensorType::kI8, "i8", 1, 1, false, false},
    {TensorType::kI16, "i16", 1, 2, false, false},
    {TensorType::kI32, "i32", 1, 4, false, false},
    {TensorType::kI64, "i64", 1, 8, false, false},
    {TensorType::kF64, "f64", 1, 8, false, false},
    {TensorType::kIQ1_M, "iq1_m", 256, 56, true, false},
    {TensorType::kBF16, "bf16", 1, 2, false, true},
    {TensorType::kTQ1_0, "tq1_0", 256, 54, true, false},
    {TensorType::kTQ2_0, "tq2_0", 256, 66, true, false},
};

constexpr std::uint32_t kMaxId = 35;

constexpr std::array<const TensorTypeInfo*, kMaxId + 1> make_index() {
  std::array<const TensorTypeInfo*, kMaxId + 1> index{};
  for (const auto& info : kInfos) index[static_cast<std::uint32_t>(info.type)] = &info;
  return index;
}
constexpr auto kIndex = make_index();

constexpr bool block_bytes_is(TensorType type, std::size_t bytes) {
  return kIndex[static_cast<std::uint32_t>(type)]->block_bytes == bytes;
}
// The table must agree with the structs that read the blocks.
static_assert(block_bytes_is(TensorType::kF16, sizeof(fp16_t)));
static_assert(block_bytes_is(TensorType::kBF16, sizeof(bf16_t)));
static_assert(block_bytes_is(TensorType::kQ4_0, sizeof(BlockQ4_0)));
static_assert(block_bytes_is(TensorType::kQ4_1, sizeof(BlockQ4_1)));
static_assert(block_bytes_is(TensorType::kQ5_0, sizeof(BlockQ5_0)));
static_assert(block_bytes_is(TensorType::kQ5_1, sizeof(BlockQ5_1)));
static_assert(block_bytes_is(TensorType::kQ8_0, sizeof(BlockQ8_0)));
static_assert(block_bytes_is(TensorType::kQ8_1, sizeof(BlockQ8_1)));
static_assert(block_bytes_is(TensorType::kQ2_K, sizeof(BlockQ2K)));
static_assert(block_bytes_is(TensorType::kQ3_K, sizeof(BlockQ3K)));
static_assert(block_bytes_is(TensorType::kQ4_K, sizeof(BlockQ4K)));
static_assert(block_bytes_is(TensorType::kQ5_K, sizeof(BlockQ5K)));
static_assert(block_bytes_is(TensorType::kQ6_K, sizeof(BlockQ6K)));
static_assert(block_bytes_is(TensorType::kQ8_K, sizeof(BlockQ8K)));

}  // namespace

const TensorTypeInfo* tensor_type_info(std::uint32_t id) { return id <= kMaxId ? kIndex[id] : nullptr; }

const TensorTypeInfo& tensor_type_info(TensorType type) {
  const TensorTypeInfo* info = tensor_type_info(static_cast<std::uint32_t>(type));
  CHECK(info != nullptr, "unknown tensor type id {}", static_cast<std::uint32_t>(type));
  return *info;
}

Result<TensorType> parse_tensor_type(std::string_view name) {
  for (const auto& info : kInfos) {
    if (info.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = info.name[i] == std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return info.type;
  }
  return invalid_argument_error("unknown tensor type '{}'", name);
}

Result<std::size_t> tensor_row_bytes(TensorType type, std::int64_t n) {
  const TensorTypeInfo& info = tensor_type_info(type);
  if (n < 0) return invalid_argument_error("negative element count {}", n);
  if (n % info.block_size != 0) {
    return invalid_argument_error("{} elements is not a multiple of the {} block size {}", n, info.name,
                                  info.block_size);
  }
  const auto blocks = static_cast<std::uint64_t>(n / info.block_size);
  if (blocks > (std::uint64_t{1} << 62) / info.block_bytes) {
    return out_of_range_error("row of {} {} elements is too large", n, info.name);
  }
  return static_cast<std::size_t>(blocks * info.block_bytes);
}

}  // namespace parley
