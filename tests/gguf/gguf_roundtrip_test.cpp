// GgufWriter -> GgufFile round trips: every value type, metadata order, typed accessors, tensors,
// alignment, determinism and atomic file writes; plus reading the real vocab files in ../shared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_test_util.h"
#include "gguf/gguf_writer.h"
#include "test_support.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using gguf_test::Bytes;
using gguf_test::bytes_of;
using gguf_test::parse;
using gguf_test::pattern_bytes;
using gguf_test::span_of;

::testing::AssertionResult same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type() != b.type()) {
    return ::testing::AssertionFailure() << gguf_value_type_name(a.type()) << " vs " << gguf_value_type_name(b.type());
  }
  if (a.type() == GgufValueType::kString) {
    if (a.str() != b.str()) return ::testing::AssertionFailure() << "'" << a.str() << "' vs '" << b.str() << "'";
    return ::testing::AssertionSuccess();
  }
  if (a.type() != GgufValueType::kArray) {
    if (a.raw_bits() != b.raw_bits()) return ::testing::AssertionFailure() << a.raw_bits() << " vs " << b.raw_bits();
    return ::testing::AssertionSuccess();
  }
  const GgufArray& x = a.arr();
  const GgufArray& y = b.arr();
  if (x.elem_type != y.elem_type || x.count != y.count || x.raw != y.raw || x.strings != y.strings ||
      x.arrays.size() != y.arrays.size()) {
    return ::testing::AssertionFailure() << "arrays differ: " << a.to_display_string() << " vs "
                                         << b.to_display_string();
  }
  for (std::size_t i = 0; i < x.arrays.size(); ++i) {
    auto r = same_value(x.arrays[i], y.arrays[i]);
    if (!r) return r << " (element " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

GgufArray raw_array(GgufValueType type, std::uint64_t count, const Bytes& raw) {
  GgufArray a;
  a.elem_type = type;
  a.count = count;
  a.raw = raw;
  return a;
}

GgufValue nested_array(std::vector<GgufValue> elems) {
  GgufArray a;
  a.elem_type = GgufValueType::kArray;
  a.count = elems.size();
  a.arrays = std::move(elems);
  return GgufValue::array(std::move(a));
}

// Every value type, edge values, and the awkward arrays (empty, bool, nested, arrays of empties).
std::vector<std::pair<std::string, GgufValue>> all_value_types() {
  const std::int32_t i32s[] = {-1, 0, std::numeric_limits<std::int32_t>::max()};
  const float f32s[] = {0.5f, -2.0f, std::numeric_limits<float>::infinity()};
  const std::uint64_t u64s[] = {0, ~0ull};
  Bytes u64_raw(sizeof u64s);
  std::memcpy(u64_raw.data(), u64s, sizeof u64s);
  const double f64s[] = {1e300, -0.0};
  Bytes f64_raw(sizeof f64s);
  std::memcpy(f64_raw.data(), f64s, sizeof f64s);
  return {
      {"t.u8", GgufValue::u8(255)},
      {"t.i8", GgufValue::i8(-128)},
      {"t.u16", GgufValue::u16(65535)},
      {"t.i16", GgufValue::i16(-32768)},
      {"t.u32", GgufValue::u32(4'000'000'000u)},
      {"t.i32", GgufValue::i32(-5)},
      {"t.f32", GgufValue::f32(1.5f)},
      {"t.bool_true", GgufValue::boolean(true)},
      {"t.bool_false", GgufValue::boolean(false)},
      {"t.string", GgufValue::string("h\xC3\xA9llo \"world\"\n")},
      {"t.string_empty", GgufValue::string("")},
      {"t.u64", GgufValue::u64(~0ull)},
      {"t.i64", GgufValue::i64(std::numeric_limits<std::int64_t>::min())},
      {"t.f64", GgufValue::f64(-0.125)},
      {"t.arr_i32", GgufValue::i32_array(i32s)},
      {"t.arr_f32", GgufValue::f32_array(f32s)},
      {"t.arr_u64", GgufValue::array(raw_array(GgufValueType::kU64, 2, u64_raw))},
      {"t.arr_f64", GgufValue::array(raw_array(GgufValueType::kF64, 2, f64_raw))},
      {"t.arr_bool", GgufValue::array(raw_array(GgufValueType::kBool, 3, bytes_of(std::string("\x01\x00\x01", 3))))},
      {"t.arr_u8_empty", GgufValue::array(raw_array(GgufValueType::kU8, 0, {}))},
      {"t.arr_str", GgufValue::string_array({"a", "", "\xF0\x9F\x98\x80", std::string(300, 'x')})},
      {"t.arr_str_empty", GgufValue::string_array({})},
      {"t.arr_arr", nested_array({GgufValue::i32_array(i32s), GgufValue::string_array({"x", ""}),
                                  GgufValue::array(raw_array(GgufValueType::kU8, 0, {}))})},
      {"t.arr_arr_arr", nested_array({nested_array({GgufValue::string_array({"deep"})}), nested_array({})})},
      {"t.arr_arr_empty", nested_array({})},
  };
}

TEST(GgufRoundTripTest, EveryValueTypeSurvives) {
  const auto values = all_value_types();
  std::set<GgufValueType> types_seen;
  GgufWriter w;
  for (const auto& [k, v] : values) {
    w.set(k, v);
    types_seen.insert(v.type());
    if (v.type() == GgufValueType::kArray) types_seen.insert(v.arr().elem_type);
  }
  EXPECT_EQ(types_seen.size(), kGgufValueTypeCount);
  const Bytes bytes = w.write_memory().value();
  auto f = parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ((*f)->version(), 3u);
  EXPECT_TRUE((*f)->tensors().empty());
  ASSERT_EQ((*f)->metadata().size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ((*f)->metadata()[i].first, values[i].first);  // file order is insertion order
    EXPECT_TRUE(same_value((*f)->metadata()[i].second, values[i].second)) << values[i].first;
    EXPECT_EQ((*f)->metadata()[i].second.serialized_size(), values[i].second.serialized_size());
  }
  EXPECT_TRUE(gguf_test::walk_file(**f, span_of(bytes)));
}

TEST(GgufRoundTripTest, MetadataOrderAndOverwrite) {
  GgufWriter w;
  w.set_u32("zeta", 1);
  w.set_u32("alpha", 2);
  w.set_string("mid", "m");
  w.set_u32("alpha", 3);  // keeps its position, takes the new value
  w.set_string("zeta", "now a string");
  auto f = parse(w.write_memory().value());
  ASSERT_TRUE(f.ok());
  const auto& md = (*f)->metadata();
  ASSERT_EQ(md.size(), 3u);
  EXPECT_EQ(md[0].first, "zeta");
  EXPECT_EQ(md[1].first, "alpha");
  EXPECT_EQ(md[2].first, "mid");
  EXPECT_EQ((*f)->get<std::string>("zeta").value(), "now a string");
  EXPECT_EQ((*f)->get<std::uint32_t>("alpha").value(), 3u);
}

class GgufAccessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GgufWriter w;
    for (const auto& [k, v] : all_value_types()) w.set(k, v);
    w.set_u64("u64.small", 7);
    w.set_u64("u64.big", 1ull << 40);
    w.set_i32("i32.neg", -3);
    bytes_ = w.write_memory().value();
    file_ = std::move(parse(bytes_)).value();
  }
  // The error of a failed access: code plus a check that the key is named.
  template <typename T>
  ErrorCode error_of(std::string_view key) {
    const Result<T> r = file_->get<T>(key);
    EXPECT_FALSE(r.ok()) << key;
    if (r.ok()) return ErrorCode::kOk;
    EXPECT_NE(r.status().message().find(std::string(key)), std::string_view::npos) << r.status().message();
    return r.status().code();
  }
  Bytes bytes_;
  std::unique_ptr<GgufFile> file_;
};

TEST_F(GgufAccessorTest, ConvertsWhenTheValueFits) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.get<std::uint32_t>("u64.small").value(), 7u);
  EXPECT_EQ(f.get<std::int32_t>("u64.small").value(), 7);
  EXPECT_EQ(f.get<std::uint64_t>("u64.big").value(), 1ull << 40);
  EXPECT_EQ(f.get<std::int64_t>("u64.big").value(), std::int64_t{1} << 40);
  EXPECT_EQ(f.get<std::int32_t>("t.u8").value(), 255);
  EXPECT_EQ(f.get<std::int32_t>("t.i8").value(), -128);
  EXPECT_EQ(f.get<std::uint32_t>("t.u32").value(), 4'000'000'000u);
  EXPECT_EQ(f.get<std::int64_t>("t.i64").value(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(f.get<std::uint64_t>("t.u64").value(), ~0ull);
  EXPECT_EQ(f.get<float>("t.f32").value(), 1.5f);
  EXPECT_EQ(f.get<double>("t.f64").value(), -0.125);
  EXPECT_EQ(f.get<float>("i32.neg").value(), -3.0f);  // floats accept integers
  EXPECT_EQ(f.get<double>("t.u64").value(), 18446744073709551615.0);
  EXPECT_TRUE(f.get<bool>("t.bool_true").value());
  EXPECT_FALSE(f.get<bool>("t.bool_false").value());
  EXPECT_EQ(f.get<std::string_view>("t.string").value(), "h\xC3\xA9llo \"world\"\n");
  EXPECT_EQ(f.get<std::string>("t.string_empty").value(), "");
}

TEST_F(GgufAccessorTest, OutOfRangeAndWrongTypeNameTheKey) {
  EXPECT_EQ(error_of<std::uint32_t>("u64.big"), ErrorCode::kOutOfRange);
  EXPECT_EQ(error_of<std::uint32_t>("i32.neg"), ErrorCode::kOutOfRange);
  EXPECT_EQ(error_of<std::uint64_t>("i32.neg"), ErrorCode::kOutOfRange);
  EXPECT_EQ(error_of<std::int64_t>("t.u64"), ErrorCode::kOutOfRange);
  EXPECT_EQ(error_of<std::int32_t>("t.u32"), ErrorCode::kOutOfRange);
  EXPECT_EQ(error_of<bool>("t.u8"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<std::string>("t.u32"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<std::string_view>("t.arr_str"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<std::int64_t>("t.f32"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<std::uint32_t>("t.string"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<double>("t.string"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<float>("t.bool_true"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_of<std::uint32_t>("t.arr_i32"), ErrorCode::kInvalidArgument);
}

TEST_F(GgufAccessorTest, MissingKeysAndDefaults) {
  const GgufFile& f = *file_;
  EXPECT_EQ(error_of<std::uint32_t>("no.such.key"), ErrorCode::kNotFound);
  EXPECT_EQ(f.get<std::uint32_t>("no.such.key", 7u).value(), 7u);
  EXPECT_EQ(f.get<std::string>("no.such.key", std::string("dflt")).value(), "dflt");
  EXPECT_EQ(f.get<std::uint32_t>("u64.small", 99u).value(), 7u);  // present: the default is ignored
  // Present with the wrong type: an error, not the default.
  const Result<std::uint32_t> r = f.get<std::uint32_t>("t.string", 5u);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(f.contains("no.such.key"));
  EXPECT_TRUE(f.contains("t.u8"));
  EXPECT_EQ(f.find("no.such.key"), nullptr);
}

TEST_F(GgufAccessorTest, GetArrayChecksElementType) {
  const GgufFile& f = *file_;
  auto tokens = f.get_array("t.arr_str", GgufValueType::kString);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)->count, 4u);
  EXPECT_EQ((*tokens)->strings[2], "\xF0\x9F\x98\x80");
  ASSERT_TRUE(f.get_array("t.arr_i32").ok());  // any element type

  const auto wrong_elem = f.get_array("t.arr_i32", GgufValueType::kF32);
  ASSERT_FALSE(wrong_elem.ok());
  EXPECT_EQ(wrong_elem.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(wrong_elem.status().message().find("t.arr_i32"), std::string_view::npos);
  EXPECT_NE(wrong_elem.status().message().find("f32"), std::string_view::npos);
  EXPECT_NE(wrong_elem.status().message().find("i32"), std::string_view::npos);

  const auto not_array = f.get_array("t.u32");
  ASSERT_FALSE(not_array.ok());
  EXPECT_EQ(not_array.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.get_array("missing").status().code(), ErrorCode::kNotFound);

  // Element conversions on the arrays that came back.
  const GgufArray& i32s = *f.get_array("t.arr_i32").value();
  EXPECT_EQ(i32s.to_i32().value(), (std::vector<std::int32_t>{-1, 0, std::numeric_limits<std::int32_t>::max()}));
  EXPECT_EQ(i32s.to_f32().value()[0], -1.0f);
  EXPECT_EQ(i32s.integer_at(2).value(), std::numeric_limits<std::int32_t>::max());
  const GgufArray& u64s = *f.get_array("t.arr_u64").value();
  EXPECT_EQ(u64s.to_i32().status().code(), ErrorCode::kOutOfRange);
  const GgufArray& bools = *f.get_array("t.arr_bool").value();
  EXPECT_EQ(bools.to_i32().value(), (std::vector<std::int32_t>{1, 0, 1}));
  EXPECT_EQ(tokens.value()->to_f32().status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.get_array("t.arr_f32").value()->to_i32().status().code(), ErrorCode::kInvalidArgument);
}

struct TensorSpec {
  std::string name;
  TensorType type;
  std::vector<std::int64_t> shape;
};

const std::vector<TensorSpec>& tensor_specs() {
  static const std::vector<TensorSpec> specs = {
      {"tok_embd.weight", TensorType::kF32, {4, 3}},       {"norm.weight", TensorType::kF16, {7}},
      {"blk.0.attn_q.weight", TensorType::kQ4_0, {64, 2}}, {"blk.0.ffn.weight", TensorType::kQ8_0, {32, 1, 3}},
      {"blk.0.k.weight", TensorType::kQ4_K, {256, 2}},     {"blk.0.v.weight", TensorType::kQ6_K, {512}},
      {"four_d", TensorType::kI8, {5, 1, 2, 3}},           {"bf16", TensorType::kBF16, {3}},
  };
  return specs;
}

Bytes write_tensors(std::uint32_t alignment, bool alignment_after_tensors) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  if (alignment != 0 && !alignment_after_tensors) w.set_u32("general.alignment", alignment);
  std::uint32_t seed = 1;
  for (const auto& s : tensor_specs()) {
    EXPECT_TRUE(
        w.add_tensor_bytes(s.name, s.type, s.shape, pattern_bytes(gguf_test::tensor_bytes(s.type, s.shape), seed++))
            .ok());
  }
  if (alignment != 0 && alignment_after_tensors) w.set_u32("general.alignment", alignment);
  EXPECT_EQ(w.tensor_count(), tensor_specs().size());
  return w.write_memory().value();
}

void expect_tensors_round_trip(const Bytes& bytes, std::uint32_t alignment) {
  auto f = parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  const GgufFile& file = **f;
  EXPECT_EQ(file.alignment(), alignment);
  EXPECT_EQ(file.data_offset() % alignment, 0u);
  ASSERT_EQ(file.tensors().size(), tensor_specs().size());
  std::uint32_t seed = 1;
  for (std::size_t i = 0; i < tensor_specs().size(); ++i) {
    const TensorSpec& s = tensor_specs()[i];
    const GgufTensorInfo& t = file.tensors()[i];
    EXPECT_EQ(t.name, s.name);
    EXPECT_EQ(file.find_tensor(s.name), &t);
    EXPECT_EQ(t.type, s.type);
    ASSERT_EQ(t.n_dims, static_cast<int>(s.shape.size()));
    std::int64_t n = 1;
    for (int d = 0; d < kGgufMaxDims; ++d) {
      const std::int64_t want = d < t.n_dims ? s.shape[d] : 1;
      EXPECT_EQ(t.ne[d], want) << s.name << " dim " << d;
      n *= want;
    }
    EXPECT_EQ(t.n_elements(), n);
    const Bytes want = pattern_bytes(gguf_test::tensor_bytes(s.type, s.shape), seed++);
    EXPECT_EQ(t.n_bytes, want.size());
    const std::span<const std::byte> data = file.tensor_data(t);
    ASSERT_EQ(data.size(), want.size());
    EXPECT_EQ(std::memcmp(data.data(), want.data(), want.size()), 0) << s.name;
    EXPECT_EQ(static_cast<std::size_t>(data.data() - bytes.data()) % alignment, 0u) << s.name;
    EXPECT_EQ(t.offset % alignment, 0u);
  }
  EXPECT_EQ(file.find_tensor("nope"), nullptr);
  EXPECT_EQ(file.tensors()[2].shape_string(), "[64, 2]");
  EXPECT_EQ(file.tensors()[6].shape_string(), "[5, 1, 2, 3]");
  EXPECT_TRUE(gguf_test::walk_file(file, span_of(bytes)));
}

TEST(GgufRoundTripTest, TensorsWithDefaultAlignment) {
  const Bytes bytes = write_tensors(0, false);
  expect_tensors_round_trip(bytes, kGgufDefaultAlignment);
}

TEST(GgufRoundTripTest, TensorsWithCustomAlignment) {
  const Bytes before = write_tensors(64, false);
  expect_tensors_round_trip(before, 64);
  // Setting the alignment after adding tensors re-lays them out identically.
  EXPECT_EQ(write_tensors(64, true), before);
  expect_tensors_round_trip(write_tensors(4096, false), 4096);
  expect_tensors_round_trip(write_tensors(1, false), 1);
}

TEST(GgufRoundTripTest, OutputIsDeterministic) {
  const Bytes a = write_tensors(0, false);
  const Bytes b = write_tensors(0, false);
  EXPECT_EQ(a, b);
  GgufWriter w;
  w.set_string("k", "v");
  ASSERT_TRUE(w.add_tensor_bytes("t", TensorType::kF32, {2}, pattern_bytes(8, 9)).ok());
  EXPECT_EQ(w.write_memory().value(), w.write_memory().value());  // writing twice from one writer too
}

TEST(GgufRoundTripTest, ValueCopiedFromOneFileIntoAnother) {
  const Bytes src = gguf_test::small_valid_file();
  auto f = parse(src);
  ASSERT_TRUE(f.ok());
  GgufWriter w;
  for (const auto& [k, v] : (*f)->metadata()) w.set(k, v);
  auto g = parse(w.write_memory().value());
  ASSERT_TRUE(g.ok());
  ASSERT_EQ((*g)->metadata().size(), (*f)->metadata().size());
  for (std::size_t i = 0; i < (*f)->metadata().size(); ++i) {
    EXPECT_TRUE(same_value((*g)->metadata()[i].second, (*f)->metadata()[i].second)) << (*f)->metadata()[i].first;
  }
}

class GgufWriteFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("gguf_write_file_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(GgufWriteFileTest, WritesAtomicallyAndMatchesMemory) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  ASSERT_TRUE(w.add_tensor_bytes("x", TensorType::kQ8_0, {64}, pattern_bytes(68, 4)).ok());
  const std::string path = (dir_ / "model.gguf").string();
  {
    std::ofstream old(path);
    old << "an older file that gets replaced";
  }
  ASSERT_TRUE(w.write_file(path).ok());
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const std::string on_disk = testing::read_file(path);
  const Bytes mem = w.write_memory().value();
  ASSERT_EQ(on_disk.size(), mem.size());
  EXPECT_EQ(std::memcmp(on_disk.data(), mem.data(), mem.size()), 0);

  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ((*f)->path(), path);
  EXPECT_EQ((*f)->file_size(), mem.size());
  const auto data = (*f)->tensor_data(*(*f)->find_tensor("x"));
  EXPECT_EQ(Bytes(data.begin(), data.end()), pattern_bytes(68, 4));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(GgufWriteFileTest, FailuresLeaveNoTemporaryFile) {
  GgufWriter w;
  w.set_u32("a", 1);
  const std::string missing_dir = (dir_ / "no_such_dir" / "m.gguf").string();
  const Status s = w.write_file(missing_dir);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_NE(s.message().find("no_such_dir"), std::string_view::npos);

  // A fill callback that fails: the error carries the tensor name; nothing is left behind.
  GgufWriter bad;
  ASSERT_TRUE(bad.add_tensor("broken", TensorType::kF32, {4},
                             [](std::span<std::byte>) { return data_loss_error("source went away"); })
                  .ok());
  const std::string path = (dir_ / "bad.gguf").string();
  const Status st = bad.write_file(path);
  EXPECT_EQ(st.code(), ErrorCode::kDataLoss);
  EXPECT_NE(st.message().find("broken"), std::string_view::npos) << st.message();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(bad.write_memory().status().code(), ErrorCode::kDataLoss);
}

TEST(GgufWriterTest, RejectsBadTensors) {
  GgufWriter w;
  const Bytes four = pattern_bytes(4, 1);
  ASSERT_TRUE(w.add_tensor_bytes("t", TensorType::kF32, {1}, four).ok());
  EXPECT_EQ(w.add_tensor_bytes("t", TensorType::kF32, {1}, four).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(w.add_tensor_bytes("", TensorType::kF32, {1}, four).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_bytes(std::string(64, 'n'), TensorType::kF32, {1}, four).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_bytes("d0", TensorType::kF32, {}, {}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_bytes("d5", TensorType::kF32, {1, 1, 1, 1, 1}, four).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_bytes("neg", TensorType::kF32, {1, -1}, four).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor_bytes("zero", TensorType::kF32, {0}, {}).code(), ErrorCode::kInvalidArgument);
  const Status block = w.add_tensor_bytes("q", TensorType::kQ4_0, {33}, pattern_bytes(18, 1));
  EXPECT_EQ(block.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(block.message().find("block size 32"), std::string_view::npos) << block.message();
  const Status size = w.add_tensor_bytes("sz", TensorType::kF32, {2}, four);  // needs 8 bytes
  EXPECT_EQ(size.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(size.message().find("needs 8"), std::string_view::npos) << size.message();
  EXPECT_EQ(w.tensor_count(), 1u);  // failed adds change nothing
  // Element counts whose byte size would wrap around must fail rather than write a bogus size.
  const Status huge = w.add_tensor("huge", TensorType::kF32, {32, std::int64_t{1} << 40, std::int64_t{1} << 40},
                                   [](std::span<std::byte>) { return ok_status(); });
  EXPECT_FALSE(huge.ok());
  EXPECT_EQ(w.tensor_count(), 1u);
  auto f = parse(w.write_memory().value());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ((*f)->tensors().size(), 1u);
}

// The writer refuses to produce a file its reader would reject for its alignment.
TEST(GgufWriterTest, InvalidAlignmentIsAnErrorAtWriteTime) {
  for (const GgufValue& bad : {GgufValue::u64(64), GgufValue::u32(48), GgufValue::u32(0), GgufValue::u32(1u << 20),
                               GgufValue::string("32")}) {
    GgufWriter w;
    w.set("general.alignment", bad);
    ASSERT_TRUE(w.add_tensor_bytes("t", TensorType::kF32, {1}, pattern_bytes(4, 1)).ok());
    const auto out = w.write_memory();
    ASSERT_FALSE(out.ok()) << bad.to_display_string();
    EXPECT_NE(out.status().message().find("general.alignment"), std::string_view::npos);
    w.set_u32("general.alignment", 64);  // fixing it makes the same writer succeed
    EXPECT_TRUE(w.write_memory().ok());
  }
}

TEST(GgufFileTest, OpenMissingFileIsNotFoundWithPath) {
  const auto f = GgufFile::open("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(f.status().message().find("/nonexistent/dir/model.gguf"), std::string_view::npos);
}

TEST(GgufFileTest, HeaderOnlyFile) {
  GgufWriter w;
  const Bytes bytes = w.write_memory().value();
  EXPECT_EQ(bytes.size(), 24u);
  auto f = parse(bytes);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_TRUE((*f)->metadata().empty());
  EXPECT_TRUE((*f)->tensors().empty());
  EXPECT_EQ((*f)->path(), "<memory>");
}

std::vector<fs::path> vocab_files() {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(testing::shared_dir()) / "vocab";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".gguf") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(GgufVocabFilesTest, EveryVocabFileOpens) {
  const auto files = vocab_files();
  ASSERT_FALSE(files.empty()) << "no *.gguf under " << testing::shared_dir() << "/vocab";
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    auto f = GgufFile::open(path.string());
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    const GgufFile& file = **f;
    EXPECT_TRUE(file.version() == 2 || file.version() == 3) << file.version();
    ASSERT_TRUE(file.contains("tokenizer.ggml.tokens"));
    auto tokens = file.get_array("tokenizer.ggml.tokens", GgufValueType::kString);
    ASSERT_TRUE(tokens.ok()) << tokens.status().to_string();
    EXPECT_GT((*tokens)->count, 1000u);
    EXPECT_TRUE(file.get<std::string>("general.architecture").ok());
    EXPECT_TRUE(file.get<std::string>("tokenizer.ggml.model").ok());
    EXPECT_EQ(file.file_size(), fs::file_size(path));
    for (const auto& [key, value] : file.metadata()) EXPECT_FALSE(value.to_display_string().empty()) << key;
    for (const auto& t : file.tensors()) EXPECT_EQ(file.tensor_data(t).size(), t.n_bytes) << t.name;
  }
}

}  // namespace
}  // namespace parley
