// The fast forward path (ModelRunner on the CPU and reference backends, paged KV cache) against
// the naive reference forward pass, on synthetic models of every supported architecture.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/rng.h"
#include "kv/block_table.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "model/model_runner.h"
#include "gguf/gguf_writer.h"
#include "model/synth.h"
#include "reference_forward.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

struct Config {
  std::string label;
  SynthOptions synth;
  std::string backend;
  TensorType kv_type;
  double tolerance;  // max |logit - reference| / rms(reference logits)
};

SynthOptions base_options(const std::string& arch, TensorType type) {
  SynthOptions o;
  const bool quantized = tensor_type_info(type).quantized;
  o.arch = arch;
  o.n_layer = 2;
  o.n_embd = 256;
  o.n_head = 8;
  o.n_head_kv = 2;  // grouped-query attention
  o.n_ff = 512;
  o.type = type;
  // Float weights: larger than real ones, so that every layer changes the logits visibly. Quantized
  // weights run on 8-bit quantized activations whose rounding a random network with large weights
  // amplifies chaotically; at the realistic 0.02 the comparison stays meaningful (a broken block
  // scale or layout gives errors of order 1, far above the tolerance).
  o.std = quantized ? 0.02f : 0.08f;
  o.seed = 11;
  return o;
}

// Tolerance of the quantized CPU paths: matmuls run on activations quantized to 8-bit blocks
// (~0.5% RMS error per product); over 2 layers plus the output layer the logits' RMS error is
// ~1.5%, and the largest of 768 logits' errors about 3x that. Measured: 3-4%.
constexpr double kQuantizedTolerance = 0.08;

std::vector<Config> configs() {
  std::vector<Config> c;
  // The reference backend computes exactly what the naive pass does, in a paged F32 cache.
  c.push_back({"llama_f32_reference", base_options("llama", TensorType::kF32), "reference", TensorType::kF32, 1e-4});
  c.push_back({"llama_f32_cpu", base_options("llama", TensorType::kF32), "cpu", TensorType::kF32, 2e-3});
  c.push_back({"llama_f16_cpu_f16kv", base_options("llama", TensorType::kF16), "cpu", TensorType::kF16, 1e-2});
  c.push_back({"llama_q8_0_cpu", base_options("llama", TensorType::kQ8_0), "cpu", TensorType::kF16, kQuantizedTolerance});
  c.push_back({"llama_q4_0_cpu", base_options("llama", TensorType::kQ4_0), "cpu", TensorType::kF16, kQuantizedTolerance});
  c.push_back({"llama_q4_k_cpu", base_options("llama", TensorType::kQ4_K), "cpu", TensorType::kF16, kQuantizedTolerance});
  c.push_back({"llama_q6_k_cpu", base_options("llama", TensorType::kQ6_K), "cpu", TensorType::kF16, kQuantizedTolerance});
  SynthOptions tied = base_options("llama", TensorType::kQ8_0);
  tied.tie_embeddings = true;
  c.push_back({"llama_tied_cpu", tied, "cpu", TensorType::kF16, kQuantizedTolerance});
  SynthOptions llama3 = base_options("llama", TensorType::kF32);
  llama3.llama3_rope_scaling = true;
  llama3.rope_theta = 500000.0f;
  c.push_back({"llama3_rope_freqs_cpu", llama3, "cpu", TensorType::kF32, 2e-3});
  SynthOptions qwen2 = base_options("qwen2", TensorType::kF16);
  qwen2.tie_embeddings = true;
  c.push_back({"qwen2_bias_tied_cpu", qwen2, "cpu", TensorType::kF16, 1e-2});
  SynthOptions qwen3 = base_options("qwen3", TensorType::kF32);
  qwen3.head_dim = 64;  // heads wider than n_embd / n_head
  c.push_back({"qwen3_qknorm_cpu", qwen3, "cpu", TensorType::kF32, 2e-3});
  c.push_back({"qwen3_qknorm_reference", qwen3, "reference", TensorType::kF32, 1e-4});
  return c;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double max_diff = 0.0, sum2 = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(got[i]) - want[i]));
    sum2 += static_cast<double>(want[i]) * want[i];
  }
  return max_diff / (std::sqrt(sum2 / static_cast<double>(want.size())) + 1e-12);
}

