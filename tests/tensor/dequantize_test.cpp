// Exact dequantization of hand-built blocks. Each block is filled with seeded random bytes (the
// f16 scales are then replaced by random finite values), and every element's expected value is
// computed here from the element-indexed definition of its format (element e -> byte, bits,
// sub-block), not by walking bytes the way the implementation does. Results must match bit for
// bit: the expected values use the same float operations in the same order as the format
// definition, which is also the implementation's order: for the K-quants, the sub-block scale
// first (d * sc, dmin * m), then times the quant, then minus the minimum.
#include <gtest/gtest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <vector>

#include "base/rng.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

constexpr int kBlocks = 6;

fp16_t random_finite_fp16(Rng& rng) {
  for (;;) {
    const auto h = static_cast<fp16_t>(rng.next_u64());
    if ((h & 0x7C00) != 0x7C00) return h;
  }
}

float f16(fp16_t h) { return fp16_to_fp32(h); }

template <typename Block>
std::vector<Block> random_blocks(Rng& rng) {
  std::vector<Block> blocks(kBlocks);
  std::vector<std::uint8_t> bytes(sizeof(Block) * kBlocks);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng.next_u64());
  std::memcpy(blocks.data(), bytes.data(), bytes.size());
  return blocks;
}

// Compares `got` with expected(block, index in block) bit for bit, then checks that the type
// dispatch and the checked entry point produce the same floats as the per-type row function.
template <typename Block>
void check_dequant(TensorType type, const std::vector<Block>& blocks, std::int64_t block_size,
                   const std::vector<float>& got, const std::function<float(const Block&, int)>& expected) {
  const std::int64_t n = block_size * kBlocks;
  ASSERT_EQ(static_cast<std::int64_t>(got.size()), n);
  for (std::int64_t e = 0; e < n; ++e) {
    const float want = expected(blocks[static_cast<std::size_t>(e / block_size)], static_cast<int>(e % block_size));
    ASSERT_EQ(std::bit_cast<std::uint32_t>(got[e]), std::bit_cast<std::uint32_t>(want))
        << tensor_type_name(type) << " element " << e << ": got " << got[e] << ", want " << want;
  }
  if (!tensor_type_info(type).computable) return;
  std::vector<float> via_dispatch(static_cast<std::size_t>(n));
  dequantize_row(type, blocks.data(), via_dispatch.data(), n);
  std::vector<float> via_status(static_cast<std::size_t>(n));
  const auto bytes = std::as_bytes(std::span(blocks));
  ASSERT_TRUE(dequantize(type, bytes, via_status).ok());
  for (std::int64_t e = 0; e < n; ++e) {
    ASSERT_EQ(std::bit_cast<std::uint32_t>(via_dispatch[e]), std::bit_cast<std::uint32_t>(got[e])) << e;
    ASSERT_EQ(std::bit_cast<std::uint32_t>(via_status[e]), std::bit_cast<std::uint32_t>(got[e])) << e;
  }
}

// Nibble j of a 32-element block: elements 0..15 are low nibbles, 16..31 high nibbles.
int nibble32(const std::uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4); }

int bit_of_qh32(const std::uint8_t* qh, int j) {
  const std::uint32_t word = qh[0] | (qh[1] << 8) | (qh[2] << 16) | (static_cast<std::uint32_t>(qh[3]) << 24);
  return static_cast<int>((word >> j) & 1u);
}

