// Writes the seed corpus for gguf_reader_fuzz: a handful of small valid GGUF files made with the
// writer (and one hand-encoded file with zero-sized tensors), plus the first 64 KiB of each real vocab file (truncated
// seeds lead the fuzzer into deep metadata quickly).
//
//   gguf_fuzz_seeds OUT_DIR [VOCAB_DIR]   (VOCAB_DIR defaults to $PARLEY_SHARED_DIR/vocab, then ../shared/vocab)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"

namespace {

namespace fs = std::filesystem;
using parley::GgufArray;
using parley::GgufValue;
using parley::GgufValueType;
using parley::GgufWriter;
using parley::TensorType;

constexpr std::size_t kVocabSeedBytes = 64 * 1024;

bool write_bytes(const fs::path& path, const void* data, std::size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  return static_cast<bool>(out);
}

std::vector<std::byte> fill(std::size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 131 + seed * 17) & 0xFF);
  return out;
}

GgufArray raw_array(GgufValueType type, std::uint64_t count, std::size_t elem_bytes) {
  GgufArray a;
  a.elem_type = type;
  a.count = count;
  a.raw = fill(count * elem_bytes, 7);
  return a;
}

void add_tensor(GgufWriter& w, const std::string& name, TensorType type, std::vector<std::int64_t> shape,
                unsigned seed) {
  std::size_t n = parley::tensor_row_bytes(type, shape[0]).value();
  for (std::size_t d = 1; d < shape.size(); ++d) n *= static_cast<std::size_t>(shape[d]);
  const parley::Status s = w.add_tensor_bytes(name, type, std::move(shape), fill(n, seed));
  if (!s.ok()) {
    std::fprintf(stderr, "gguf_fuzz_seeds: %s\n", s.to_string().c_str());
    std::exit(1);
  }
}

// Little-endian fields for seeds the writer refuses to make (it rejects zero dimensions).
class RawBytes {
 public:
  template <typename T>
  RawBytes& put(T v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof v);
    return *this;
  }
  RawBytes& str(const std::string& s) {
    put<std::uint64_t>(s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), p, p + s.size());
    return *this;
  }
  RawBytes& pad(std::size_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(std::byte{0});
    return *this;
  }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// A valid file with zero-sized 3-d and 4-d tensors beside a normal one: the zero dimension lets
// the other dimensions grow large, which leads the fuzzer to the element-count arithmetic.
std::vector<std::byte> zero_dim_seed() {
  RawBytes r;
  r.put<std::uint32_t>(0x46554747).put<std::uint32_t>(3).put<std::uint64_t>(3).put<std::uint64_t>(1);
  r.str("general.architecture").put<std::uint32_t>(8).str("llama");
  auto tensor = [&r](const std::string& name, std::vector<std::uint64_t> dims, std::uint64_t offset) {
    r.str(name).put<std::uint32_t>(static_cast<std::uint32_t>(dims.size()));
    for (std::uint64_t d : dims) r.put<std::uint64_t>(d);
    r.put<std::uint32_t>(0).put<std::uint64_t>(offset);  // f32
  };
  tensor("empty3d", {0, 4, 4}, 0);
  tensor("empty4d", {8, 0, 2, 2}, 32);
  tensor("w", {8, 2}, 0);
  r.pad(32);
  for (int i = 0; i < 64; ++i) r.put<std::uint8_t>(static_cast<std::uint8_t>(i));
  return r.bytes();
}

