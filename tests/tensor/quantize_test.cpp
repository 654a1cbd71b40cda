// Reference quantizers: error bounds on seeded Gaussian rows (with and without outliers), exact
// zeros, stability of re-quantization, the side data of the activation formats, and the checked
// entry points.
#include "tensor/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <span>
#include <vector>

#include "base/rng.h"

namespace parley {
namespace {

constexpr std::int64_t kRowLen = 4096;
constexpr int kRows = 8;

// Bytes with 8-byte alignment, as a GGUF mapping provides.
struct Buffer {
  explicit Buffer(std::size_t n) : words((n + 7) / 8), size(n) {}
  std::span<std::byte> bytes() { return {reinterpret_cast<std::byte*>(words.data()), size}; }
  std::vector<std::uint64_t> words;
  std::size_t size;
};

std::vector<float> gaussian(std::uint64_t seed, std::int64_t n) {
  Rng rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = rng.normal();
  return x;
}

Buffer quantized(TensorType type, std::span<const float> x) {
  Buffer buf(tensor_row_bytes(type, static_cast<std::int64_t>(x.size())).value());
  const Status st = quantize(type, x, buf.bytes());
  EXPECT_TRUE(st.ok()) << st.to_string();
  return buf;
}

// Dequantizes through the checked entry point, or the per-type functions for the activation
// formats, which are not dequantizable types.
std::vector<float> dequantized(TensorType type, Buffer& buf, std::int64_t n) {
  std::vector<float> y(static_cast<std::size_t>(n));
  if (type == TensorType::kQ8_1) {
    dequantize_row_q8_1(reinterpret_cast<const BlockQ8_1*>(buf.words.data()), y.data(), n);
  } else if (type == TensorType::kQ8_K) {
    dequantize_row_q8_k(reinterpret_cast<const BlockQ8K*>(buf.words.data()), y.data(), n);
  } else {
    const Status st = dequantize(type, buf.bytes(), y);
    EXPECT_TRUE(st.ok()) << st.to_string();
  }
  return y;
}

std::vector<float> round_trip(TensorType type, std::span<const float> x) {
  Buffer buf = quantized(type, x);
  return dequantized(type, buf, static_cast<std::int64_t>(x.size()));
}

struct ErrorStats {
  double sum_err2 = 0;
  double sum_x2 = 0;
  double rel_rmse() const { return std::sqrt(sum_err2 / sum_x2); }
  void add(std::span<const float> x, std::span<const float> y) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      sum_err2 += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      sum_x2 += static_cast<double>(x[i]) * x[i];
    }
  }
};

struct Bound {
  TensorType type;
  double gaussian;  // RMSE / RMS on N(0, 1) rows
  double outliers;  // the same on rows where 1% of the elements are 20x larger
};

// Measured values are printed by the tests; the bounds leave a little headroom above them.
constexpr Bound kBounds[] = {
    {TensorType::kF16, 0.00025, 0.00025}, {TensorType::kBF16, 0.0018, 0.0018},
    {TensorType::kQ8_0, 0.0056, 0.012},   {TensorType::kQ8_1, 0.0056, 0.012},
    {TensorType::kQ8_K, 0.0073, 0.029},   {TensorType::kQ6_K, 0.0172, 0.034},
    {TensorType::kQ5_K, 0.0365, 0.052},   {TensorType::kQ5_0, 0.045, 0.092},
    {TensorType::kQ5_1, 0.040, 0.055},    {TensorType::kQ4_K, 0.074, 0.104},
    {TensorType::kQ4_0, 0.090, 0.153},    {TensorType::kQ4_1, 0.082, 0.117},
    {TensorType::kQ3_K, 0.152, 0.153},    {TensorType::kQ2_K, 0.28, 0.215},
};

TEST(QuantizeTest, ErrorBoundsOnGaussianRows) {
  for (const Bound& bound : kBounds) {
    ErrorStats stats;
    for (int r = 0; r < kRows; ++r) {
      const std::vector<float> x = gaussian(100 + r, kRowLen);
      stats.add(x, round_trip(bound.type, x));
    }
    std::printf("  %-5s gaussian RMSE/RMS = %.5f\n", std::string(tensor_type_name(bound.type)).c_str(),
                stats.rel_rmse());
    EXPECT_LT(stats.rel_rmse(), bound.gaussian) << tensor_type_name(bound.type);
  }
}

TEST(QuantizeTest, ErrorBoundsWithOutliers) {
  for (const Bound& bound : kBounds) {
    ErrorStats stats;
    for (int r = 0; r < kRows; ++r) {
      std::vector<float> x = gaussian(200 + r, kRowLen);
      Rng pick(300 + r);
      for (auto& v : x) {
        if (pick.below(100) == 0) v *= 20.0f;
      }
      const std::vector<float> y = round_trip(bound.type, x);
      for (float v : y) ASSERT_TRUE(std::isfinite(v));
      stats.add(x, y);
    }
    std::printf("  %-5s outlier  RMSE/RMS = %.5f\n", std::string(tensor_type_name(bound.type)).c_str(),
                stats.rel_rmse());
    EXPECT_LT(stats.rel_rmse(), bound.outliers) << tensor_type_name(bound.type);
  }
}

