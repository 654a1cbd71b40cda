// Hostile GGUF inputs, each hand-made byte by byte: every one must give a non-OK Status that names
// the problem, and never crash, over-read or allocate without bound.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_test_util.h"

namespace parley {
namespace {

using gguf_test::Bytes;
using gguf_test::parse;
using gguf_test::RawGguf;

constexpr std::uint32_t kF32 = 0;
constexpr std::uint32_t kQ4_0 = 2;
constexpr std::uint64_t kBig = std::uint64_t{1} << 60;

// Limits switched off, to show that the byte counts alone keep the reader safe.
GgufLimits no_limits() {
  GgufLimits l;
  l.max_tensors = l.max_metadata = l.max_array_elements = l.max_string_bytes = ~0ull;
  l.max_key_bytes = l.max_tensor_name_bytes = ~0ull;
  return l;
}

::testing::AssertionResult rejects(const Bytes& bytes, std::string_view needle, const GgufLimits& limits = {}) {
  // Parse a copy of exactly the given size, so a sanitizer build flags any over-read.
  auto copy = std::make_unique<std::byte[]>(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), copy.get());
  const auto f = GgufFile::from_memory({copy.get(), bytes.size()}, limits);
  if (f.ok()) return ::testing::AssertionFailure() << "parsed OK; expected an error with '" << needle << "'";
  const Status& s = f.status();
  if (s.code() != ErrorCode::kInvalidArgument) return ::testing::AssertionFailure() << "code " << s.to_string();
  if (s.message().find(needle) == std::string_view::npos) {
    return ::testing::AssertionFailure() << "message '" << s.message() << "' lacks '" << needle << "'";
  }
  return ::testing::AssertionSuccess() << s.message();
}

// A file of tensor infos only (no metadata unless an alignment is given), padded, plus data bytes.
struct RawTensor {
  std::string name;
  std::vector<std::uint64_t> dims;
  std::uint32_t type;
  std::uint64_t offset;
};

Bytes tensor_file(const std::vector<RawTensor>& tensors, std::size_t data_bytes, std::uint32_t alignment = 0) {
  RawGguf g;
  g.header(tensors.size(), alignment != 0 ? 1 : 0);
  if (alignment != 0) g.kv_u32("general.alignment", alignment);
  for (const auto& t : tensors) g.tensor(t.name, t.dims, t.type, t.offset);
  g.pad_to(alignment != 0 ? alignment : 32).zeros(data_bytes);
  return g.bytes();
}

// One metadata entry whose value bytes follow the type tag; `tail` zero bytes keep size checks quiet.
Bytes one_kv(std::string_view key, std::uint32_t type, const RawGguf& value, std::size_t tail = 0) {
  RawGguf g;
  g.header(0, 1).str(key).u32(type);
  Bytes out = g.bytes();
  out.insert(out.end(), value.bytes().begin(), value.bytes().end());
  out.insert(out.end(), tail, std::byte{0});
  return out;
}

TEST(GgufHostileTest, EmptyAndTinyFiles) {
  EXPECT_TRUE(rejects({}, "only 0 bytes"));
  EXPECT_TRUE(rejects(gguf_test::bytes_of("GGU"), "only 3 bytes"));
}

TEST(GgufHostileTest, BadMagic) {
  RawGguf g;
  g.raw("GGML").u32(3).u64(0).u64(0);
  EXPECT_TRUE(rejects(g.bytes(), "not a GGUF file"));
  EXPECT_TRUE(rejects(g.bytes(), "47 47 4d 4c"));
  EXPECT_TRUE(rejects(gguf_test::bytes_of(std::string(24, '\0')), "not a GGUF file"));
}

TEST(GgufHostileTest, UnsupportedVersions) {
  EXPECT_TRUE(rejects(RawGguf().header(0, 0, 1).bytes(), "version 1 is not supported"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 0, 0x03000000).bytes(), "big-endian"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 0, 0x02000000).bytes(), "big-endian"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 0, 4).bytes(), "unsupported GGUF version 4"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 0, 0).bytes(), "unsupported GGUF version 0"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 0, 0xFFFFFFFF).bytes(), "unsupported GGUF version"));
  EXPECT_TRUE(parse(RawGguf().header(0, 0, 2).bytes()).ok());  // v2 is fine
}

