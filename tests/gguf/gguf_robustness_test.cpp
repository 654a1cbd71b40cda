// Systematic robustness of the GGUF reader, the CI regression for the fuzzer: every truncation of
// a small valid file and 20000 seeded random mutations of it must either parse, with every view
// inside the buffer, or fail with an error; never crash or read outside the buffer (run it under
// PARLEY_SANITIZE=ON to have over-reads reported).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

#include "base/rng.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_test_util.h"

namespace parley {
namespace {

using gguf_test::Bytes;

struct Outcome {
  int ok = 0;
  int rejected = 0;
};

// Parses `bytes` from an allocation of exactly their size (so any over-read leaves the block) and
// checks the contract: an error with a message, or a file whose every view stays in bounds.
::testing::AssertionResult parses_or_fails_cleanly(const Bytes& bytes, Outcome* outcome) {
  const std::size_t n = bytes.size();
  std::unique_ptr<std::byte[]> exact(new std::byte[n == 0 ? 1 : n]);
  std::copy(bytes.begin(), bytes.end(), exact.get());
  const std::span<const std::byte> buf(exact.get(), n);
  GgufLimits limits;
  limits.max_array_elements = 1u << 16;  // keep allocations small on garbage counts
  limits.max_string_bytes = 1u << 16;
  const auto f = GgufFile::from_memory(buf, limits);
  if (!f.ok()) {
    ++outcome->rejected;
    if (f.status().message().empty()) return ::testing::AssertionFailure() << "error without a message";
    if (f.status().code() != ErrorCode::kInvalidArgument)
      return ::testing::AssertionFailure() << f.status().to_string();
    return ::testing::AssertionSuccess();
  }
  ++outcome->ok;
  return gguf_test::walk_file(**f, buf);
}

TEST(GgufRobustnessTest, EveryTruncationFailsCleanly) {
  for (const std::uint32_t alignment : {0u, 64u}) {
    const Bytes full = gguf_test::small_valid_file(alignment);
    auto f = gguf_test::parse(full);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    ASSERT_EQ((*f)->tensors().size(), 3u);
    // Past the end of the last tensor only alignment padding is left; before it nothing may parse.
    std::uint64_t needed = 0;
    for (const auto& t : (*f)->tensors()) needed = std::max(needed, (*f)->data_offset() + t.offset + t.n_bytes);
    Outcome outcome;
    for (std::size_t len = 0; len < full.size(); ++len) {
      const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      const int ok_before = outcome.ok;
      ASSERT_TRUE(parses_or_fails_cleanly(prefix, &outcome)) << "length " << len;
      if (len < needed) {
        ASSERT_EQ(outcome.ok, ok_before) << "a truncation to " << len << " bytes parsed";
      }
    }
    EXPECT_EQ(static_cast<std::uint64_t>(outcome.rejected), needed);
  }
}

// Values that make length, count, offset and dimension fields interesting.
constexpr std::uint64_t kExtreme64[] = {0,
                                        1,
                                        2,
                                        31,
                                        32,
                                        0x7F,
                                        0xFF,
                                        0xFFFF,
                                        0x7FFFFFFF,
                                        0x80000000,
                                        0xFFFFFFFF,
                                        0x100000000,
                                        std::uint64_t{1} << 60,
                                        std::uint64_t{1} << 62,
                                        std::uint64_t{1} << 63,
                                        0x7FFFFFFFFFFFFFFF,
                                        ~std::uint64_t{0},
                                        ~std::uint64_t{0} - 31};
constexpr std::uint32_t kExtreme32[] = {0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 14, 30, 31, 99, 0x80000000u, 0xFFFFFFFFu};

void mutate(Bytes& b, Rng& rng) {
  auto pos = [&](std::size_t extra) { return static_cast<std::size_t>(rng.below(b.size() + extra)); };
  switch (rng.below(8)) {
    case 0:  // flip one bit
      if (!b.empty()) b[pos(0)] ^= static_cast<std::byte>(1u << rng.below(8));
      break;
    case 1:  // random byte
      if (!b.empty()) b[pos(0)] = static_cast<std::byte>(rng.below(256));
      break;
    case 2: {  // an extreme 8-byte value anywhere
      if (b.size() < 8) break;
      const std::uint64_t v = kExtreme64[rng.below(std::size(kExtreme64))];
      std::memcpy(b.data() + rng.below(b.size() - 7), &v, 8);
      break;
    }
    case 3: {  // an extreme 4-byte value anywhere (type tags, dimension counts, versions)
      if (b.size() < 4) break;
      const std::uint32_t v = kExtreme32[rng.below(std::size(kExtreme32))];
      std::memcpy(b.data() + rng.below(b.size() - 3), &v, 4);
      break;
    }
    case 4: {  // insert random bytes
      const std::size_t at = pos(1);
      const std::size_t n = 1 + rng.below(16);
      Bytes ins(n);
      for (auto& x : ins) x = static_cast<std::byte>(rng.below(256));
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
      break;
    }
    case 5: {  // delete a range
      if (b.empty()) break;
      const std::size_t at = pos(0);
      const std::size_t n = std::min<std::size_t>(1 + rng.below(16), b.size() - at);
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      break;
    }
    case 6: {  // copy one range over another (duplicates keys, names, headers)
      if (b.size() < 2) break;
      const std::size_t n = 1 + rng.below(std::min<std::size_t>(64, b.size() - 1));
      const std::size_t from = rng.below(b.size() - n + 1);
      const std::size_t to = rng.below(b.size() - n + 1);
      std::memmove(b.data() + to, b.data() + from, n);
      break;
    }
    default:  // truncate
      b.resize(pos(0));
      break;
  }
}

TEST(GgufRobustnessTest, SeededRandomMutationsFailCleanly) {
  const Bytes bases[] = {gguf_test::small_valid_file(), gguf_test::small_valid_file(64)};
  Rng rng(20240601);
  Outcome outcome;
  constexpr int kIterations = 20000;
  for (int i = 0; i < kIterations; ++i) {
    Bytes b = bases[i % 2];
    const int n_mutations = 1 + static_cast<int>(rng.below(3));
    for (int m = 0; m < n_mutations; ++m) mutate(b, rng);
    ASSERT_TRUE(parses_or_fails_cleanly(b, &outcome)) << "iteration " << i;
  }
  // Both outcomes must be common, or the mutations are not exercising the reader.
  EXPECT_GT(outcome.ok, kIterations / 50);
  EXPECT_GT(outcome.rejected, kIterations / 4);
  RecordProperty("parsed_ok", outcome.ok);
  RecordProperty("rejected", outcome.rejected);
}

// Inputs the fuzzer found, kept as regression cases. Each must be rejected cleanly.
struct FuzzRegression {
  const char* what;
  std::vector<std::uint8_t> bytes;
  const char* message;
};

TEST(GgufRobustnessTest, FuzzerRegressions) {
  const FuzzRegression cases[] = {
      // A zero first dimension hid an overflowing product of the others: the reader accepted
      // dims [0, 0x0400000000000004, 0x0000140000000000] and n_rows() overflowed int64 (UBSan).
      {"zero dimension then huge dimensions",
       {
           0x47, 0x47, 0x55, 0x46, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x67, 0x65,
           0x6e, 0x65, 0x72, 0x61, 0x6c, 0x2e, 0x61, 0x72, 0x63, 0x68, 0x69, 0x74, 0x65, 0x63, 0x74, 0x75, 0x72,
           0x65, 0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6c, 0x6c, 0x61, 0x6d,
           0x61, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x33, 0x64, 0x03,
           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
           0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x67, 0x65,
           0x6e, 0x65, 0x72, 0x61, 0x6c, 0x2e, 0x61, 0x72, 0x63, 0x68, 0x69, 0x74, 0x65, 0x63, 0x74, 0x75, 0x72,
           0x65, 0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6c, 0x6c, 0x61, 0x6d,
           0x61, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x33, 0x64, 0x03,
           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
           0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30,
           0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
       },
       "element count overflows"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Bytes b(c.bytes.size());
    std::memcpy(b.data(), c.bytes.data(), b.size());
    Outcome outcome;
    ASSERT_TRUE(parses_or_fails_cleanly(b, &outcome));
    const auto f = gguf_test::parse(b);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().message().find(c.message), std::string_view::npos) << f.status().message();
  }
}

}  // namespace
}  // namespace parley
