#include "gguf/gguf_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "base/utf8.h"

namespace parley {

// Reads the header, metadata and tensor infos of a GGUF buffer. Every read is bounds-checked;
// every count is checked against the bytes left before anything is allocated for it.
class GgufParser {
 public:
  GgufParser(GgufFile& file, const GgufLimits& limits) : f_(file), limits_(limits), bytes_(file.bytes_) {}

  Status parse() {
    RETURN_IF_ERROR(parse_header());
    RETURN_IF_ERROR(parse_metadata());
    RETURN_IF_ERROR(parse_alignment());
    RETURN_IF_ERROR(parse_tensor_infos());
    return validate_tensor_layout();
  }

 private:
  std::uint64_t remaining() const { return bytes_.size() - pos_; }

  Status error(std::string_view what) const {
    return invalid_argument_error("malformed GGUF at byte {}: {}", pos_, what);
  }

  template <typename T>
  Status read(T* out, std::string_view what) {
    if (remaining() < sizeof(T)) return error(fmt::format("file ends inside {}", what));
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return ok_status();
  }

  Status read_string(std::string* out, std::uint64_t max_bytes, std::string_view what) {
    std::uint64_t len = 0;
    RETURN_IF_ERROR(read(&len, what));
    if (len > max_bytes) return error(fmt::format("{} is {} bytes long (limit {})", what, len, max_bytes));
    if (len > remaining()) return error(fmt::format("{} of {} bytes runs past the end of the file", what, len));
    out->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return ok_status();
  }

  Status parse_header() {
    std::uint32_t magic = 0;
    if (remaining() < 4) return invalid_argument_error("not a GGUF file: only {} bytes", bytes_.size());
    RETURN_IF_ERROR(read(&magic, "magic"));
    if (magic != kGgufMagic) {
      return invalid_argument_error("not a GGUF file: the first bytes are {:02x} {:02x} {:02x} {:02x}, not 'GGUF'",
                                    std::to_integer<int>(bytes_[0]), std::to_integer<int>(bytes_[1]),
                                    std::to_integer<int>(bytes_[2]), std::to_integer<int>(bytes_[3]));
    }
    RETURN_IF_ERROR(read(&f_.version_, "version"));
    const std::uint32_t v = f_.version_;
    if (v == 1) return invalid_argument_error("GGUF version 1 is not supported; re-convert the model with a current converter");
    if ((v & 0xFFFF) == 0 && (v >> 24) >= 2 && (v >> 24) <= 3) {
      return invalid_argument_error("big-endian GGUF files are not supported");
    }
    if (v != 2 && v != 3) return invalid_argument_error("unsupported GGUF version {} (supported: 2, 3)", v);
    RETURN_IF_ERROR(read(&n_tensors_, "tensor count"));
    RETURN_IF_ERROR(read(&n_kv_, "metadata count"));
    if (n_tensors_ > limits_.max_tensors) {
      return error(fmt::format("tensor count {} exceeds the limit {}", n_tensors_, limits_.max_tensors));
    }
    if (n_kv_ > limits_.max_metadata) {
      return error(fmt::format("metadata count {} exceeds the limit {}", n_kv_, limits_.max_metadata));
    }
    // Smallest possible entries: a key/value is 8+1 (key) + 4 (type) + 1; a tensor info is 8+1+4+8+4+8.
    // Divide rather than multiply: with loose limits the products could wrap around.
    constexpr std::uint64_t kMinKvBytes = 14;
    constexpr std::uint64_t kMinTensorBytes = 33;
    if (n_kv_ > remaining() / kMinKvBytes || n_tensors_ > (remaining() - n_kv_ * kMinKvBytes) / kMinTensorBytes) {
      return error(fmt::format("{} metadata entries and {} tensors cannot fit in the {} bytes left", n_kv_,
                               n_tensors_, remaining()));
    }
    return ok_status();
  }