TEST(QuantizeTest, ZeroBlocksGiveExactZeros) {
  for (const Bound& bound : kBounds) {
    // Whole row of zeros, then a row whose even 256-element blocks are zero and odd ones are not.
    std::vector<float> x(kRowLen, 0.0f);
    for (float v : round_trip(bound.type, x)) ASSERT_EQ(v, 0.0f) << tensor_type_name(bound.type);
    const std::vector<float> g = gaussian(400, kRowLen);
    for (std::int64_t i = 0; i < kRowLen; ++i) x[i] = (i / 256) % 2 ? g[i] : 0.0f;
    const std::vector<float> y = round_trip(bound.type, x);
    for (std::int64_t i = 0; i < kRowLen; ++i) {
      if ((i / 256) % 2 == 0) {
        ASSERT_EQ(y[i], 0.0f) << tensor_type_name(bound.type) << " at " << i;
      }
    }
  }
}

TEST(QuantizeTest, ConstantAndOneSidedBlocks) {
  for (const Bound& bound : kBounds) {
    // At 1e-3 the K-quant super-block scale d falls deep into the f16 subnormals (for Q6_K,
    // d = max / (32 * 128)), where it has only a few significant bits: hence the looser bound.
    for (const auto& [c, tolerance] : {std::pair{0.75f, 0.01f}, std::pair{-0.3f, 0.01f}, std::pair{1e-3f, 0.03f}}) {
      const std::vector<float> x(512, c);
      const std::vector<float> y = round_trip(bound.type, x);
      for (float v : y) ASSERT_NEAR(v, c, std::fabs(c) * tolerance) << tensor_type_name(bound.type) << " " << c;
    }
    // All-positive and all-negative data exercise the clamped minimum of the affine types.
    std::vector<float> pos = gaussian(500, 1024);
    for (auto& v : pos) v = std::fabs(v) + 0.5f;
    std::vector<float> neg = pos;
    for (auto& v : neg) v = -v;
    for (const auto* x : {&pos, &neg}) {
      ErrorStats stats;
      stats.add(*x, round_trip(bound.type, *x));
      EXPECT_LT(stats.rel_rmse(), bound.outliers) << tensor_type_name(bound.type);
    }
  }
}

TEST(QuantizeTest, NonFiniteInputIsHandledWithoutCrashing) {
  // The output for such rows is unspecified; the point is no undefined behaviour (run under
  // PARLEY_SANITIZE) and finite output wherever the block holds only finite values.
  std::vector<float> x = gaussian(550, 1024);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[300] = std::numeric_limits<float>::infinity();
  x[600] = -std::numeric_limits<float>::infinity();
  for (const Bound& bound : kBounds) {
    const std::vector<float> y = round_trip(bound.type, x);
    for (std::size_t i = 768; i < y.size(); ++i) ASSERT_TRUE(std::isfinite(y[i])) << tensor_type_name(bound.type);
  }
}

TEST(QuantizeTest, RequantizingIsStable) {
  for (const TensorType type : {TensorType::kQ8_0, TensorType::kQ4_0}) {
    for (int r = 0; r < kRows; ++r) {
      const std::vector<float> x = gaussian(600 + r, kRowLen);
      Buffer first = quantized(type, x);
      const std::vector<float> y = dequantized(type, first, kRowLen);
      Buffer second = quantized(type, y);
      ASSERT_EQ(std::memcmp(first.words.data(), second.words.data(), first.size), 0) << tensor_type_name(type);
      EXPECT_EQ(dequantized(type, second, kRowLen), y);
    }
  }
}

TEST(QuantizeTest, Q8_1SumMatchesQuants) {
  const std::vector<float> x = gaussian(700, kRowLen);
  Buffer q81 = quantized(TensorType::kQ8_1, x);
  Buffer q80 = quantized(TensorType::kQ8_0, x);
  const auto* b1 = reinterpret_cast<const BlockQ8_1*>(q81.words.data());
  const auto* b0 = reinterpret_cast<const BlockQ8_0*>(q80.words.data());
  for (std::int64_t b = 0; b < kRowLen / 32; ++b) {
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      sum += b1[b].qs[j];
      ASSERT_EQ(b1[b].qs[j], b0[b].qs[j]);  // same quants as Q8_0
    }
    ASSERT_EQ(b1[b].d, b0[b].d);
    EXPECT_EQ(b1[b].s, fp32_to_fp16(fp16_to_fp32(b1[b].d) * static_cast<float>(sum))) << b;
  }
}