TEST(DequantizeTest, F16AndBf16) {
  Rng rng(1);
  std::vector<fp16_t> h(512);
  for (auto& v : h) v = static_cast<fp16_t>(rng.next_u64());
  std::vector<float> got(h.size());
  dequantize_row_f16(h.data(), got.data(), static_cast<std::int64_t>(h.size()));
  std::vector<float> via_status(h.size());
  ASSERT_TRUE(dequantize(TensorType::kF16, std::as_bytes(std::span(h)), via_status).ok());
  for (std::size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(got[i]), std::bit_cast<std::uint32_t>(fp16_to_fp32(h[i])));
    EXPECT_EQ(std::bit_cast<std::uint32_t>(via_status[i]), std::bit_cast<std::uint32_t>(got[i]));
  }
  dequantize_row_bf16(h.data(), got.data(), static_cast<std::int64_t>(h.size()));
  ASSERT_TRUE(dequantize(TensorType::kBF16, std::as_bytes(std::span(h)), via_status).ok());
  for (std::size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(got[i]), static_cast<std::uint32_t>(h[i]) << 16);
    EXPECT_EQ(std::bit_cast<std::uint32_t>(via_status[i]), std::bit_cast<std::uint32_t>(got[i]));
  }
  const std::vector<float> f = {1.5f, -0.0f, 3e38f};
  std::vector<float> copy(3);
  ASSERT_TRUE(dequantize(TensorType::kF32, std::as_bytes(std::span(f)), copy).ok());
  EXPECT_EQ(std::memcmp(copy.data(), f.data(), sizeof(float) * 3), 0);
}

// A block whose values are worked out by hand, as a check on the reading of the definitions.
TEST(DequantizeTest, Q4_0KnownValues) {
  BlockQ4_0 b{};
  b.d = 0x3800;  // 0.5
  b.qs[0] = 0x9F;
  b.qs[15] = 0x08;
  std::vector<float> y(32);
  dequantize_row_q4_0(&b, y.data(), 32);
  EXPECT_EQ(y[0], 3.5f);    // (15 - 8) * 0.5
  EXPECT_EQ(y[16], 0.5f);   // (9 - 8) * 0.5
  EXPECT_EQ(y[15], 0.0f);   // (8 - 8) * 0.5
  EXPECT_EQ(y[31], -4.0f);  // (0 - 8) * 0.5
  EXPECT_EQ(y[1], -4.0f);
}

TEST(DequantizeTest, Q4_0) {
  Rng rng(2);
  auto blocks = random_blocks<BlockQ4_0>(rng);
  for (auto& b : blocks) b.d = random_finite_fp16(rng);
  std::vector<float> got(32 * kBlocks);
  dequantize_row_q4_0(blocks.data(), got.data(), 32 * kBlocks);
  check_dequant<BlockQ4_0>(TensorType::kQ4_0, blocks, 32, got, [](const BlockQ4_0& b, int j) {
    return static_cast<float>(nibble32(b.qs, j) - 8) * f16(b.d);
  });
}

TEST(DequantizeTest, Q4_1) {
  Rng rng(3);
  auto blocks = random_blocks<BlockQ4_1>(rng);
  for (auto& b : blocks) {
    b.d = random_finite_fp16(rng);
    b.m = random_finite_fp16(rng);
  }
  std::vector<float> got(32 * kBlocks);
  dequantize_row_q4_1(blocks.data(), got.data(), 32 * kBlocks);
  check_dequant<BlockQ4_1>(TensorType::kQ4_1, blocks, 32, got, [](const BlockQ4_1& b, int j) {
    return static_cast<float>(nibble32(b.qs, j)) * f16(b.d) + f16(b.m);
  });
}

TEST(DequantizeTest, Q5_0) {
  Rng rng(4);
  auto blocks = random_blocks<BlockQ5_0>(rng);
  for (auto& b : blocks) b.d = random_finite_fp16(rng);
  std::vector<float> got(32 * kBlocks);
  dequantize_row_q5_0(blocks.data(), got.data(), 32 * kBlocks);
  check_dequant<BlockQ5_0>(TensorType::kQ5_0, blocks, 32, got, [](const BlockQ5_0& b, int j) {
    const int q = nibble32(b.qs, j) | (bit_of_qh32(b.qh, j) << 4);
    return static_cast<float>(q - 16) * f16(b.d);
  });
}

