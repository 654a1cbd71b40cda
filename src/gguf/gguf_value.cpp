#include "gguf/gguf_value.h"

#include <fmt/format.h>

#include <limits>

namespace parley {
namespace {

template <typename T>
T load(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Reads a numeric element of `type` at `p` as either an integer or a double.
struct Number {
  bool is_float;
  bool is_unsigned;
  std::uint64_t u;
  std::int64_t i;
  double f;
};

Number load_number(GgufValueType type, const void* p) {
  Number n{false, false, 0, 0, 0.0};
  switch (type) {
    case GgufValueType::kU8: n.is_unsigned = true; n.u = load<std::uint8_t>(p); break;
    case GgufValueType::kBool: n.is_unsigned = true; n.u = load<std::uint8_t>(p) != 0; break;
    case GgufValueType::kU16: n.is_unsigned = true; n.u = load<std::uint16_t>(p); break;
    case GgufValueType::kU32: n.is_unsigned = true; n.u = load<std::uint32_t>(p); break;
    case GgufValueType::kU64: n.is_unsigned = true; n.u = load<std::uint64_t>(p); break;
    case GgufValueType::kI8: n.i = load<std::int8_t>(p); break;
    case GgufValueType::kI16: n.i = load<std::int16_t>(p); break;
    case GgufValueType::kI32: n.i = load<std::int32_t>(p); break;
    case GgufValueType::kI64: n.i = load<std::int64_t>(p); break;
    case GgufValueType::kF32: n.is_float = true; n.f = load<float>(p); break;
    case GgufValueType::kF64: n.is_float = true; n.f = load<double>(p); break;
    default: break;
  }
  return n;
}

bool is_integer_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kU16: case GgufValueType::kI16:
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kU64: case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

bool is_numeric_type(GgufValueType t) {
  return is_integer_type(t) || t == GgufValueType::kF32 || t == GgufValueType::kF64 || t == GgufValueType::kBool;
}

Result<std::int64_t> number_to_i64(const Number& n, GgufValueType t) {
  if (n.is_float) return invalid_argument_error("expected an integer, found {}", gguf_value_type_name(t));
  if (n.is_unsigned) {
    if (n.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return out_of_range_error("value {} does not fit in int64", n.u);
    }
    return static_cast<std::int64_t>(n.u);
  }
  return n.i;
}

double number_to_f64(const Number& n) {
  if (n.is_float) return n.f;
  return n.is_unsigned ? static_cast<double>(n.u) : static_cast<double>(n.i);
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8: return "u8";
    case GgufValueType::kI8: return "i8";
    case GgufValueType::kU16: return "u16";
    case GgufValueType::kI16: return "i16";
    case GgufValueType::kU32: return "u32";
    case GgufValueType::kI32: return "i32";
    case GgufValueType::kF32: return "f32";
    case GgufValueType::kBool: return "bool";
    case GgufValueType::kString: return "string";
    case GgufValueType::kArray: return "array";
    case GgufValueType::kU64: return "u64";
    case GgufValueType::kI64: return "i64";
    case GgufValueType::kF64: return "f64";
  }
  return "unknown";
}

std::size_t gguf_scalar_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    case GgufValueType::kString: case GgufValueType::kArray: return 0;
  }
  return 0;
}

Result<double> GgufArray::number_at(std::uint64_t i) const {
  CHECK(i < count);
  if (!is_numeric_type(elem_type)) return invalid_argument_error("array of {} is not numeric", gguf_value_type_name(elem_type));
  return number_to_f64(load_number(elem_type, raw.data() + i * gguf_scalar_size(elem_type)));
}

Result<std::int64_t> GgufArray::integer_at(std::uint64_t i) const {
  CHECK(i < count);
  if (!is_integer_type(elem_type) && elem_type != GgufValueType::kBool) {
    return invalid_argument_error("array of {} is not an integer array", gguf_value_type_name(elem_type));
  }
  return number_to_i64(load_number(elem_type, raw.data() + i * gguf_scalar_size(elem_type)), elem_type);
}

Result<std::vector<float>> GgufArray::to_f32() const {
  if (!is_numeric_type(elem_type)) return invalid_argument_error("array of {} is not numeric", gguf_value_type_name(elem_type));
  std::vector<float> out(count);
  if (elem_type == GgufValueType::kF32) {
    if (count > 0) std::memcpy(out.data(), raw.data(), count * sizeof(float));
    return out;
  }
  const std::size_t sz = gguf_scalar_size(elem_type);
  for (std::uint64_t i = 0; i < count; ++i) out[i] = static_cast<float>(number_to_f64(load_number(elem_type, raw.data() + i * sz)));
  return out;
}

Result<std::vector<std::int32_t>> GgufArray::to_i32() const {
  if (!is_integer_type(elem_type) && elem_type != GgufValueType::kBool) {
    return invalid_argument_error("array of {} is not an integer array", gguf_value_type_name(elem_type));
  }
  std::vector<std::int32_t> out(count);
  if (elem_type == GgufValueType::kI32) {
    if (count > 0) std::memcpy(out.data(), raw.data(), count * sizeof(std::int32_t));
    return out;
  }
  const std::size_t sz = gguf_scalar_size(elem_type);
  for (std::uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(const std::int64_t v, number_to_i64(load_number(elem_type, raw.data() + i * sz), elem_type));
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
      return out_of_range_error("array element {} = {} does not fit in int32", i, v);
    }
    out[i] = static_cast<std::int32_t>(v);
  }
  return out;
}

