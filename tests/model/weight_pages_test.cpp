// The weights once: after binding, the file pages of tensors the backend repacked are no longer
// resident in the process, while tensors read in place (embedding rows) stay mapped and usable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gguf/gguf_file.h"
#include "kernels/backend.h"
#include "kernels/cpu/matmul.h"
#include "model/model.h"
#include "model/synth.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

// Pages of the whole pages inside `r` that this process has mapped in (present in its page
// table, /proc/self/pagemap bit 63), and how many whole pages there are. (mincore() would tell
// whether the file's pages are in the page cache, which is the kernel's business, not our RSS.)
std::pair<std::size_t, std::size_t> mapped_pages(std::span<const std::byte> r) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t first = (reinterpret_cast<std::uintptr_t>(r.data()) + page - 1) / page;
  const std::uintptr_t last = (reinterpret_cast<std::uintptr_t>(r.data()) + r.size()) / page;
  if (last <= first) return {0, 0};
  std::vector<std::uint64_t> entries(last - first);
  const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  const auto bytes = static_cast<ssize_t>(entries.size() * sizeof(std::uint64_t));
  EXPECT_EQ(::pread(fd, entries.data(), static_cast<std::size_t>(bytes), static_cast<off_t>(first * 8)), bytes);
  ::close(fd);
  std::size_t n = 0;
  for (const std::uint64_t e : entries) n += (e >> 63) & 1;
  return {n, entries.size()};
}

class WeightPagesTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(WeightPagesTest, RepackedTensorsLeaveResidentMemory) {
  if (cpu::detected_matmul_isa() == cpu::MatmulIsa::kScalar) GTEST_SKIP() << "no repacking without SIMD kernels";
  auto md = builtin_vocab_metadata("bytes");
  ASSERT_TRUE(md.ok());
  SynthOptions o;
  o.n_layer = 2;
  o.n_embd = 256;
  o.n_head = 4;
  o.n_head_kv = 4;
  o.n_ff = 1024;
  o.type = GetParam();
  o.threads = 1;
  const auto path = (std::filesystem::temp_directory_path() /
                     ("parley_pages_" + std::to_string(::getpid()) + std::string(tensor_type_name(o.type)) + ".gguf"))
                        .string();
  ASSERT_TRUE(synth_model(o, *md, path).ok());
  auto backend = create_backend("cpu", {.n_threads = 1});
  ASSERT_TRUE(backend.ok());
  auto model = Model::load(path, **backend);
  std::filesystem::remove(path);  // the mapping stays valid
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const GgufFile& f = (*model)->file();
  EXPECT_GT((*model)->released_file_bytes(), 0u);
  std::size_t checked = 0;
  for (const char* name : {"blk.0.ffn_up.weight", "blk.0.ffn_gate.weight", "blk.1.ffn_down.weight", "output.weight"}) {
    const GgufTensorInfo* t = f.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    const auto [resident, total] = mapped_pages(f.tensor_data(*t));
    EXPECT_EQ(resident, 0u) << name << ": " << resident << " of " << total << " pages still resident";
    checked += total;
  }
  EXPECT_GT(checked, 0u);
  // The embedding table is read in place: its rows are still there.
  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  // (Embedding rows are read in place and never released: what the first token reads is mapped.)
  EXPECT_EQ((*model)->weights().token_embd.data, static_cast<const void*>(f.tensor_data(*embd).data()));
  std::vector<float> row(static_cast<std::size_t>(o.n_embd));
  const std::int32_t id = 65;
  (*backend)->get_rows(row.data(), (*model)->weights().token_embd, &id, 1);
  float sum = 0;
  for (float v : row) sum += v * v;
  EXPECT_GT(sum, 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Types, WeightPagesTest,
                         ::testing::Values(TensorType::kF32, TensorType::kF16, TensorType::kQ8_0, TensorType::kQ4_0),
                         [](const auto& info) { return std::string(tensor_type_name(info.param)); });

}  // namespace
}  // namespace parley