  Status parse_metadata() {
    f_.metadata_.reserve(n_kv_);
    for (std::uint64_t i = 0; i < n_kv_; ++i) {
      std::string key;
      RETURN_IF_ERROR(read_string(&key, limits_.max_key_bytes, "metadata key"));
      if (key.empty()) return error(fmt::format("metadata entry {} has an empty key", i));
      if (!utf8_is_valid(key)) return error(fmt::format("metadata entry {} has a key that is not valid UTF-8", i));
      std::uint32_t type = 0;
      RETURN_IF_ERROR(read(&type, "metadata value type"));
      GgufValue value;
      RETURN_IF_ERROR(parse_value(type, 0, &value).with_context(fmt::format("key '{}'", key)));
      f_.metadata_.emplace_back(std::move(key), std::move(value));
    }
    for (std::size_t i = 0; i < f_.metadata_.size(); ++i) {
      const auto [it, inserted] = f_.metadata_index_.emplace(f_.metadata_[i].first, i);
      if (!inserted) return invalid_argument_error("malformed GGUF: duplicate metadata key '{}'", f_.metadata_[i].first);
    }
    return ok_status();
  }

  Status parse_value(std::uint32_t type, int depth, GgufValue* out) {
    if (type >= kGgufValueTypeCount) return error(fmt::format("unknown value type {}", type));
    const auto t = static_cast<GgufValueType>(type);
    if (t == GgufValueType::kString) {
      std::string s;
      RETURN_IF_ERROR(read_string(&s, limits_.max_string_bytes, "string value"));
      *out = GgufValue::string(std::move(s));
      return ok_status();
    }
    if (t != GgufValueType::kArray) {
      const std::size_t n = gguf_scalar_size(t);
      if (remaining() < n) return error("file ends inside a value");
      *out = GgufValue::from_raw_scalar(t, bytes_.data() + pos_);
      pos_ += n;
      return ok_status();
    }
    if (depth >= limits_.max_array_depth) return error(fmt::format("arrays nested deeper than {}", limits_.max_array_depth));
    GgufArray a;
    std::uint32_t elem = 0;
    RETURN_IF_ERROR(read(&elem, "array element type"));
    if (elem >= kGgufValueTypeCount) return error(fmt::format("unknown array element type {}", elem));
    a.elem_type = static_cast<GgufValueType>(elem);
    RETURN_IF_ERROR(read(&a.count, "array length"));
    if (a.count > limits_.max_array_elements) {
      return error(fmt::format("array of {} elements exceeds the limit {}", a.count, limits_.max_array_elements));
    }
    // Minimum bytes per element bounds the count by what is left, before allocating.
    const std::uint64_t min_elem = a.elem_type == GgufValueType::kString ? 8
                                   : a.elem_type == GgufValueType::kArray ? 12
                                                                           : gguf_scalar_size(a.elem_type);
    if (a.count > remaining() / min_elem) {
      return error(fmt::format("array of {} {} elements runs past the end of the file", a.count,
                               gguf_value_type_name(a.elem_type)));
    }
    if (a.elem_type == GgufValueType::kString) {
      a.strings.resize(a.count);
      for (auto& s : a.strings) RETURN_IF_ERROR(read_string(&s, limits_.max_string_bytes, "string array element"));
    } else if (a.elem_type == GgufValueType::kArray) {
      a.arrays.resize(a.count);
      for (auto& v : a.arrays) RETURN_IF_ERROR(parse_value(static_cast<std::uint32_t>(GgufValueType::kArray), depth + 1, &v));
    } else {
      const std::uint64_t n = a.count * min_elem;
      a.raw.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), bytes_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
      pos_ += n;
    }
    *out = GgufValue::array(std::move(a));
    return ok_status();
  }

  Status parse_alignment() {
    const GgufValue* v = f_.find(kKeyGeneralAlignment);
    if (v == nullptr) return ok_status();
    if (v->type() != GgufValueType::kU32) {
      return invalid_argument_error("malformed GGUF: general.alignment must be a u32, found {}",
                                    gguf_value_type_name(v->type()));
    }
    const std::uint64_t a = *v->to_u64();
    if (a == 0 || (a & (a - 1)) != 0 || a > limits_.max_alignment) {
      return invalid_argument_error("malformed GGUF: general.alignment {} is not a power of two up to {}", a,
                                    limits_.max_alignment);
    }
    f_.alignment_ = static_cast<std::uint32_t>(a);
    return ok_status();
  }