TEST(DequantizeTest, Q5_1) {
  Rng rng(5);
  auto blocks = random_blocks<BlockQ5_1>(rng);
  for (auto& b : blocks) {
    b.d = random_finite_fp16(rng);
    b.m = random_finite_fp16(rng);
  }
  std::vector<float> got(32 * kBlocks);
  dequantize_row_q5_1(blocks.data(), got.data(), 32 * kBlocks);
  check_dequant<BlockQ5_1>(TensorType::kQ5_1, blocks, 32, got, [](const BlockQ5_1& b, int j) {
    const int q = nibble32(b.qs, j) | (bit_of_qh32(b.qh, j) << 4);
    return static_cast<float>(q) * f16(b.d) + f16(b.m);
  });
}

TEST(DequantizeTest, Q8_0) {
  Rng rng(6);
  auto blocks = random_blocks<BlockQ8_0>(rng);
  for (auto& b : blocks) b.d = random_finite_fp16(rng);
  std::vector<float> got(32 * kBlocks);
  dequantize_row_q8_0(blocks.data(), got.data(), 32 * kBlocks);
  check_dequant<BlockQ8_0>(TensorType::kQ8_0, blocks, 32, got, [](const BlockQ8_0& b, int j) {
    return static_cast<float>(b.qs[j]) * f16(b.d);
  });
}

TEST(DequantizeTest, Q8_1) {
  Rng rng(7);
  auto blocks = random_blocks<BlockQ8_1>(rng);
  for (auto& b : blocks) b.d = random_finite_fp16(rng);
  std::vector<float> got(32 * kBlocks);
  dequantize_row_q8_1(blocks.data(), got.data(), 32 * kBlocks);
  check_dequant<BlockQ8_1>(TensorType::kQ8_1, blocks, 32, got, [](const BlockQ8_1& b, int j) {
    return static_cast<float>(b.qs[j]) * f16(b.d);
  });
}

TEST(DequantizeTest, Q2_K) {
  Rng rng(8);
  auto blocks = random_blocks<BlockQ2K>(rng);
  for (auto& b : blocks) {
    b.d = random_finite_fp16(rng);
    b.dmin = random_finite_fp16(rng);
  }
  std::vector<float> got(256 * kBlocks);
  dequantize_row_q2_k(blocks.data(), got.data(), 256 * kBlocks);
  check_dequant<BlockQ2K>(TensorType::kQ2_K, blocks, 256, got, [](const BlockQ2K& b, int e) {
    const int h = e / 128;
    const int s = (e % 128) / 32;
    const int l = e % 32;
    const int q = (b.qs[32 * h + l] >> (2 * s)) & 3;
    const int scale = b.scales[e / 16] & 0xF;
    const int min = b.scales[e / 16] >> 4;
    return (f16(b.d) * static_cast<float>(scale)) * static_cast<float>(q) - f16(b.dmin) * static_cast<float>(min);
  });
}