TEST(QuantizeTest, Q8_KSumsMatchQuants) {
  std::vector<float> x = gaussian(800, kRowLen);
  x[5] = -40.0f;  // the largest magnitude is negative: must still map to -127, never -128
  Buffer buf = quantized(TensorType::kQ8_K, x);
  const auto* blocks = reinterpret_cast<const BlockQ8K*>(buf.words.data());
  for (std::int64_t b = 0; b < kRowLen / 256; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[b * 256 + j]));
    EXPECT_EQ(blocks[b].d, amax / 127.0f);
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) {
        ASSERT_GE(blocks[b].qs[j], -127);
        sum += blocks[b].qs[j];
      }
      EXPECT_EQ(blocks[b].bsums[g], sum) << b << " " << g;
    }
  }
  EXPECT_EQ(blocks[0].qs[5], -127);
}

TEST(QuantizeTest, FloatTypesConvertElementwise) {
  std::vector<float> x = gaussian(900, 64);
  x[3] = 1e6f;
  x[4] = -0.0f;
  Buffer f32 = quantized(TensorType::kF32, x);
  EXPECT_EQ(std::memcmp(f32.words.data(), x.data(), x.size() * sizeof(float)), 0);
  Buffer f16 = quantized(TensorType::kF16, x);
  Buffer bf16 = quantized(TensorType::kBF16, x);
  const auto* h = reinterpret_cast<const fp16_t*>(f16.words.data());
  const auto* bh = reinterpret_cast<const bf16_t*>(bf16.words.data());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(h[i], fp32_to_fp16(x[i]));
    EXPECT_EQ(bh[i], fp32_to_bf16(x[i]));
  }
}

TEST(QuantizeTest, HasQuantizer) {
  for (std::uint32_t id = 0; id < 40; ++id) {
    const TensorTypeInfo* info = tensor_type_info(id);
    if (info == nullptr) continue;
    // Every computable type can be produced, plus the two activation formats.
    const bool activation = info->type == TensorType::kQ8_1 || info->type == TensorType::kQ8_K;
    EXPECT_EQ(has_quantizer(info->type), info->computable || activation) << info->name;
  }
}

TEST(QuantizeTest, CheckedEntryPointsRejectBadInput) {
  std::vector<float> x(64, 1.0f);
  Buffer buf(tensor_row_bytes(TensorType::kQ4_0, 64).value());
  std::vector<float> y(64);

  // Byte counts that do not match the element count.
  Status st = dequantize(TensorType::kQ4_0, buf.bytes().first(buf.size - 1), y);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  st = quantize(TensorType::kQ4_0, x, buf.bytes().first(buf.size - 2));
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  // Element counts that are not whole blocks.
  st = dequantize(TensorType::kQ4_0, buf.bytes(), std::span(y).first(33));
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  st = quantize(TensorType::kQ4_K, x, buf.bytes());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  // Misaligned block data.
  Buffer big(64);
  st = dequantize(TensorType::kQ8_0, big.bytes().subspan(1, 34), std::span(y).first(32));
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  st = quantize(TensorType::kQ8_0, std::span(x).first(32), big.bytes().subspan(1, 34));
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  // Types without the math.
  Buffer iq(tensor_row_bytes(TensorType::kIQ2_XXS, 256).value());
  std::vector<float> y256(256);
  st = dequantize(TensorType::kIQ2_XXS, iq.bytes(), y256);
  EXPECT_EQ(st.code(), ErrorCode::kUnimplemented) << st.to_string();
  st = quantize(TensorType::kIQ2_XXS, y256, iq.bytes());
  EXPECT_EQ(st.code(), ErrorCode::kUnimplemented) << st.to_string();
  Buffer q8k(tensor_row_bytes(TensorType::kQ8_K, 256).value());
  st = dequantize(TensorType::kQ8_K, q8k.bytes(), y256);  // activation format: quantize only
  EXPECT_EQ(st.code(), ErrorCode::kUnimplemented) << st.to_string();
  Buffer i32(4 * 8);
  st = dequantize(TensorType::kI32, i32.bytes(), std::span(y).first(8));
  EXPECT_EQ(st.code(), ErrorCode::kUnimplemented) << st.to_string();
  st = dequantize(static_cast<TensorType>(4), buf.bytes(), y);  // an id the format removed
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << st.to_string();
  // Empty rows are fine.
  EXPECT_TRUE(dequantize(TensorType::kQ4_K, {}, {}).ok());
  EXPECT_TRUE(quantize(TensorType::kQ4_K, {}, {}).ok());
  // And the happy path through the same buffers.
  EXPECT_TRUE(quantize(TensorType::kQ4_0, x, buf.bytes()).ok());
  EXPECT_TRUE(dequantize(TensorType::kQ4_0, buf.bytes(), y).ok());
  for (float v : y) EXPECT_EQ(v, 1.0f);
}

TEST(QuantizeDeathTest, RowFunctionsCheckWholeBlocks) {
  std::vector<float> x(64, 0.0f);
  std::vector<BlockQ4_0> blocks(2);
  EXPECT_DEATH(quantize_row_q4_0(x.data(), blocks.data(), 33), "block");
  EXPECT_DEATH(dequantize_row(TensorType::kIQ4_NL, blocks.data(), x.data(), 32), "not computable");
}

}  // namespace
}  // namespace parley
