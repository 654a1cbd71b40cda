// Batch invariance of the CPU forward pass: a sequence's logits are the same bits however its
// prompt was chunked, whatever else the batch held, and with any number of threads. The serving
// engine sizes prompt chunks from measured step times (the latency target), so without this a
// seeded request would give other tokens on a busy machine (serving-engine.md, "Seeds").
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/rng.h"
#include "kernels/cpu/matmul.h"
#include "kv/block_table.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "model/model_runner.h"
#include "model/synth.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

struct Case {
  std::string label;
  SynthOptions synth;
  TensorType kv_type;
};

SynthOptions shape(std::int64_t n_head, std::int64_t n_head_kv, TensorType type) {
  SynthOptions o;
  o.n_layer = 2;
  o.n_embd = 128;
  o.n_head = n_head;
  o.n_head_kv = n_head_kv;
  o.n_ff = 256;
  o.type = type;
  o.std = tensor_type_info(type).quantized ? 0.05f : 0.08f;
  o.seed = 5;
  o.threads = 1;
  return o;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // The SDK tests' model: 4 heads over 2 KV heads (tiles of 1-3 queries at decode), Q8_0.
  c.push_back({"q8_0_group2", shape(4, 2, TensorType::kQ8_0), TensorType::kF16});
  c.push_back({"q8_0_group2_q8kv", shape(4, 2, TensorType::kQ8_0), TensorType::kQ8_0});
  // No GQA: every decode tile holds one query.
  c.push_back({"f16_no_gqa", shape(4, 4, TensorType::kF16), TensorType::kF16});
  c.push_back({"f32_group4_f32kv", shape(8, 2, TensorType::kF32), TensorType::kF32});
  SynthOptions q4_k = shape(4, 2, TensorType::kQ4_K);
  q4_k.n_embd = 256;  // K-quants come in rows of 256
  q4_k.n_ff = 512;
  c.push_back({"q4_k_group2", q4_k, TensorType::kF16});
  SynthOptions qwen2 = shape(4, 2, TensorType::kF16);
  qwen2.arch = "qwen2";
  qwen2.tie_embeddings = true;
  c.push_back({"qwen2_f16_tied", qwen2, TensorType::kF16});
  return c;
}

class Runner {
 public:
  Runner(const Model& model, Backend& backend, TensorType kv_type) {
    const ModelHParams& h = model.hparams();
    KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, 16, 64, kv_type};
    kv_ = std::move(*KvCache::create(backend, layout));
    auto r = ModelRunner::create(model, kv_->view(), {.max_batch_tokens = 128, .max_seqs = 8});
    CHECK(r.ok(), "{}", r.status().to_string());
    runner_ = std::move(*r);
    n_vocab_ = h.n_vocab;
  }
  BlockTable table() const { return BlockTable(16); }
  // One batch: sequence s gets chunks[s] appended; the logits of each.
  std::vector<std::vector<float>> step(std::vector<BlockTable>& tables,
                                       const std::vector<std::vector<std::int32_t>>& chunks) {
    std::vector<std::int32_t> tokens;
    std::vector<ForwardSeq> seqs;
    for (std::size_t s = 0; s < chunks.size(); ++s) {
      const auto pos = tables[s].n_tokens();
      CHECK(tables[s].append(static_cast<std::int32_t>(chunks[s].size()), alloc_));
      tokens.insert(tokens.end(), chunks[s].begin(), chunks[s].end());
      seqs.push_back({static_cast<std::int32_t>(chunks[s].size()), pos, tables[s].blocks(), true});
    }
    std::vector<float> logits(chunks.size() * static_cast<std::size_t>(n_vocab_));
    const Status st = runner_->forward({tokens, seqs}, logits);
    CHECK(st.ok(), "{}", st.to_string());
    std::vector<std::vector<float>> out;
    for (std::size_t s = 0; s < chunks.size(); ++s) {
      const auto at = logits.begin() + static_cast<std::ptrdiff_t>(s * static_cast<std::size_t>(n_vocab_));
      out.emplace_back(at, at + n_vocab_);
    }
    return out;
  }
  void release(BlockTable& t) { t.release(alloc_); }

 private:
  std::unique_ptr<KvCache> kv_;
  std::unique_ptr<ModelRunner> runner_;
  BlockAllocator alloc_{64};
  std::int64_t n_vocab_ = 0;
};

std::vector<std::int32_t> random_tokens(std::uint64_t seed, int n) {
  Rng rng(seed);
  std::vector<std::int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<std::int32_t>(rng.below(250)));
  return t;
}