GgufValue GgufValue::string(std::string v) {
  GgufValue out;
  out.type_ = GgufValueType::kString;
  out.str_ = std::move(v);
  return out;
}

GgufValue GgufValue::array(GgufArray a) {
  GgufValue out;
  out.type_ = GgufValueType::kArray;
  out.arr_ = std::make_shared<const GgufArray>(std::move(a));
  return out;
}

GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufArray a;
  a.elem_type = GgufValueType::kString;
  a.count = v.size();
  a.strings = std::move(v);
  return array(std::move(a));
}

GgufValue GgufValue::f32_array(std::span<const float> v) {
  GgufArray a;
  a.elem_type = GgufValueType::kF32;
  a.count = v.size();
  a.raw.resize(v.size_bytes());
  if (!v.empty()) std::memcpy(a.raw.data(), v.data(), v.size_bytes());
  return array(std::move(a));
}

GgufValue GgufValue::i32_array(std::span<const std::int32_t> v) {
  GgufArray a;
  a.elem_type = GgufValueType::kI32;
  a.count = v.size();
  a.raw.resize(v.size_bytes());
  if (!v.empty()) std::memcpy(a.raw.data(), v.data(), v.size_bytes());
  return array(std::move(a));
}

GgufValue GgufValue::from_raw_scalar(GgufValueType type, const std::byte* bytes) {
  const std::size_t n = gguf_scalar_size(type);
  CHECK(n > 0);
  GgufValue out;
  out.type_ = type;
  std::memcpy(&out.bits_, bytes, n);
  if (type == GgufValueType::kBool) out.bits_ = out.bits_ != 0;  // normalise: any non-zero byte is true
  return out;
}

bool GgufValue::is_integer() const { return is_integer_type(type_); }

Result<std::int64_t> GgufValue::to_i64() const {
  if (!is_integer_type(type_)) return invalid_argument_error("expected an integer, found {}", gguf_value_type_name(type_));
  return number_to_i64(load_number(type_, &bits_), type_);
}

Result<std::uint64_t> GgufValue::to_u64() const {
  if (!is_integer_type(type_)) return invalid_argument_error("expected an integer, found {}", gguf_value_type_name(type_));
  const Number n = load_number(type_, &bits_);
  if (n.is_unsigned) return n.u;
  if (n.i < 0) return out_of_range_error("expected a non-negative integer, found {}", n.i);
  return static_cast<std::uint64_t>(n.i);
}

Result<double> GgufValue::to_f64() const {
  if (!is_integer_type(type_) && !is_float()) {
    return invalid_argument_error("expected a number, found {}", gguf_value_type_name(type_));
  }
  return number_to_f64(load_number(type_, &bits_));
}

Result<bool> GgufValue::to_bool() const {
  if (type_ != GgufValueType::kBool) return invalid_argument_error("expected a bool, found {}", gguf_value_type_name(type_));
  return bits_ != 0;
}

Result<std::string_view> GgufValue::to_string() const {
  if (type_ != GgufValueType::kString) return invalid_argument_error("expected a string, found {}", gguf_value_type_name(type_));
  return std::string_view(str_);
}

const std::string& GgufValue::str() const {
  CHECK(type_ == GgufValueType::kString);
  return str_;
}

const GgufArray& GgufValue::arr() const {
  CHECK(type_ == GgufValueType::kArray && arr_ != nullptr);
  return *arr_;
}

std::string GgufValue::to_display_string(std::size_t max_elems) const {
  switch (type_) {
    case GgufValueType::kString: {
      std::string s = str_.size() > 120 ? str_.substr(0, 117) + "..." : str_;
      std::string out = "\"";
      for (char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '"') out += "\\\"";
        else out += c;
      }
      return out + "\"";
    }
    case GgufValueType::kBool: return bits_ ? "true" : "false";
    case GgufValueType::kF32: return fmt::format("{}", static_cast<float>(*to_f64()));  // shortest float text
    case GgufValueType::kF64: return fmt::format("{}", *to_f64());
    case GgufValueType::kArray: {
      const GgufArray& a = *arr_;
      std::string out = fmt::format("[{} x {}]", a.count, gguf_value_type_name(a.elem_type));
      if (a.count == 0) return out;
      out += " [";
      const std::uint64_t shown = std::min<std::uint64_t>(a.count, max_elems);
      for (std::uint64_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        if (a.elem_type == GgufValueType::kString) {
          out += GgufValue::string(a.strings[i]).to_display_string();
        } else if (a.elem_type == GgufValueType::kArray) {
          out += a.arrays[i].to_display_string(max_elems);
        } else {
          out += GgufValue::from_raw_scalar(a.elem_type, a.raw.data() + i * gguf_scalar_size(a.elem_type))
                     .to_display_string();
        }
      }
      if (shown < a.count) out += ", ...";
      return out + "]";
    }
    default: {
      const Number n = load_number(type_, &bits_);
      return n.is_unsigned ? fmt::format("{}", n.u) : fmt::format("{}", n.i);
    }
  }
}

std::uint64_t GgufValue::serialized_size() const {
  if (type_ == GgufValueType::kString) return 8 + str_.size();
  if (type_ != GgufValueType::kArray) return gguf_scalar_size(type_);
  const GgufArray& a = *arr_;
  std::uint64_t n = 4 + 8;  // element type + count
  if (a.elem_type == GgufValueType::kString) {
    for (const auto& s : a.strings) n += 8 + s.size();
  } else if (a.elem_type == GgufValueType::kArray) {
    for (const auto& v : a.arrays) n += v.serialized_size();
  } else {
    n += a.raw.size();
  }
  return n;
}

}  // namespace parley