  Status parse_tensor_infos() {
    f_.tensors_.resize(n_tensors_);
    for (std::uint64_t i = 0; i < n_tensors_; ++i) {
      GgufTensorInfo& t = f_.tensors_[i];
      RETURN_IF_ERROR(read_string(&t.name, limits_.max_tensor_name_bytes, "tensor name"));
      if (t.name.empty() || !utf8_is_valid(t.name)) return error(fmt::format("tensor {} has an empty or non-UTF-8 name", i));
      RETURN_IF_ERROR(parse_tensor_info(t).with_context(fmt::format("tensor '{}'", t.name)));
    }
    for (std::size_t i = 0; i < f_.tensors_.size(); ++i) {
      const auto [it, inserted] = f_.tensor_index_.emplace(f_.tensors_[i].name, i);
      if (!inserted) return invalid_argument_error("malformed GGUF: duplicate tensor name '{}'", f_.tensors_[i].name);
    }
    return ok_status();
  }

  Status parse_tensor_info(GgufTensorInfo& t) {
    std::uint32_t n_dims = 0;
    RETURN_IF_ERROR(read(&n_dims, "dimension count"));
    if (n_dims == 0 || n_dims > static_cast<std::uint32_t>(kGgufMaxDims)) {
      return error(fmt::format("{} dimensions (expected 1 to {})", n_dims, kGgufMaxDims));
    }
    t.n_dims = static_cast<int>(n_dims);
    // The product of the non-zero dimensions is bounded, so that no partial product (n_rows(),
    // n_elements()) can overflow even when a zero dimension makes the element count 0.
    std::uint64_t n_elems = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      std::uint64_t ne = 0;
      RETURN_IF_ERROR(read(&ne, "dimension"));
      if (ne > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return error("negative dimension");
      if (ne == 0) {
        t.ne[d] = 0;
        continue;
      }
      if (n_elems > (std::uint64_t{1} << 62) / ne) return error("element count overflows");
      n_elems *= ne;
      t.ne[d] = static_cast<std::int64_t>(ne);
    }
    std::uint32_t type = 0;
    RETURN_IF_ERROR(read(&type, "tensor type"));
    const TensorTypeInfo* info = tensor_type_info(type);
    if (info == nullptr) return error(fmt::format("unknown tensor type id {}", type));
    t.type = info->type;
    RETURN_IF_ERROR(read(&t.offset, "tensor offset"));
    const Result<std::size_t> row = tensor_row_bytes(t.type, t.ne[0]);
    if (!row.ok()) return error(row.status().message());
    const std::uint64_t rows = static_cast<std::uint64_t>(t.n_rows());
    if (rows != 0 && *row > (std::uint64_t{1} << 62) / rows) return error("byte size overflows");
    t.n_bytes = *row * rows;
    if (t.offset % f_.alignment_ != 0) {
      return error(fmt::format("data offset {} is not a multiple of the alignment {}", t.offset, f_.alignment_));
    }
    return ok_status();
  }

  Status validate_tensor_layout() {
    const std::uint64_t header_end = pos_;
    f_.data_offset_ = (header_end + f_.alignment_ - 1) / f_.alignment_ * f_.alignment_;
    if (f_.tensors_.empty()) return ok_status();
    if (f_.data_offset_ > bytes_.size()) {
      return invalid_argument_error("malformed GGUF: the file ends before its tensor data ({} of {} bytes)",
                                    bytes_.size(), f_.data_offset_);
    }
    const std::uint64_t data_size = bytes_.size() - f_.data_offset_;
    std::vector<const GgufTensorInfo*> by_offset;
    by_offset.reserve(f_.tensors_.size());
    for (const auto& t : f_.tensors_) {
      if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
        return invalid_argument_error(
            "malformed GGUF: tensor '{}' ({} bytes at data offset {}) runs past the end of the file (data section is "
            "{} bytes); the file may be truncated",
            t.name, t.n_bytes, t.offset, data_size);
      }
      if (t.n_bytes > 0) by_offset.push_back(&t);  // a tensor of no bytes cannot overlap anything
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensorInfo& prev = *by_offset[i - 1];
      if (prev.offset + prev.n_bytes > by_offset[i]->offset) {
        return invalid_argument_error("malformed GGUF: tensors '{}' and '{}' overlap", prev.name, by_offset[i]->name);
      }
    }
    return ok_status();
  }

  GgufFile& f_;
  const GgufLimits& limits_;
  std::span<const std::byte> bytes_;
  std::uint64_t pos_ = 0;
  std::uint64_t n_tensors_ = 0;
  std::uint64_t n_kv_ = 0;
};

