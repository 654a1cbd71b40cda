#include "tensor/tensor_type.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <iterator>
#include <string>

#include "tensor/blocks.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

TEST(TensorTypeTest, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(parse_tensor_type("q4_k").value(), TensorType::kQ4_K);
  EXPECT_EQ(parse_tensor_type("Q4_K").value(), TensorType::kQ4_K);
  EXPECT_EQ(parse_tensor_type("BF16").value(), TensorType::kBF16);
  EXPECT_EQ(parse_tensor_type("iq2_xxs").value(), TensorType::kIQ2_XXS);
  for (const char* bad : {"", "q4", "q4_kk", "f8", "q4_k ", "Q4_2"}) {
    const Result<TensorType> r = parse_tensor_type(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(TensorTypeTest, EveryKnownIdRoundTripsThroughItsName) {
  int known = 0;
  for (std::uint32_t id = 0; id < 64; ++id) {
    const TensorTypeInfo* info = tensor_type_info(id);
    if (info == nullptr) continue;
    ++known;
    EXPECT_EQ(static_cast<std::uint32_t>(info->type), id);
    EXPECT_EQ(&tensor_type_info(info->type), info);
    EXPECT_EQ(parse_tensor_type(info->name).value(), info->type);
    std::string upper(info->name);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(parse_tensor_type(upper).value(), info->type);
    EXPECT_EQ(info->quantized, info->block_size > 1) << info->name;
  }
  EXPECT_EQ(known, 31);
  // Removed from the format; must stay unknown so files using them are rejected.
  for (std::uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 1000u}) EXPECT_EQ(tensor_type_info(id), nullptr) << id;
}

TEST(TensorTypeTest, BlockBytesMatchStructs) {
  EXPECT_EQ(tensor_type_info(TensorType::kF32).block_bytes, sizeof(float));
  EXPECT_EQ(tensor_type_info(TensorType::kF16).block_bytes, sizeof(fp16_t));
  EXPECT_EQ(tensor_type_info(TensorType::kBF16).block_bytes, sizeof(bf16_t));
  EXPECT_EQ(tensor_type_info(TensorType::kQ4_0).block_bytes, sizeof(BlockQ4_0));
  EXPECT_EQ(tensor_type_info(TensorType::kQ4_1).block_bytes, sizeof(BlockQ4_1));
  EXPECT_EQ(tensor_type_info(TensorType::kQ5_0).block_bytes, sizeof(BlockQ5_0));
  EXPECT_EQ(tensor_type_info(TensorType::kQ5_1).block_bytes, sizeof(BlockQ5_1));
  EXPECT_EQ(tensor_type_info(TensorType::kQ8_0).block_bytes, sizeof(BlockQ8_0));
  EXPECT_EQ(tensor_type_info(TensorType::kQ8_1).block_bytes, sizeof(BlockQ8_1));
  EXPECT_EQ(tensor_type_info(TensorType::kQ2_K).block_bytes, sizeof(BlockQ2K));
  EXPECT_EQ(tensor_type_info(TensorType::kQ3_K).block_bytes, sizeof(BlockQ3K));
  EXPECT_EQ(tensor_type_info(TensorType::kQ4_K).block_bytes, sizeof(BlockQ4K));
  EXPECT_EQ(tensor_type_info(TensorType::kQ5_K).block_bytes, sizeof(BlockQ5K));
  EXPECT_EQ(tensor_type_info(TensorType::kQ6_K).block_bytes, sizeof(BlockQ6K));
  EXPECT_EQ(tensor_type_info(TensorType::kQ8_K).block_bytes, sizeof(BlockQ8K));
  for (TensorType t : {TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1,
                       TensorType::kQ8_0, TensorType::kQ8_1}) {
    EXPECT_EQ(tensor_type_info(t).block_size, 32) << tensor_type_name(t);
  }
  for (TensorType t : {TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,
                       TensorType::kQ6_K, TensorType::kQ8_K}) {
    EXPECT_EQ(tensor_type_info(t).block_size, kQK_K) << tensor_type_name(t);
  }
}

TEST(TensorTypeTest, ComputableTypesAreExactlyTheDequantizableOnes) {
  const TensorType computable[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ4_0,
                                   TensorType::kQ4_1, TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ8_0,
                                   TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,
                                   TensorType::kQ6_K};
  int n_computable = 0;
  for (std::uint32_t id = 0; id < 64; ++id) {
    const TensorTypeInfo* info = tensor_type_info(id);
    if (info != nullptr && info->computable) ++n_computable;
  }
  EXPECT_EQ(n_computable, static_cast<int>(std::size(computable)));
  for (TensorType t : computable) EXPECT_TRUE(tensor_type_info(t).computable) << tensor_type_name(t);
}

TEST(TensorTypeTest, RowBytes) {
  EXPECT_EQ(tensor_row_bytes(TensorType::kF32, 10).value(), 40u);
  EXPECT_EQ(tensor_row_bytes(TensorType::kBF16, 3).value(), 6u);
  EXPECT_EQ(tensor_row_bytes(TensorType::kQ4_0, 64).value(), 36u);
  EXPECT_EQ(tensor_row_bytes(TensorType::kQ4_K, 512).value(), 288u);
  EXPECT_EQ(tensor_row_bytes(TensorType::kQ6_K, 0).value(), 0u);

  const Result<std::size_t> partial = tensor_row_bytes(TensorType::kQ4_0, 33);
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.status().code(), ErrorCode::kInvalidArgument);
  const Result<std::size_t> negative = tensor_row_bytes(TensorType::kF32, -1);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), ErrorCode::kInvalidArgument);
  const Result<std::size_t> huge = tensor_row_bytes(TensorType::kF32, std::int64_t{1} << 62);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), ErrorCode::kOutOfRange);
  const Result<std::size_t> huge_blocks = tensor_row_bytes(TensorType::kQ8_K, (std::int64_t{1} << 62) / 256 * 256);
  ASSERT_FALSE(huge_blocks.ok());
  EXPECT_EQ(huge_blocks.status().code(), ErrorCode::kOutOfRange);
}

}  // namespace
}  // namespace parley