std::vector<std::pair<std::string, GgufWriter>> writer_seeds() {
  std::vector<std::pair<std::string, GgufWriter>> seeds;

  seeds.emplace_back("header_only.gguf", GgufWriter());

  GgufWriter all;
  all.set("t.u8", GgufValue::u8(1));
  all.set("t.i8", GgufValue::i8(-1));
  all.set("t.u16", GgufValue::u16(2));
  all.set("t.i16", GgufValue::i16(-2));
  all.set_u32("t.u32", 3);
  all.set_i32("t.i32", -3);
  all.set_f32("t.f32", 0.5f);
  all.set_bool("t.bool", true);
  all.set_string("t.string", "h\xC3\xA9llo");
  all.set_u64("t.u64", 1ull << 40);
  all.set("t.i64", GgufValue::i64(-(1ll << 40)));
  all.set("t.f64", GgufValue::f64(0.25));
  all.set("t.arr_bool", GgufValue::array(raw_array(GgufValueType::kBool, 3, 1)));
  all.set("t.arr_u64", GgufValue::array(raw_array(GgufValueType::kU64, 2, 8)));
  all.set("t.arr_str", GgufValue::string_array({"a", "", "bc"}));
  GgufArray nested;
  nested.elem_type = GgufValueType::kArray;
  nested.count = 2;
  nested.arrays = {GgufValue::array(raw_array(GgufValueType::kI16, 2, 2)), GgufValue::string_array({"x"})};
  all.set("t.nested", GgufValue::array(nested));
  seeds.emplace_back("metadata_all_types.gguf", std::move(all));

  GgufWriter tok;
  tok.set_string("general.architecture", "llama");
  tok.set_string("tokenizer.ggml.model", "llama");
  tok.set("tokenizer.ggml.tokens", GgufValue::string_array({"<unk>", "<s>", "</s>", "\xE2\x96\x81the", "a", "b"}));
  const float scores[] = {0, 0, 0, -1.5f, -2, -3};
  tok.set("tokenizer.ggml.scores", GgufValue::f32_array(scores));
  const std::int32_t types[] = {2, 3, 3, 1, 1, 1};
  tok.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  tok.set("tokenizer.ggml.merges", GgufValue::string_array({"a b", "\xE2\x96\x81 t"}));
  tok.set_u32("tokenizer.ggml.bos_token_id", 1);
  seeds.emplace_back("tokenizer.gguf", std::move(tok));

  for (const std::uint32_t alignment : {0u, 64u}) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    if (alignment != 0) w.set_u32("general.alignment", alignment);
    add_tensor(w, "token_embd.weight", TensorType::kF32, {8, 4}, 1);
    add_tensor(w, "output_norm.weight", TensorType::kF16, {8}, 2);
    add_tensor(w, "blk.0.attn_q.weight", TensorType::kQ4_0, {32, 2}, 3);
    add_tensor(w, "blk.0.ffn_up.weight", TensorType::kQ8_0, {64}, 4);
    add_tensor(w, "blk.0.ffn_down.weight", TensorType::kQ4_K, {256}, 5);
    add_tensor(w, "four_d", TensorType::kBF16, {2, 1, 2, 2}, 6);
    seeds.emplace_back(alignment != 0 ? "tensors_align64.gguf" : "tensors.gguf", std::move(w));
  }
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR [VOCAB_DIR]\n", argv[0]);
    return 2;
  }
  const fs::path out_dir = argv[1];
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "gguf_fuzz_seeds: cannot create %s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  int written = 0;
  for (const auto& [name, writer] : writer_seeds()) {
    const auto bytes = writer.write_memory();
    if (!bytes.ok() || !write_bytes(out_dir / name, bytes->data(), bytes->size())) {
      std::fprintf(stderr, "gguf_fuzz_seeds: cannot write %s\n", name.c_str());
      return 1;
    }
    ++written;
    if (name == "tokenizer.gguf") {  // the same file as version 2 (identical layout)
      std::vector<std::byte> v2 = *bytes;
      v2[4] = std::byte{2};
      if (!write_bytes(out_dir / "tokenizer_v2.gguf", v2.data(), v2.size())) return 1;
      ++written;
    }
  }

  const std::vector<std::byte> zero_dim = zero_dim_seed();
  if (!write_bytes(out_dir / "tensors_zero_dim.gguf", zero_dim.data(), zero_dim.size())) return 1;
  ++written;

  fs::path vocab_dir;
  if (argc == 3) {
    vocab_dir = argv[2];
  } else if (const char* shared = std::getenv("PARLEY_SHARED_DIR"); shared != nullptr && *shared) {
    vocab_dir = fs::path(shared) / "vocab";
  } else {
    vocab_dir = "../shared/vocab";
  }
  int truncated = 0;
  for (const auto& entry : fs::directory_iterator(vocab_dir, ec)) {
    if (entry.path().extension() != ".gguf") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<char> head(kVocabSeedBytes);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    const std::string name = entry.path().stem().string() + ".64k.gguf";
    if (!write_bytes(out_dir / name, head.data(), head.size())) return 1;
    ++truncated;
  }
  if (ec) std::fprintf(stderr, "gguf_fuzz_seeds: no vocab seeds (%s: %s)\n", vocab_dir.c_str(), ec.message().c_str());
  std::printf("gguf_fuzz_seeds: %d writer seeds and %d truncated vocab seeds in %s\n", written, truncated,
              out_dir.c_str());
  return 0;
}