std::string GgufTensorInfo::shape_string() const {
  std::string out = "[";
  for (int d = 0; d < n_dims; ++d) {
    if (d) out += ", ";
    out += std::to_string(ne[d]);
  }
  return out + "]";
}

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path, const GgufLimits& limits) {
  ASSIGN_OR_RETURN(MappedFile mapping, MappedFile::open(path));
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->mapping_ = std::move(mapping);
  f->bytes_ = f->mapping_.bytes();
  RETURN_IF_ERROR_CTX(GgufParser(*f, limits).parse(), path);
  return f;
}

Result<std::unique_ptr<GgufFile>> GgufFile::from_memory(std::span<const std::byte> bytes, const GgufLimits& limits) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = "<memory>";
  f->bytes_ = bytes;
  RETURN_IF_ERROR(GgufParser(*f, limits).parse());
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

template <typename T>
Result<T> convert(const GgufValue& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.to_bool();
  } else if constexpr (std::is_same_v<T, std::string_view>) {
    return v.to_string();
  } else if constexpr (std::is_same_v<T, std::string>) {
    ASSIGN_OR_RETURN(std::string_view s, v.to_string());
    return std::string(s);
  } else if constexpr (std::is_floating_point_v<T>) {
    ASSIGN_OR_RETURN(double d, v.to_f64());
    return static_cast<T>(d);
  } else if constexpr (std::is_unsigned_v<T>) {
    ASSIGN_OR_RETURN(std::uint64_t u, v.to_u64());
    if (u > std::numeric_limits<T>::max()) return out_of_range_error("value {} is too large", u);
    return static_cast<T>(u);
  } else {
    ASSIGN_OR_RETURN(std::int64_t i, v.to_i64());
    if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) {
      return out_of_range_error("value {} is out of range", i);
    }
    return static_cast<T>(i);
  }
}

}  // namespace

template <typename T>
Result<T> GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return not_found_error("metadata key '{}' is missing", key);
  Result<T> r = convert<T>(*v);
  if (!r.ok()) return r.status().with_context(fmt::format("metadata key '{}'", key));
  return r;
}

template Result<bool> GgufFile::get<bool>(std::string_view) const;
template Result<std::int32_t> GgufFile::get<std::int32_t>(std::string_view) const;
template Result<std::uint32_t> GgufFile::get<std::uint32_t>(std::string_view) const;
template Result<std::int64_t> GgufFile::get<std::int64_t>(std::string_view) const;
template Result<std::uint64_t> GgufFile::get<std::uint64_t>(std::string_view) const;
template Result<float> GgufFile::get<float>(std::string_view) const;
template Result<double> GgufFile::get<double>(std::string_view) const;
template Result<std::string_view> GgufFile::get<std::string_view>(std::string_view) const;
template Result<std::string> GgufFile::get<std::string>(std::string_view) const;

Result<const GgufArray*> GgufFile::get_array(std::string_view key, std::optional<GgufValueType> elem_type) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return not_found_error("metadata key '{}' is missing", key);
  if (v->type() != GgufValueType::kArray) {
    return invalid_argument_error("metadata key '{}': expected an array, found {}", key, gguf_value_type_name(v->type()));
  }
  const GgufArray& a = v->arr();
  if (elem_type && a.elem_type != *elem_type) {
    return invalid_argument_error("metadata key '{}': expected an array of {}, found an array of {}", key,
                                  gguf_value_type_name(*elem_type), gguf_value_type_name(a.elem_type));
  }
  return &a;
}

}  // namespace parley