std::vector<std::int32_t> slice(const std::vector<std::int32_t>& v, std::size_t at, std::size_t n) {
  return {v.begin() + static_cast<std::ptrdiff_t>(at),
          v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size(), at + n))};
}

// The index of the first logit whose bits differ, or -1.
std::int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<std::int64_t>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<std::int64_t>(a.size());
}

class BatchInvarianceTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("parley_invariance_" + std::to_string(::getpid()) + GetParam().label);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "m.gguf").string();
    auto md = builtin_vocab_metadata("bytes");
    CHECK(md.ok());
    CHECK(synth_model(GetParam().synth, *md, path_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Reads `prompt` in chunks of the given sizes (the last repeated), then decodes `decode` tokens
  // one at a time beside a second sequence's chunks (when `neighbour`); the logits of every step
  // of the first sequence that ends its known tokens.
  std::vector<std::vector<float>> run(int threads, const std::vector<std::size_t>& chunk_sizes, bool neighbour) {
    auto backend = std::move(*create_backend("cpu", {.n_threads = threads}));
    auto model = std::move(*Model::load(path_, *backend));
    Runner r(*model, *backend, GetParam().kv_type);
    const auto prompt = random_tokens(1, 70);
    const auto other = random_tokens(2, 90);
    std::vector<BlockTable> tables{r.table(), r.table()};
    std::size_t at = 0, other_at = 0, i = 0;
    std::vector<std::vector<float>> out;
    const auto step = [&](std::vector<std::int32_t> mine) {
      if (neighbour && other_at < other.size()) {
        auto theirs = slice(other, other_at, 5 + (other_at % 7));
        other_at += theirs.size();
        return r.step(tables, {std::move(mine), std::move(theirs)})[0];
      }
      return r.step(tables, {std::move(mine)})[0];  // the first table only
    };
    while (at < prompt.size()) {
      const std::size_t n = chunk_sizes[std::min(i++, chunk_sizes.size() - 1)];
      auto chunk = slice(prompt, at, n);
      at += chunk.size();
      auto logits = step(std::move(chunk));
      if (at == prompt.size()) out.push_back(std::move(logits));
    }
    for (int d = 0; d < 6; ++d) {
      // The next token is fixed, not sampled: the inputs stay the same when the logits differ.
      out.push_back(step({static_cast<std::int32_t>(40 + 13 * d)}));
    }
    return out;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_P(BatchInvarianceTest, LogitsAreTheSameBitsHoweverThePromptIsChunkedOrBatched) {
  const auto whole = run(2, {70}, false);
  struct Variant {
    const char* name;
    int threads;
    std::vector<std::size_t> chunks;
    bool neighbour;
  };
  const Variant variants[] = {
      {"chunks of 16", 2, {16}, false},
      {"chunks of 1, 2, 3, then 17", 2, {1, 2, 3, 17}, false},
      {"chunks of 33 then 1", 2, {33, 1}, false},
      {"chunks of 16 beside another sequence", 2, {16}, true},
      {"one chunk beside another sequence", 2, {70}, true},
      {"chunks of 7, 1 thread", 1, {7}, false},
      {"chunks of 5, 3 threads", 3, {5}, true},
  };
  for (const Variant& v : variants) {
    const auto got = run(v.threads, v.chunks, v.neighbour);
    ASSERT_EQ(got.size(), whole.size());
    for (std::size_t s = 0; s < got.size(); ++s) {
      EXPECT_EQ(first_difference(got[s], whole[s]), -1) << v.name << ", step " << s << " (0: the prompt's last)";
    }
  }
}

// The same on the AVX2 kernels (the path of processors without AVX-512).
TEST_P(BatchInvarianceTest, AndOnTheAvx2Kernels) {
  struct IsaGuard {
    IsaGuard() { cpu::set_matmul_isa_limit(cpu::MatmulIsa::kAvx2); }
    ~IsaGuard() { cpu::set_matmul_isa_limit(cpu::MatmulIsa::kAvx512); }
  } guard;
  const auto whole = run(2, {70}, false);
  const auto got = run(2, {1, 2, 3, 17}, true);
  ASSERT_EQ(got.size(), whole.size());
  for (std::size_t s = 0; s < got.size(); ++s) EXPECT_EQ(first_difference(got[s], whole[s]), -1) << "step " << s;
}

INSTANTIATE_TEST_SUITE_P(Models, BatchInvarianceTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace parley