TEST(GgufHostileTest, TruncatedHeader) {
  EXPECT_TRUE(rejects(RawGguf().u32(kGgufMagic).u8(3).bytes(), "file ends inside version"));
  EXPECT_TRUE(rejects(RawGguf().u32(kGgufMagic).u32(3).u32(0).bytes(), "file ends inside tensor count"));
  EXPECT_TRUE(rejects(RawGguf().u32(kGgufMagic).u32(3).u64(0).u32(0).bytes(), "file ends inside metadata count"));
}

TEST(GgufHostileTest, HugeCounts) {
  EXPECT_TRUE(rejects(RawGguf().header(kBig, 0).bytes(), "tensor count 1152921504606846976 exceeds the limit"));
  EXPECT_TRUE(rejects(RawGguf().header(0, kBig).bytes(), "metadata count 1152921504606846976 exceeds the limit"));
  EXPECT_TRUE(rejects(RawGguf().header(1000, 0).zeros(100).bytes(), "cannot fit"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 1000).zeros(100).bytes(), "cannot fit"));
  // With the limits off, the bytes left still bound the counts; products must not wrap around
  // (0x07C1F07C1F07C1F1 * 33 == 2^64 + 17).
  for (const std::uint64_t n : {kBig, std::uint64_t{~0ull}, std::uint64_t{0x07C1F07C1F07C1F1ull}}) {
    EXPECT_TRUE(rejects(RawGguf().header(n, 0).zeros(64).bytes(), "cannot fit", no_limits())) << n;
    EXPECT_TRUE(rejects(RawGguf().header(0, n).zeros(64).bytes(), "cannot fit", no_limits())) << n;
    EXPECT_TRUE(rejects(RawGguf().header(n, n).zeros(64).bytes(), "cannot fit", no_limits())) << n;
  }
  // 0x124924924924924A * 14 == 2^64 + 12.
  EXPECT_TRUE(rejects(RawGguf().header(0, 0x124924924924924Aull).zeros(64).bytes(), "cannot fit", no_limits()));
}

TEST(GgufHostileTest, StringsPastTheEnd) {
  EXPECT_TRUE(rejects(RawGguf().header(0, 1).u64(1000).raw("abc").zeros(20).bytes(),
                      "metadata key of 1000 bytes runs past the end"));
  EXPECT_TRUE(rejects(RawGguf().header(0, 1).u64(~0ull).zeros(20).bytes(), "runs past the end", no_limits()));
  EXPECT_TRUE(rejects(RawGguf().header(0, 1).u64(5000).zeros(20).bytes(), "(limit 4096)"));
  const Bytes value = one_kv("k", 8, RawGguf().u64(1 << 20).raw("short"));
  EXPECT_TRUE(rejects(value, "string value of 1048576 bytes runs past the end"));
  EXPECT_TRUE(rejects(value, "key 'k'"));
  EXPECT_TRUE(rejects(one_kv("k", 8, RawGguf().u64(~0ull)), "runs past the end", no_limits()));
}

TEST(GgufHostileTest, TruncatedValues) {
  EXPECT_TRUE(rejects(one_kv("k", 10, RawGguf().u32(1)), "file ends inside a value"));  // u64 cut short
  EXPECT_TRUE(rejects(RawGguf().header(0, 1).str("key").u8(0).zeros(2).bytes(), "metadata value type"));
  EXPECT_TRUE(rejects(one_kv("k", 9, RawGguf().u8(0)), "array element type"));
  EXPECT_TRUE(rejects(one_kv("k", 9, RawGguf().u32(0).u32(1)), "array length"));
}

