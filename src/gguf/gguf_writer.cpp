#include "gguf/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gguf/gguf_file.h"

namespace parley {
namespace {

// Appends little-endian encodings to a byte buffer (the header is built in memory).
class Encoder {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out_.insert(out_.end(), p, p + sizeof v);
  }
  void put_string(std::string_view s) {
    put<std::uint64_t>(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), p, p + s.size());
  }
  void put_bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void put_value(const GgufValue& v) {
    switch (v.type()) {
      case GgufValueType::kString: put_string(v.str()); return;
      case GgufValueType::kArray: {
        const GgufArray& a = v.arr();
        put<std::uint32_t>(static_cast<std::uint32_t>(a.elem_type));
        put<std::uint64_t>(a.count);
        if (a.elem_type == GgufValueType::kString) {
          for (const auto& s : a.strings) put_string(s);
        } else if (a.elem_type == GgufValueType::kArray) {
          for (const auto& e : a.arrays) put_value(e);
        } else {
          put_bytes(a.raw);
        }
        return;
      }
      default: {
        const std::uint64_t bits = v.raw_bits();  // little-endian host: the low bytes are the value
        const auto* p = reinterpret_cast<const std::byte*>(&bits);
        out_.insert(out_.end(), p, p + gguf_scalar_size(v.type()));
      }
    }
  }
  std::vector<std::byte>& bytes() { return out_; }

 private:
  std::vector<std::byte> out_;
};

std::uint64_t align_up(std::uint64_t x, std::uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

void GgufWriter::set(std::string_view key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::string(key), std::move(value));
}

Result<std::uint32_t> GgufWriter::alignment() const {
  for (const auto& [k, v] : metadata_) {
    if (k != kKeyGeneralAlignment) continue;
    // The same rule the reader applies, so the writer never produces a file it would refuse.
    const std::uint64_t a = v.type() == GgufValueType::kU32 ? *v.to_u64() : 0;
    if (a == 0 || (a & (a - 1)) != 0 || a > GgufLimits{}.max_alignment) {
      return invalid_argument_error("general.alignment must be a u32 power of two up to {}, got {} {}",
                                    GgufLimits{}.max_alignment, gguf_value_type_name(v.type()), v.to_display_string());
    }
    return static_cast<std::uint32_t>(a);
  }
  return kGgufDefaultAlignment;
}

Status GgufWriter::add_tensor(std::string name, TensorType type, std::vector<std::int64_t> shape, TensorFill fill) {
  if (name.empty() || name.size() >= 64) {
    return invalid_argument_error("tensor name '{}' must be 1 to 63 bytes (the GGUF tools' limit)", name);
  }
  for (const auto& t : tensors_) {
    if (t.name == name) return already_exists_error("tensor '{}' added twice", name);
  }
  if (shape.empty() || shape.size() > 4) return invalid_argument_error("tensor '{}' has {} dimensions", name, shape.size());
  // The reader rejects element and byte counts above 2^62; refuse them here too, before the
  // products below can wrap around into a small, wrong size.
  constexpr std::uint64_t kMaxCount = std::uint64_t{1} << 62;
  std::uint64_t n_elements = 1;
  std::uint64_t rows = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] <= 0) return invalid_argument_error("tensor '{}' has dimension {} = {}", name, d, shape[d]);
    const auto ne = static_cast<std::uint64_t>(shape[d]);
    if (n_elements > kMaxCount / ne) return invalid_argument_error("tensor '{}' has more than 2^62 elements", name);
    n_elements *= ne;
    if (d > 0) rows *= ne;
  }
  ASSIGN_OR_RETURN(const std::size_t row_bytes, tensor_row_bytes(type, shape[0]));
  if (row_bytes > kMaxCount / rows) return invalid_argument_error("tensor '{}' is larger than 2^62 bytes", name);
  tensors_.push_back({std::move(name), type, std::move(shape), row_bytes * rows, std::move(fill)});
  return ok_status();
}

Status GgufWriter::add_tensor_bytes(std::string name, TensorType type, std::vector<std::int64_t> shape,
                                    std::span<const std::byte> data) {
  auto copy = std::make_shared<std::vector<std::byte>>(data.begin(), data.end());
  const std::string n = name;
  RETURN_IF_ERROR(add_tensor(std::move(name), type, std::move(shape), [copy, n](std::span<std::byte> out) -> Status {
    if (out.size() != copy->size()) {
      return invalid_argument_error("tensor '{}': {} bytes of data given, its shape needs {}", n, copy->size(), out.size());
    }
    std::memcpy(out.data(), copy->data(), out.size());
    return ok_status();
  }));
  if (tensors_.back().n_bytes != data.size()) {
    const auto need = tensors_.back().n_bytes;
    tensors_.pop_back();
    return invalid_argument_error("tensor '{}': {} bytes of data given, its shape needs {}", n, data.size(), need);
  }
  return ok_status();
}

Status GgufWriter::write(const std::function<Status(std::span<const std::byte>)>& sink) const {
  ASSIGN_OR_RETURN(const std::uint32_t alignment, this->alignment());
  // Offsets within the data section: each tensor starts aligned.
  std::vector<std::uint64_t> offsets;
  std::uint64_t data_size = 0;
  for (const auto& t : tensors_) {
    offsets.push_back(data_size);
    data_size = align_up(data_size + t.n_bytes, alignment);
  }
  Encoder e;
  e.put<std::uint32_t>(kGgufMagic);
  e.put<std::uint32_t>(3);
  e.put<std::uint64_t>(tensors_.size());
  e.put<std::uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    e.put_string(key);
    e.put<std::uint32_t>(static_cast<std::uint32_t>(value.type()));
    e.put_value(value);
  }
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    e.put_string(t.name);
    e.put<std::uint32_t>(static_cast<std::uint32_t>(t.shape.size()));
    for (const std::int64_t d : t.shape) e.put<std::uint64_t>(static_cast<std::uint64_t>(d));
    e.put<std::uint32_t>(static_cast<std::uint32_t>(t.type));
    e.put<std::uint64_t>(offsets[i]);
  }
  if (!tensors_.empty()) e.bytes().resize(align_up(e.bytes().size(), alignment), std::byte{0});
  RETURN_IF_ERROR(sink(e.bytes()));

  std::vector<std::byte> buf;
  std::uint64_t written = 0;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    if (written < offsets[i]) {
      buf.assign(offsets[i] - written, std::byte{0});
      RETURN_IF_ERROR(sink(buf));
      written = offsets[i];
    }
    buf.assign(t.n_bytes, std::byte{0});
    RETURN_IF_ERROR_CTX(t.fill(buf), "tensor '" + t.name + "'");
    RETURN_IF_ERROR(sink(buf));
    written += t.n_bytes;
  }
  if (written < data_size) {
    buf.assign(data_size - written, std::byte{0});
    RETURN_IF_ERROR(sink(buf));
  }
  return ok_status();
}

Result<std::vector<std::byte>> GgufWriter::write_memory() const {
  std::vector<std::byte> out;
  RETURN_IF_ERROR(write([&out](std::span<const std::byte> b) {
    out.insert(out.end(), b.begin(), b.end());
    return ok_status();
  }));
  return out;
}

Status GgufWriter::write_file(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("create", tmp, errno);
  Status st = write([fd, &tmp](std::span<const std::byte> b) -> Status {
    const std::byte* p = b.data();
    std::size_t left = b.size();
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("write", tmp, errno);
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    return ok_status();
  });
  if (st.ok() && ::fsync(fd) != 0) st = errno_error("fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = errno_error("close", tmp, errno);
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) st = errno_error("rename to", path, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace parley
