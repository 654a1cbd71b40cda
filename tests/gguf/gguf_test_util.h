// Helpers shared by the GGUF tests: a raw byte builder for hand-made (often hostile) files, a
// small valid file from the writer, and a walker that touches everything a parsed file exposes.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace parley::gguf_test {

using Bytes = std::vector<std::byte>;

inline std::span<const std::byte> span_of(const Bytes& b) {
  return {b.data(), b.size()};
}

inline Bytes bytes_of(std::string_view s) {
  Bytes out(s.size());
  if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// Appends little-endian fields exactly as given: nothing is validated, so any file can be made.
class RawGguf {
 public:
  template <typename T>
  RawGguf& put(T v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof v);
    return *this;
  }
  RawGguf& u8(std::uint8_t v) { return put(v); }
  RawGguf& u32(std::uint32_t v) { return put(v); }
  RawGguf& u64(std::uint64_t v) { return put(v); }
  RawGguf& str(std::string_view s) {
    u64(s.size());
    return raw(s);
  }
  RawGguf& raw(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), p, p + s.size());
    return *this;
  }
  RawGguf& zeros(std::size_t n) {
    bytes_.insert(bytes_.end(), n, std::byte{0});
    return *this;
  }
  RawGguf& pad_to(std::size_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(std::byte{0});
    return *this;
  }
  // Magic, version, tensor count, metadata count.
  RawGguf& header(std::uint64_t n_tensors, std::uint64_t n_kv, std::uint32_t version = 3) {
    return u32(kGgufMagic).u32(version).u64(n_tensors).u64(n_kv);
  }
  // A key with a scalar/typed value: key, type tag; the caller appends the value.
  RawGguf& key(std::string_view k, GgufValueType type) { return str(k).u32(static_cast<std::uint32_t>(type)); }
  RawGguf& kv_u32(std::string_view k, std::uint32_t v) { return key(k, GgufValueType::kU32).u32(v); }
  // A tensor info with raw fields.
  RawGguf& tensor(std::string_view name, const std::vector<std::uint64_t>& dims, std::uint32_t type,
                  std::uint64_t offset) {
    str(name).u32(static_cast<std::uint32_t>(dims.size()));
    for (std::uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }

  const Bytes& bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

 private:
  Bytes bytes_;
};

inline Result<std::unique_ptr<GgufFile>> parse(const Bytes& b, const GgufLimits& limits = {}) {
  return GgufFile::from_memory(span_of(b), limits);
}

// Deterministic filler for tensor data.
inline Bytes pattern_bytes(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x & 0xFF);
  }
  return out;
}

inline std::size_t tensor_bytes(TensorType type, const std::vector<std::int64_t>& shape) {
  std::size_t n = tensor_row_bytes(type, shape[0]).value();
  for (std::size_t d = 1; d < shape.size(); ++d) n *= static_cast<std::size_t>(shape[d]);
  return n;
}

// A small valid file: a few metadata types including arrays and strings, three small tensors.
// `alignment` 0 keeps the default (no general.alignment key).
inline Bytes small_valid_file(std::uint32_t alignment = 0) {
  GgufWriter w;
  if (alignment != 0) w.set_u32("general.alignment", alignment);
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 2);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set("tokenizer.ggml.tokens", GgufValue::string_array({"<s>", "", "hello", "\xE2\x96\x81world"}));
  const std::int32_t types[] = {1, 2, 3};
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  GgufArray inner;
  inner.elem_type = GgufValueType::kU16;
  inner.count = 2;
  inner.raw = bytes_of(std::string("\x01\x00\x02\x00", 4));
  GgufArray outer;
  outer.elem_type = GgufValueType::kArray;
  outer.count = 2;
  outer.arrays = {GgufValue::array(inner), GgufValue::array(GgufArray{})};
  w.set("test.nested", GgufValue::array(outer));
  w.set_u64("test.big", 1ull << 40);
  EXPECT_TRUE(w.add_tensor_bytes("a.weight", TensorType::kF32, {4, 2}, pattern_bytes(32, 1)).ok());
  EXPECT_TRUE(w.add_tensor_bytes("b.weight", TensorType::kQ8_0, {32}, pattern_bytes(34, 2)).ok());
  EXPECT_TRUE(w.add_tensor_bytes("c.bias", TensorType::kF16, {3, 2}, pattern_bytes(12, 3)).ok());
  return w.write_memory().value();
}

// Touches every value and every tensor byte range of a parsed file and checks that all views lie
// inside `buf`. Returns a failure naming the first problem.
inline ::testing::AssertionResult walk_file(const GgufFile& f, std::span<const std::byte> buf) {
  const std::byte* begin = buf.data();
  const std::byte* end = buf.data() + buf.size();
  std::size_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    if (key.empty()) return ::testing::AssertionFailure() << "empty key";
    if (f.find(key) != &value) return ::testing::AssertionFailure() << "find('" << key << "') mismatch";
    sink += value.to_display_string(1000).size();
    if (value.type() == GgufValueType::kArray) {
      const GgufArray& a = value.arr();
      const std::size_t elem = gguf_scalar_size(a.elem_type);
      if (a.elem_type == GgufValueType::kString && a.strings.size() != a.count) {
        return ::testing::AssertionFailure() << key << ": string count mismatch";
      }
      if (a.elem_type == GgufValueType::kArray && a.arrays.size() != a.count) {
        return ::testing::AssertionFailure() << key << ": nested count mismatch";
      }
      if (elem > 0 && a.raw.size() != a.count * elem) {
        return ::testing::AssertionFailure() << key << ": raw size mismatch";
      }
      if (elem > 0 && a.count > 0) sink += static_cast<std::size_t>(a.number_at(a.count - 1).value_or(0) != 0);
    }
  }
  if (f.data_offset() % f.alignment() != 0) return ::testing::AssertionFailure() << "unaligned data section";
  for (const auto& t : f.tensors()) {
    if (f.find_tensor(t.name) != &t) return ::testing::AssertionFailure() << "find_tensor('" << t.name << "')";
    if (t.n_dims < 1 || t.n_dims > kGgufMaxDims) return ::testing::AssertionFailure() << t.name << ": n_dims";
    if (t.n_elements() < 0 || t.n_rows() < 0) return ::testing::AssertionFailure() << t.name << ": negative size";
    const Result<std::size_t> row = tensor_row_bytes(t.type, t.ne[0]);
    if (!row.ok() || *row * static_cast<std::uint64_t>(t.n_rows()) != t.n_bytes) {
      return ::testing::AssertionFailure() << t.name << ": n_bytes does not match the shape";
    }
    const std::span<const std::byte> data = f.tensor_data(t);
    if (data.size() != t.n_bytes) return ::testing::AssertionFailure() << t.name << ": span size";
    if (data.empty()) continue;
    if (data.data() < begin || data.data() > end || static_cast<std::size_t>(end - data.data()) < data.size()) {
      return ::testing::AssertionFailure() << t.name << ": tensor data outside the buffer";
    }
    if ((data.data() - begin) % f.alignment() != 0) return ::testing::AssertionFailure() << t.name << ": unaligned";
    sink += std::to_integer<std::size_t>(data.front()) + std::to_integer<std::size_t>(data.back());
    sink += t.shape_string().size();
  }
  return ::testing::AssertionSuccess() << sink;
}

}  // namespace parley::gguf_test