TEST(GgufHostileTest, HugeArrayCounts) {
  for (std::uint32_t elem : {0u, 7u, 8u, 9u, 10u}) {
    const Bytes b = one_kv("arr", 9, RawGguf().u32(elem).u64(kBig).zeros(16));
    EXPECT_TRUE(rejects(b, "exceeds the limit")) << elem;
    EXPECT_TRUE(rejects(b, "runs past the end of the file", no_limits())) << elem;
  }
  // Within the limit but larger than the file.
  EXPECT_TRUE(rejects(one_kv("arr", 9, RawGguf().u32(4).u64(1000).zeros(16)), "array of 1000 u32 elements runs past"));
  EXPECT_TRUE(rejects(one_kv("arr", 9, RawGguf().u32(8).u64(2).u64(1).raw("a").u64(99)), "string array element"));
}

RawGguf nested_arrays(int levels) {
  RawGguf v;
  for (int i = 1; i < levels; ++i) v.u32(9).u64(1);  // array of (one) array
  v.u32(0).u64(2).u8(1).u8(2);                       // innermost: two u8
  return v;
}

TEST(GgufHostileTest, NestingDepthIsCapped) {
  EXPECT_TRUE(parse(one_kv("n", 9, nested_arrays(4))).ok());  // the default limit is 4 levels
  EXPECT_TRUE(rejects(one_kv("n", 9, nested_arrays(5)), "arrays nested deeper than 4"));
  EXPECT_TRUE(rejects(one_kv("n", 9, nested_arrays(64)), "arrays nested deeper than 4"));
  GgufLimits shallow;
  shallow.max_array_depth = 1;
  EXPECT_TRUE(parse(one_kv("n", 9, nested_arrays(1)), shallow).ok());
  EXPECT_TRUE(rejects(one_kv("n", 9, nested_arrays(2)), "deeper than 1", shallow));
}

TEST(GgufHostileTest, UnknownValueTypes) {
  EXPECT_TRUE(rejects(one_kv("k", 13, RawGguf().u64(0)), "unknown value type 13"));
  EXPECT_TRUE(rejects(one_kv("k", 0xFFFFFFFF, RawGguf().u64(0)), "unknown value type 4294967295"));
  EXPECT_TRUE(rejects(one_kv("k", 9, RawGguf().u32(13).u64(0)), "unknown array element type 13"));
  EXPECT_TRUE(rejects(one_kv("k", 9, RawGguf().u32(9).u64(1).u32(99).u64(0)), "unknown array element type 99"));
}

TEST(GgufHostileTest, BadKeys) {
  EXPECT_TRUE(rejects(one_kv("", 4, RawGguf().u32(1)), "empty key"));
  EXPECT_TRUE(rejects(one_kv("ab\xFF", 4, RawGguf().u32(1)), "not valid UTF-8"));
  EXPECT_TRUE(rejects(one_kv("\xC0\x80", 4, RawGguf().u32(1)), "not valid UTF-8"));
  RawGguf dup;
  dup.header(0, 3).kv_u32("a", 1).kv_u32("b", 2).kv_u32("a", 3);
  EXPECT_TRUE(rejects(dup.bytes(), "duplicate metadata key 'a'"));
}

TEST(GgufHostileTest, BoolBytesAreNormalised) {
  auto f = parse(one_kv("flag", 7, RawGguf().u8(2)));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_TRUE((*f)->get<bool>("flag").value());
  EXPECT_EQ((*f)->find("flag")->raw_bits(), 1u);
}

