// libFuzzer target for the GGUF reader. Any input must either be rejected with a Status that has
// a message, or give a file whose metadata and tensor views can all be walked without leaving the
// input buffer. Build and run it with scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "gguf/gguf_file.h"

namespace {

using parley::GgufArray;
using parley::GgufFile;
using parley::GgufValue;
using parley::GgufValueType;

// Tight limits keep every allocation small, so the fuzzer explores structure, not memory.
parley::GgufLimits fuzz_limits() {
  parley::GgufLimits l;
  l.max_tensors = 256;
  l.max_metadata = 256;
  l.max_array_elements = 1u << 16;
  l.max_string_bytes = 1u << 16;
  l.max_key_bytes = 256;
  l.max_tensor_name_bytes = 64;
  l.max_array_depth = 3;
  l.max_alignment = 1u << 12;
  return l;
}

[[noreturn]] void fail() {
  std::abort();
}

void expect(bool cond) {
  if (!cond) fail();
}

void walk_value(const GgufValue& v, std::size_t* sink) {
  *sink += v.to_display_string(16).size();
  *sink += v.serialized_size();
  (void)v.to_i64();
  (void)v.to_u64();
  (void)v.to_f64();
  (void)v.to_bool();
  (void)v.to_string();
  if (v.type() != GgufValueType::kArray) return;
  const GgufArray& a = v.arr();
  const std::size_t elem = parley::gguf_scalar_size(a.elem_type);
  if (a.elem_type == GgufValueType::kString) expect(a.strings.size() == a.count);
  if (a.elem_type == GgufValueType::kArray) {
    expect(a.arrays.size() == a.count);
    for (const GgufValue& e : a.arrays) walk_value(e, sink);
  }
  if (elem > 0) {
    expect(a.raw.size() == a.count * elem);
    if (a.count > 0) {
      *sink += static_cast<std::size_t>(a.number_at(0).value_or(0) != 0);
      *sink += static_cast<std::size_t>(a.integer_at(a.count - 1).value_or(0));
    }
    (void)a.to_f32();
    (void)a.to_i32();
  }
}

template <typename T>
void get_as(const GgufFile& f, const std::string& key) {
  const parley::Result<T> r = f.get<T>(key);
  if (!r.ok()) expect(!r.status().message().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const auto parsed = GgufFile::from_memory(bytes, fuzz_limits());
  if (!parsed.ok()) {
    expect(!parsed.status().message().empty());
    return 0;
  }
  const GgufFile& f = **parsed;
  std::size_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    expect(!key.empty() && f.find(key) == &value);
    walk_value(value, &sink);
    get_as<bool>(f, key);
    get_as<std::int32_t>(f, key);
    get_as<std::uint32_t>(f, key);
    get_as<std::int64_t>(f, key);
    get_as<std::uint64_t>(f, key);
    get_as<float>(f, key);
    get_as<double>(f, key);
    get_as<std::string>(f, key);
    (void)f.get_array(key, GgufValueType::kString);
  }
  expect(f.alignment() != 0 && f.data_offset() % f.alignment() == 0);
  const std::byte* begin = bytes.data();
  const std::byte* end = bytes.data() + bytes.size();
  for (const auto& t : f.tensors()) {
    expect(f.find_tensor(t.name) == &t);
    expect(t.n_dims >= 1 && t.n_dims <= parley::kGgufMaxDims);
    expect(t.n_elements() >= 0 && t.n_rows() >= 0);
    sink += t.shape_string().size();
    const std::span<const std::byte> d = f.tensor_data(t);
    expect(d.size() == t.n_bytes);
    if (d.empty()) continue;
    expect(d.data() >= begin && d.data() < end && static_cast<std::size_t>(end - d.data()) >= d.size());
    // Touch the first and last byte: an out-of-bounds view is an ASan report, not a silent pass.
    const volatile std::byte* first = d.data();
    const volatile std::byte* last = d.data() + d.size() - 1;
    sink += std::to_integer<std::size_t>(*first) + std::to_integer<std::size_t>(*last);
  }
  // Keep the walk from being optimised away.
  __asm__ volatile("" : : "r"(sink) : "memory");
  return 0;
}
