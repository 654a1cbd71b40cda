// f16 and bf16 conversions: exhaustive over all 16-bit patterns, every rounding midpoint between
// neighbouring representable values, and the special values.
#include "tensor/fp16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "base/rng.h"

namespace parley {
namespace {

bool is_nan16(std::uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }
bool is_nan_bf16(std::uint16_t h) { return (h & 0x7F80) == 0x7F80 && (h & 0x007F) != 0; }
std::uint32_t bits(float f) { return std::bit_cast<std::uint32_t>(f); }

// The value of an f16 pattern from the IEEE definition, in double, independent of the code.
double f16_value(std::uint16_t h) {
  const int exp = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exp == 0x1F) return mant == 0 ? sign * std::numeric_limits<double>::infinity() : std::nan("");
  if (exp == 0) return sign * std::ldexp(mant, -24);
  return sign * std::ldexp(1024 + mant, exp - 25);
}

TEST(Fp16Test, DecodesEveryPatternByDefinition) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    const float f = fp16_to_fp32(h16);
    if (is_nan16(h16)) {
      EXPECT_TRUE(std::isnan(f)) << h;
      continue;
    }
    EXPECT_EQ(static_cast<double>(f), f16_value(h16)) << h;
    EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;  // includes -0
  }
}

TEST(Fp16Test, RoundTripsEveryPattern) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    const std::uint16_t back = fp32_to_fp16(fp16_to_fp32(h16));
    if (is_nan16(h16)) {
      EXPECT_TRUE(is_nan16(back)) << h;
      EXPECT_NE(back & 0x0200, 0) << "NaN must come back quiet: " << h;
      EXPECT_EQ(back & 0x8000, h & 0x8000) << h;
    } else {
      EXPECT_EQ(back, h16) << h;
    }
  }
}

// For each pair of neighbouring finite halves (including across the subnormal/normal boundary),
// the exact midpoint goes to the one with an even mantissa and anything off the midpoint goes to
// the nearer one.
TEST(Fp16Test, RoundsToNearestEvenAtEveryMidpoint) {
  for (std::uint32_t lo = 0; lo < 0x7BFF; ++lo) {
    const auto hi = static_cast<std::uint16_t>(lo + 1);
    const float a = fp16_to_fp32(static_cast<std::uint16_t>(lo));
    const float b = fp16_to_fp32(hi);
    const float mid = (a + b) / 2;  // exact: 12 significant bits
    ASSERT_EQ(static_cast<double>(mid), (f16_value(static_cast<std::uint16_t>(lo)) + f16_value(hi)) / 2);
    const std::uint16_t even = (lo & 1) ? hi : static_cast<std::uint16_t>(lo);
    for (const float sign : {1.0f, -1.0f}) {
      const std::uint16_t s = sign < 0 ? 0x8000 : 0;
      EXPECT_EQ(fp32_to_fp16(sign * mid), even | s) << lo;
      EXPECT_EQ(fp32_to_fp16(sign * std::nextafter(mid, 0.0f)), lo | s) << lo;
      EXPECT_EQ(fp32_to_fp16(sign * std::nextafter(mid, 1e9f)), hi | s) << lo;
      EXPECT_EQ(fp32_to_fp16(sign * a), lo | s) << lo;
    }
  }
}

TEST(Fp16Test, OverflowAndUnderflow) {
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);  // midpoint to "65536": 0x7BFF is odd, so inf
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::max()), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(fp16_to_fp32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16_to_fp32(0xFC00), -std::numeric_limits<float>::infinity());

  const float tiny = std::ldexp(1.0f, -24);  // smallest subnormal half
  EXPECT_EQ(fp32_to_fp16(tiny), 0x0001);
  EXPECT_EQ(fp32_to_fp16(tiny / 2), 0x0000);  // tie with zero: even
  EXPECT_EQ(fp32_to_fp16(std::nextafter(tiny / 2, 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(-tiny / 2), 0x8000);
  EXPECT_EQ(fp32_to_fp16(tiny * 1.5f), 0x0002);  // tie between 1 and 2: even
  EXPECT_EQ(fp32_to_fp16(tiny / 4), 0x0000);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::denorm_min()), 0x8000);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::min()), 0x0000);
  // Largest subnormal rounding up into the smallest normal.
  EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -14), 0.0f)), 0x0400);
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

TEST(Fp16Test, NanStaysQuietNan) {
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(is_nan16(fp32_to_fp16(qnan)));
  EXPECT_TRUE(is_nan16(fp32_to_fp16(-qnan)));
  EXPECT_NE(fp32_to_fp16(-qnan) & 0x8000, 0);
  // Payload only in the low 13 bits, which a plain shift would drop, turning NaN into inf.
  const std::uint16_t h = fp32_to_fp16(std::bit_cast<float>(0x7F800001u));
  EXPECT_TRUE(is_nan16(h));
  EXPECT_NE(h & 0x0200, 0);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7C01)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0xFE00)));
}

#if defined(__FLT16_MAX__)
// The compiler's own _Float16 conversion (soft-float, round to nearest even) as an oracle on
// random float bit patterns of every exponent.
TEST(Fp16Test, MatchesCompilerFloat16OnRandomFloats) {
  Rng rng(7);
  for (int i = 0; i < 2'000'000; ++i) {
    const float f = std::bit_cast<float>(static_cast<std::uint32_t>(rng.next_u64()));
    if (std::isnan(f)) continue;
    const auto expected = std::bit_cast<std::uint16_t>(static_cast<_Float16>(f));
    ASSERT_EQ(fp32_to_fp16(f), expected) << std::hex << bits(f);
  }
}
#endif

TEST(Bf16Test, RoundTripsEveryPattern) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    const float f = bf16_to_fp32(h16);
    EXPECT_EQ(bits(f), h << 16) << h;
    const std::uint16_t back = fp32_to_bf16(f);
    if (is_nan_bf16(h16)) {
      EXPECT_TRUE(is_nan_bf16(back)) << h;
      EXPECT_NE(back & 0x0040, 0) << h;
      EXPECT_EQ(back & 0x8000, h & 0x8000) << h;
    } else {
      EXPECT_EQ(back, h16) << h;
    }
  }
}

TEST(Bf16Test, RoundsToNearestEvenAtEveryMidpoint) {
  for (std::uint32_t lo = 0; lo < 0x7F7F; ++lo) {
    const std::uint32_t mid = (lo << 16) | 0x8000u;  // exactly halfway to lo + 1
    const std::uint16_t even = static_cast<std::uint16_t>((lo & 1) ? lo + 1 : lo);
    for (const std::uint32_t s : {0u, 0x80000000u}) {
      const auto s16 = static_cast<std::uint16_t>(s >> 16);
      EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(mid | s)), even | s16) << lo;
      EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>((mid - 1) | s)), lo | s16) << lo;
      EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>((mid + 1) | s)), (lo + 1) | s16) << lo;
    }
  }
}

TEST(Bf16Test, SpecialValues) {
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds past the largest finite
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7F7F7FFFu)), 0x7F7F);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x00018000u)), 0x0002);  // subnormal tie, odd -> up
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3F80);
  const std::uint16_t h = fp32_to_bf16(std::bit_cast<float>(0x7F800001u));  // signalling, low payload
  EXPECT_TRUE(is_nan_bf16(h));
  EXPECT_NE(h & 0x0040, 0);
  EXPECT_TRUE(is_nan_bf16(fp32_to_bf16(std::bit_cast<float>(0xFFC00000u))));
}

}  // namespace
}  // namespace parley