TEST(GgufHostileTest, BadTensorNames) {
  EXPECT_TRUE(rejects(tensor_file({{"t", {4}, kF32, 0}, {"t", {4}, kF32, 32}}, 64), "duplicate tensor name 't'"));
  EXPECT_TRUE(rejects(tensor_file({{"", {4}, kF32, 0}}, 16), "empty or non-UTF-8 name"));
  EXPECT_TRUE(rejects(tensor_file({{"bad\xFF", {4}, kF32, 0}}, 16), "empty or non-UTF-8 name"));
  EXPECT_TRUE(rejects(tensor_file({{std::string(300, 'x'), {4}, kF32, 0}}, 16), "tensor name is 300 bytes long"));
}

TEST(GgufHostileTest, BadDimensionCounts) {
  EXPECT_TRUE(rejects(tensor_file({{"t", {}, kF32, 0}}, 64), "0 dimensions (expected 1 to 4)"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {}, kF32, 0}}, 64), "tensor 't'"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {1, 1, 1, 1, 1}, kF32, 0}}, 64), "5 dimensions"));
  RawGguf huge_dims;
  huge_dims.header(1, 0).str("t").u32(0xFFFFFFFF).zeros(64);
  EXPECT_TRUE(rejects(huge_dims.bytes(), "4294967295 dimensions"));
}

TEST(GgufHostileTest, UnknownTensorTypes) {
  for (std::uint32_t type : {4u, 5u, 31u, 36u, 99u, 0xFFFFFFFFu}) {
    EXPECT_TRUE(rejects(tensor_file({{"t", {32}, type, 0}}, 256), "unknown tensor type id " + std::to_string(type)));
  }
}

TEST(GgufHostileTest, RowNotAMultipleOfTheBlock) {
  EXPECT_TRUE(rejects(tensor_file({{"q", {33, 2}, kQ4_0, 0}}, 256), "not a multiple of the q4_0 block size 32"));
  EXPECT_TRUE(rejects(tensor_file({{"k", {128}, 12, 0}}, 256), "block size 256"));  // q4_k
}

TEST(GgufHostileTest, MisalignedOffsets) {
  EXPECT_TRUE(rejects(tensor_file({{"t", {4}, kF32, 8}}, 64), "data offset 8 is not a multiple of the alignment 32"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {4}, kF32, 32}}, 128, 64), "not a multiple of the alignment 64"));
  EXPECT_TRUE(parse(tensor_file({{"t", {4}, kF32, 64}}, 128, 64)).ok());
}

TEST(GgufHostileTest, TensorsPastTheEnd) {
  EXPECT_TRUE(rejects(tensor_file({{"t", {16}, kF32, 0}}, 32), "runs past the end of the file"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {4}, kF32, 64}}, 32), "runs past the end of the file"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {4}, kF32, std::uint64_t{1} << 63}}, 32), "runs past the end of the file"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {4}, kF32, ~0ull & ~31ull}}, 32), "runs past the end of the file"));
  // Byte counts near the 2^62 cap must not wrap when added to the offset.
  EXPECT_TRUE(rejects(tensor_file({{"t", {std::uint64_t{1} << 60}, kF32, 32}}, 64), "runs past the end"));
  // The header ends but the aligned data section would start beyond the file.
  RawGguf short_data;
  short_data.header(1, 0).tensor("t", {4}, kF32, 0).zeros(1);
  EXPECT_TRUE(rejects(short_data.bytes(), "ends before its tensor data"));
}

TEST(GgufHostileTest, OverlappingTensors) {
  EXPECT_TRUE(rejects(tensor_file({{"a", {16}, kF32, 0}, {"b", {16}, kF32, 32}}, 128), "tensors 'a' and 'b' overlap"));
  EXPECT_TRUE(rejects(tensor_file({{"a", {16}, kF32, 64}, {"b", {32}, kF32, 0}}, 256), "overlap"));
  EXPECT_TRUE(rejects(tensor_file({{"a", {4}, kF32, 0}, {"b", {4}, kF32, 0}}, 64), "overlap"));
  EXPECT_TRUE(parse(tensor_file({{"a", {8}, kF32, 0}, {"b", {8}, kF32, 32}}, 64)).ok());  // touching is fine
}

