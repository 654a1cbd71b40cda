// GgufValue: one metadata value of a GGUF file (a scalar, a string, or an array of them,
// arrays nest). Values own their data and are immutable once built; copies are cheap (arrays
// are shared). The same type is read by GgufFile and written by GgufWriter, so copying the
// tokenizer of one file into another is `writer.set(key, *file.find(key))`.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace parley {

// GGUF is little-endian; Parley reads it in place.
static_assert(std::endian::native == std::endian::little, "Parley supports little-endian hosts only");

// Type tags exactly as stored in the file.
enum class GgufValueType : std::uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

inline constexpr std::uint32_t kGgufValueTypeCount = 13;

// "u32", "string", "array", ...
std::string_view gguf_value_type_name(GgufValueType type);

// Bytes of a fixed-size scalar type in the file (0 for string and array).
std::size_t gguf_scalar_size(GgufValueType type);

class GgufValue;

// Elements of one type. Numeric and bool elements are kept as the file's little-endian bytes
// (`raw`), strings in `strings`, nested arrays in `arrays`.
struct GgufArray {
  GgufValueType elem_type = GgufValueType::kU8;
  std::uint64_t count = 0;
  std::vector<std::byte> raw;
  std::vector<std::string> strings;
  std::vector<GgufValue> arrays;

  // Element i of a numeric array as a double / an integer (CHECKs the index; errors on type).
  Result<double> number_at(std::uint64_t i) const;
  Result<std::int64_t> integer_at(std::uint64_t i) const;

  // The whole array converted element by element; fails on a non-numeric array, or (for the
  // integer form) on a value that does not fit.
  Result<std::vector<float>> to_f32() const;
  Result<std::vector<std::int32_t>> to_i32() const;
};

class GgufValue {
 public:
  GgufValue() = default;  // u8 0; only useful as a placeholder

  static GgufValue u8(std::uint8_t v) { return scalar(GgufValueType::kU8, v); }
  static GgufValue i8(std::int8_t v) { return scalar(GgufValueType::kI8, v); }
  static GgufValue u16(std::uint16_t v) { return scalar(GgufValueType::kU16, v); }
  static GgufValue i16(std::int16_t v) { return scalar(GgufValueType::kI16, v); }
  static GgufValue u32(std::uint32_t v) { return scalar(GgufValueType::kU32, v); }
  static GgufValue i32(std::int32_t v) { return scalar(GgufValueType::kI32, v); }
  static GgufValue u64(std::uint64_t v) { return scalar(GgufValueType::kU64, v); }
  static GgufValue i64(std::int64_t v) { return scalar(GgufValueType::kI64, v); }
  static GgufValue f32(float v) { return scalar(GgufValueType::kF32, v); }
  static GgufValue f64(double v) { return scalar(GgufValueType::kF64, v); }
  static GgufValue boolean(bool v) { return scalar(GgufValueType::kBool, static_cast<std::uint8_t>(v ? 1 : 0)); }
  static GgufValue string(std::string v);
  static GgufValue array(GgufArray a);
  static GgufValue string_array(std::vector<std::string> v);
  static GgufValue f32_array(std::span<const float> v);
  static GgufValue i32_array(std::span<const std::int32_t> v);

  // Builds a scalar from its little-endian bytes as read from a file.
  static GgufValue from_raw_scalar(GgufValueType type, const std::byte* bytes);

  GgufValueType type() const { return type_; }
  bool is_integer() const;
  bool is_float() const { return type_ == GgufValueType::kF32 || type_ == GgufValueType::kF64; }

  // Conversions. Integers convert between widths when the value fits; floats accept integers.
  Result<std::int64_t> to_i64() const;
  Result<std::uint64_t> to_u64() const;
  Result<double> to_f64() const;
  Result<bool> to_bool() const;
  Result<std::string_view> to_string() const;

  // Raw access; CHECK on the wrong kind.
  const std::string& str() const;
  const GgufArray& arr() const;

  // A scalar's bits as stored in the file (little-endian, in the low bytes).
  std::uint64_t raw_bits() const { return bits_; }

  // Short human-readable rendering; arrays show at most `max_elems` elements.
  std::string to_display_string(std::size_t max_elems = 8) const;

  // Bytes this value occupies when serialized (type tag excluded).
  std::uint64_t serialized_size() const;

 private:
  template <typename T>
  static GgufValue scalar(GgufValueType type, T v) {
    GgufValue out;
    out.type_ = type;
    std::memcpy(&out.bits_, &v, sizeof v);
    return out;
  }

  GgufValueType type_ = GgufValueType::kU8;
  std::uint64_t bits_ = 0;                  // scalars, little-endian in the low bytes
  std::string str_;                         // kString
  std::shared_ptr<const GgufArray> arr_;    // kArray
};

}  // namespace parley