std::int32_t argmax(const std::vector<float>& v) {
  return static_cast<std::int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// A model, its cache and a runner, plus per-sequence block tables.
class Harness {
 public:
  Harness(const Config& c, const std::filesystem::path& dir) {
    auto md = builtin_vocab_metadata("bytes");
    CHECK(md.ok());
    path_ = (dir / (c.label + ".gguf")).string();
    CHECK(synth_model(c.synth, *md, path_).ok());
    auto backend = create_backend(c.backend, {.n_threads = 2});
    CHECK(backend.ok());
    backend_ = std::move(*backend);
    auto model = Model::load(path_, *backend_);
    CHECK(model.ok(), "{}", model.status().to_string());
    model_ = std::move(*model);
    const ModelHParams& h = model_->hparams();
    KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, 16, 64, c.kv_type};
    auto kv = KvCache::create(*backend_, layout);
    CHECK(kv.ok());
    kv_ = std::move(*kv);
    auto runner = ModelRunner::create(*model_, kv_->view(), {.max_batch_tokens = 128, .max_seqs = 8});
    CHECK(runner.ok(), "{}", runner.status().to_string());
    runner_ = std::move(*runner);
    alloc_ = std::make_unique<BlockAllocator>(64);
  }
  const std::string& path() const { return path_; }
  ModelRunner& runner() { return *runner_; }
  std::int64_t n_vocab() const { return model_->hparams().n_vocab; }

  // Runs one batch in which sequence s gets tokens chunks[s] appended; returns each one's logits.
  std::vector<std::vector<float>> step(std::vector<BlockTable>& tables, const std::vector<std::vector<std::int32_t>>& chunks) {
    std::vector<std::int32_t> tokens;
    std::vector<ForwardSeq> seqs;
    for (std::size_t s = 0; s < chunks.size(); ++s) {
      const auto pos = tables[s].n_tokens();
      CHECK(tables[s].append(static_cast<std::int32_t>(chunks[s].size()), *alloc_));
      tokens.insert(tokens.end(), chunks[s].begin(), chunks[s].end());
      seqs.push_back({static_cast<std::int32_t>(chunks[s].size()), pos, tables[s].blocks(), true});
    }
    std::vector<float> logits(chunks.size() * static_cast<std::size_t>(n_vocab()));
    const Status st = runner_->forward({tokens, seqs}, logits);
    CHECK(st.ok(), "{}", st.to_string());
    std::vector<std::vector<float>> out;
    for (std::size_t s = 0; s < chunks.size(); ++s) {
      out.emplace_back(logits.begin() + static_cast<std::ptrdiff_t>(s * n_vocab()),
                       logits.begin() + static_cast<std::ptrdiff_t>((s + 1) * n_vocab()));
    }
    return out;
  }
  BlockTable table() const { return BlockTable(16); }
  void release(BlockTable& t) { t.release(*alloc_); }

 private:
  std::string path_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<KvCache> kv_;
  std::unique_ptr<ModelRunner> runner_;
  std::unique_ptr<BlockAllocator> alloc_;
};

std::vector<std::int32_t> random_tokens(std::uint64_t seed, int n, std::int32_t n_vocab) {
  Rng rng(seed);
  std::vector<std::int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(n_vocab))));
  return t;
}