TEST(GgufHostileTest, DimensionOverflow) {
  const std::uint64_t k32 = std::uint64_t{1} << 32;
  EXPECT_TRUE(rejects(tensor_file({{"t", {k32, k32}, kF32, 0}}, 64), "element count overflows"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {2, 2, k32, k32}, kF32, 0}}, 64), "element count overflows"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {std::uint64_t{1} << 63}, kF32, 0}}, 64), "negative dimension"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {~0ull}, kF32, 0}}, 64), "negative dimension"));
  // Element count just under the cap but bytes over it (4 bytes each).
  EXPECT_TRUE(rejects(tensor_file({{"t", {std::uint64_t{1} << 61}, kF32, 0}}, 64), "too large"));
  // A zero dimension must not hide an overflowing product of the others (n_rows() would wrap).
  EXPECT_TRUE(rejects(tensor_file({{"t", {0, std::uint64_t{1} << 62, 4}, kF32, 0}}, 64), "element count overflows"));
  EXPECT_TRUE(rejects(tensor_file({{"t", {32, 0, k32, k32}, kF32, 0}}, 64), "element count overflows"));
}

TEST(GgufHostileTest, ZeroSizedTensorsAreAccepted) {
  // A tensor of no bytes occupies nothing, so it cannot overlap; the answer must not depend on
  // the order of the tensor infos.
  for (const bool empty_first : {true, false}) {
    std::vector<RawTensor> ts = {{"b", {4}, kF32, 0}};
    ts.insert(empty_first ? ts.begin() : ts.end(), RawTensor{"empty", {0, 5}, kF32, 0});
    auto f = parse(tensor_file(ts, 64));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    const GgufTensorInfo& t = *(*f)->find_tensor("empty");
    EXPECT_EQ(t.n_elements(), 0);
    EXPECT_EQ(t.n_rows(), 5);
    EXPECT_EQ(t.n_bytes, 0u);
    EXPECT_TRUE((*f)->tensor_data(t).empty());
  }
}

TEST(GgufHostileTest, BadAlignment) {
  auto with_alignment = [](std::uint32_t type, const RawGguf& value) {
    RawGguf g;
    g.header(1, 1).key("general.alignment", static_cast<GgufValueType>(type));
    Bytes out = g.bytes();
    out.insert(out.end(), value.bytes().begin(), value.bytes().end());
    RawGguf rest;
    rest.tensor("t", {4}, kF32, 0).zeros(256);
    out.insert(out.end(), rest.bytes().begin(), rest.bytes().end());
    return out;
  };
  EXPECT_TRUE(rejects(with_alignment(10, RawGguf().u64(64)), "general.alignment must be a u32, found u64"));
  EXPECT_TRUE(rejects(with_alignment(5, RawGguf().u32(64)), "must be a u32, found i32"));
  EXPECT_TRUE(rejects(with_alignment(8, RawGguf().str("32")), "must be a u32, found string"));
  EXPECT_TRUE(rejects(with_alignment(4, RawGguf().u32(48)), "general.alignment 48 is not a power of two"));
  EXPECT_TRUE(rejects(with_alignment(4, RawGguf().u32(0)), "general.alignment 0 is not a power of two"));
  EXPECT_TRUE(rejects(with_alignment(4, RawGguf().u32(1u << 20)), "up to 65536"));
  EXPECT_TRUE(rejects(with_alignment(4, RawGguf().u32(0x80000000u)), "not a power of two up to"));
  EXPECT_TRUE(parse(with_alignment(4, RawGguf().u32(16))).ok());
}

TEST(GgufHostileTest, ErrorsReportTheBytePosition) {
  const auto f = parse(one_kv("k", 13, RawGguf().u64(0)));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("malformed GGUF at byte 37"), std::string_view::npos) << f.status().message();
}

}  // namespace
}  // namespace parley