TEST(DequantizeTest, Q3_K) {
  Rng rng(9);
  auto blocks = random_blocks<BlockQ3K>(rng);
  for (auto& b : blocks) b.d = random_finite_fp16(rng);
  std::vector<float> got(256 * kBlocks);
  dequantize_row_q3_k(blocks.data(), got.data(), 256 * kBlocks);
  check_dequant<BlockQ3K>(TensorType::kQ3_K, blocks, 256, got, [](const BlockQ3K& b, int e) {
    const int j = e / 16;
    const int low4 = j < 8 ? (b.scales[j] & 0xF) : (b.scales[j - 8] >> 4);
    const int high2 = (b.scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    const int scale = (low4 | (high2 << 4)) - 32;
    const int h = e / 128;
    const int s = (e % 128) / 32;
    const int l = e % 32;
    const int low2 = (b.qs[32 * h + l] >> (2 * s)) & 3;
    const bool high = (b.hmask[l] >> (4 * h + s)) & 1;
    const int q = low2 - (high ? 0 : 4);
    return (f16(b.d) * static_cast<float>(scale)) * static_cast<float>(q);
  });
}

// Sub-block j's (scale, min) of the 12-byte Q4_K/Q5_K packing, straight from the definition.
void scale_min_k4(const std::uint8_t* scales, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
    *m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

TEST(DequantizeTest, Q4_K) {
  Rng rng(10);
  auto blocks = random_blocks<BlockQ4K>(rng);
  for (auto& b : blocks) {
    b.d = random_finite_fp16(rng);
    b.dmin = random_finite_fp16(rng);
  }
  std::vector<float> got(256 * kBlocks);
  dequantize_row_q4_k(blocks.data(), got.data(), 256 * kBlocks);
  check_dequant<BlockQ4K>(TensorType::kQ4_K, blocks, 256, got, [](const BlockQ4K& b, int e) {
    const int c = e / 64;
    const int l = e % 32;
    const bool upper = (e % 64) >= 32;
    const int q = upper ? (b.qs[32 * c + l] >> 4) : (b.qs[32 * c + l] & 0xF);
    int sc = 0;
    int m = 0;
    scale_min_k4(b.scales, 2 * c + (upper ? 1 : 0), &sc, &m);
    return (f16(b.d) * static_cast<float>(sc)) * static_cast<float>(q) - f16(b.dmin) * static_cast<float>(m);
  });
}

TEST(DequantizeTest, Q5_K) {
  Rng rng(11);
  auto blocks = random_blocks<BlockQ5K>(rng);
  for (auto& b : blocks) {
    b.d = random_finite_fp16(rng);
    b.dmin = random_finite_fp16(rng);
  }
  std::vector<float> got(256 * kBlocks);
  dequantize_row_q5_k(blocks.data(), got.data(), 256 * kBlocks);
  check_dequant<BlockQ5K>(TensorType::kQ5_K, blocks, 256, got, [](const BlockQ5K& b, int e) {
    const int c = e / 64;
    const int l = e % 32;
    const bool upper = (e % 64) >= 32;
    const int nib = upper ? (b.qs[32 * c + l] >> 4) : (b.qs[32 * c + l] & 0xF);
    const int bit = (b.qh[l] >> (2 * c + (upper ? 1 : 0))) & 1;
    const int q = nib | (bit << 4);
    int sc = 0;
    int m = 0;
    scale_min_k4(b.scales, 2 * c + (upper ? 1 : 0), &sc, &m);
    return (f16(b.d) * static_cast<float>(sc)) * static_cast<float>(q) - f16(b.dmin) * static_cast<float>(m);
  });
}

TEST(DequantizeTest, Q6_K) {
  Rng rng(12);
  auto blocks = random_blocks<BlockQ6K>(rng);
  for (auto& b : blocks) b.d = random_finite_fp16(rng);
  std::vector<float> got(256 * kBlocks);
  dequantize_row_q6_k(blocks.data(), got.data(), 256 * kBlocks);
  check_dequant<BlockQ6K>(TensorType::kQ6_K, blocks, 256, got, [](const BlockQ6K& b, int e) {
    const int h = e / 128;
    const int k = (e % 128) / 32;  // which of the four elements sharing qh'[l]
    const int l = e % 32;
    const std::uint8_t* ql = b.ql + 64 * h;
    const std::uint8_t* qh = b.qh + 32 * h;
    int low = 0;
    switch (k) {
      case 0: low = ql[l] & 0xF; break;
      case 1: low = ql[l + 32] & 0xF; break;
      case 2: low = ql[l] >> 4; break;
      default: low = ql[l + 32] >> 4; break;
    }
    const int high = (qh[l] >> (2 * k)) & 3;
    const int q = (low | (high << 4)) - 32;
    return (f16(b.d) * static_cast<float>(b.scales[e / 16])) * static_cast<float>(q);
  });
}

TEST(DequantizeTest, Q8_K) {
  Rng rng(13);
  auto blocks = random_blocks<BlockQ8K>(rng);
  for (auto& b : blocks) b.d = rng.normal() * 0.01f;
  std::vector<float> got(256 * kBlocks);
  dequantize_row_q8_k(blocks.data(), got.data(), 256 * kBlocks);
  check_dequant<BlockQ8K>(TensorType::kQ8_K, blocks, 256, got, [](const BlockQ8K& b, int e) {
    return b.d * static_cast<float>(b.qs[e]);
  });
}

}  // namespace
}  // namespace parley