class ForwardTest : public ::testing::TestWithParam<Config> {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("parley_forward_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static std::filesystem::path dir_;
};
std::filesystem::path ForwardTest::dir_;

TEST_P(ForwardTest, PrefillThenDecodeMatchesReference) {
  const Config& c = GetParam();
  Harness hn(c, dir_);
  auto file = GgufFile::open(hn.path());
  ASSERT_TRUE(file.ok());
  auto ref = testing::ReferenceModel::load(**file);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();

  std::vector<std::int32_t> tokens = random_tokens(1, 37, static_cast<std::int32_t>(hn.n_vocab()));
  std::vector<BlockTable> tables{hn.table()};
  auto got = hn.step(tables, {tokens})[0];
  auto want = ref->last_logits(tokens);
  EXPECT_LE(relative_error(got, want), c.tolerance) << "prefill";
  for (int i = 0; i < 4; ++i) {
    const std::int32_t next = argmax(want);
    tokens.push_back(next);
    got = hn.step(tables, {{next}})[0];
    want = ref->last_logits(tokens);
    EXPECT_LE(relative_error(got, want), c.tolerance) << "decode step " << i;
  }
}

TEST_P(ForwardTest, ChunkedPrefillEqualsOneShot) {
  const Config& c = GetParam();
  Harness hn(c, dir_);
  const auto tokens = random_tokens(2, 70, static_cast<std::int32_t>(hn.n_vocab()));
  std::vector<BlockTable> one{hn.table()};
  const auto whole = hn.step(one, {tokens})[0];
  std::vector<BlockTable> chunked{hn.table()};
  std::vector<float> last;
  for (std::size_t at = 0; at < tokens.size(); at += 16) {
    const std::size_t end = std::min(tokens.size(), at + 16);
    last = hn.step(chunked, {std::vector<std::int32_t>(tokens.begin() + static_cast<std::ptrdiff_t>(at),
                                                       tokens.begin() + static_cast<std::ptrdiff_t>(end))})[0];
  }
  // Same math in a different batch shape: only summation order may differ.
  EXPECT_LE(relative_error(last, whole), c.tolerance / 2);
}

TEST_P(ForwardTest, BatchedSequencesEqualUnbatched) {
  const Config& c = GetParam();
  Harness hn(c, dir_);
  const auto n_vocab = static_cast<std::int32_t>(hn.n_vocab());
  const auto a = random_tokens(3, 12, n_vocab);
  const auto b = random_tokens(4, 21, n_vocab);
  const auto d = random_tokens(5, 9, n_vocab);
  // Alone: each sequence's history, then its next chunk.
  std::vector<std::vector<float>> alone;
  {
    std::vector<BlockTable> t{hn.table()};
    alone.push_back(hn.step(t, {a})[0]);  // a: prefill of 12 from position 0
    hn.release(t[0]);
  }
  {
    std::vector<BlockTable> t{hn.table()};
    hn.step(t, {std::vector<std::int32_t>(b.begin(), b.end() - 1)});
    alone.push_back(hn.step(t, {{b.back()}})[0]);  // b: one decode token at position 20
    hn.release(t[0]);
  }
  {
    std::vector<BlockTable> t{hn.table()};
    hn.step(t, {std::vector<std::int32_t>(d.begin(), d.begin() + 4)});
    alone.push_back(hn.step(t, {std::vector<std::int32_t>(d.begin() + 4, d.end())})[0]);  // d: chunk at 4..8
    hn.release(t[0]);
  }
  // Together: the same histories, then all three next chunks in one batch.
  std::vector<BlockTable> t{hn.table(), hn.table(), hn.table()};
  hn.step(t, {{a.front()}, std::vector<std::int32_t>(b.begin(), b.end() - 1), std::vector<std::int32_t>(d.begin(), d.begin() + 4)});
  // a restarts: its first token is already in; continue with the rest as a chunk.
  const auto together = hn.step(t, {std::vector<std::int32_t>(a.begin() + 1, a.end()), {b.back()},
                                    std::vector<std::int32_t>(d.begin() + 4, d.end())});
  for (int s = 0; s < 3; ++s) EXPECT_LE(relative_error(together[static_cast<std::size_t>(s)], alone[static_cast<std::size_t>(s)]), c.tolerance / 2) << s;
}

INSTANTIATE_TEST_SUITE_P(Models, ForwardTest, ::testing::ValuesIn(configs()),
                         [](const auto& info) { return info.param.label; });

TEST(ModelLoad, UnknownArchitectureIsNamed) {
  auto md = builtin_vocab_metadata("bytes");
  ASSERT_TRUE(md.ok());
  GgufWriter w;
  w.set_string("general.architecture", "gptj");
  for (const char* k : {"gptj.context_length", "gptj.embedding_length", "gptj.block_count", "gptj.feed_forward_length",
                        "gptj.attention.head_count"}) {
    w.set_u32(k, 64);
  }
  for (const auto& [k, v] : *md) w.set(k, v);
  const auto path = (std::filesystem::temp_directory_path() / ("parley_gptj_" + std::to_string(::getpid()) + ".gguf")).string();
  ASSERT_TRUE(w.write_file(path).ok());
  auto backend = create_backend("cpu", {.n_threads = 1});
  auto model = Model::load(path, **backend);
  std::filesystem::remove(path);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(model.status().message().find("unsupported architecture 'gptj' (supported: llama, qwen2, qwen3)"),
            std::string_view::npos)
      << model.status().message();
}

TEST(ModelLoad, ErrorsNameWhatIsWrong) {
  auto backend = create_backend("cpu", {.n_threads = 1});
  ASSERT_TRUE(backend.ok());
  auto missing = Model::load("/nonexistent/model.gguf", **backend);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  // A vocabulary-only file has hyperparameters but no weights: the first missing tensor is named.
  auto vocab_only = Model::load(std::string(std::getenv("PARLEY_SHARED_DIR") ? std::getenv("PARLEY_SHARED_DIR") : "../shared") +
                                    "/vocab/ggml-vocab-llama-spm.gguf",
                                **backend);
  ASSERT_FALSE(vocab_only.ok());
  EXPECT_NE(vocab_only.status().message().find("no tensor 'token_embd.weight'"), std::string_view::npos)
      << vocab_only.status().message();
}

}  // namespace
}  // namespace parley
