#include "model/synth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "gguf/gguf_file.h"
#include "model/hparams.h"
#include "tensor/quantize.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("parley_synth_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto md = builtin_vocab_metadata("bytes");
    ASSERT_TRUE(md.ok());
    vocab_ = std::move(*md);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<GgufFile> write(const SynthOptions& o, const std::string& name) {
    const std::string path = (dir_ / name).string();
    const Status st = synth_model(o, vocab_, path);
    EXPECT_TRUE(st.ok()) << st.to_string();
    auto f = GgufFile::open(path);
    EXPECT_TRUE(f.ok()) << f.status().to_string();
    return f.ok() ? std::move(*f) : nullptr;
  }

  std::filesystem::path dir_;
  std::vector<std::pair<std::string, GgufValue>> vocab_;
};

SynthOptions small(const std::string& arch) {
  SynthOptions o;
  o.arch = arch;
  o.n_layer = 2;
  o.n_embd = 128;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 256;
  o.type = TensorType::kF32;
  return o;
}

TEST_F(SynthTest, LlamaHasTheStandardTensorsAndHyperparameters) {
  auto f = write(small("llama"), "llama.gguf");
  ASSERT_NE(f, nullptr);
  auto h = read_hparams(*f);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->arch, "llama");
  EXPECT_EQ(h->n_layer, 2);
  EXPECT_EQ(h->n_embd, 128);
  EXPECT_EQ(h->n_head, 4);
  EXPECT_EQ(h->n_head_kv, 2);
  EXPECT_EQ(h->head_dim_k, 32);
  EXPECT_EQ(h->n_ff, 256);
  EXPECT_EQ(h->n_vocab, kBuiltinBytesVocabSize);
  EXPECT_EQ(f->tensors().size(), 1 + 2 * 9 + 2u);
  const GgufTensorInfo* k = f->find_tensor("blk.1.attn_k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->ne[0], 128);
  EXPECT_EQ(k->ne[1], 64);  // 2 kv heads x 32
  EXPECT_NE(f->find_tensor("output.weight"), nullptr);
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.bias"), nullptr);
  // The tokenizer came along.
  auto tok = Tokenizer::from_gguf(*f);
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->n_tokens(), kBuiltinBytesVocabSize);
}

TEST_F(SynthTest, Qwen2HasQkvBiasesAndQwen3HasQkNorms) {
  auto q2 = write(small("qwen2"), "q2.gguf");
  ASSERT_NE(q2, nullptr);
  EXPECT_NE(q2->find_tensor("blk.0.attn_q.bias"), nullptr);
  EXPECT_EQ(q2->find_tensor("blk.0.attn_k.bias")->ne[0], 64);
  SynthOptions o3 = small("qwen3");
  o3.head_dim = 64;  // qwen3 heads may be wider than embd / heads
  auto q3 = write(o3, "q3.gguf");
  ASSERT_NE(q3, nullptr);
  EXPECT_EQ(q3->find_tensor("blk.0.attn_q_norm.weight")->ne[0], 64);
  EXPECT_EQ(q3->find_tensor("blk.0.attn_q.weight")->ne[1], 4 * 64);
  auto h = read_hparams(*q3);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->head_dim_k, 64);
}

TEST_F(SynthTest, TiedEmbeddingsOmitTheOutputMatrix) {
  SynthOptions o = small("llama");
  o.tie_embeddings = true;
  auto f = write(o, "tied.gguf");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->find_tensor("output.weight"), nullptr);
}

TEST_F(SynthTest, DeterministicAcrossThreadCountsAndSeedSensitive) {
  SynthOptions o = small("llama");
  o.type = TensorType::kQ4_K;
  o.n_embd = 256;
  o.n_ff = 512;
  o.threads = 1;
  write(o, "a.gguf");
  o.threads = 2;
  write(o, "b.gguf");
  o.seed = 7;
  write(o, "c.gguf");
  const auto read = [this](const char* n) {
    std::ifstream in(dir_ / n, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read("a.gguf"), read("b.gguf"));
  EXPECT_NE(read("a.gguf"), read("c.gguf"));
}

TEST_F(SynthTest, WeightsHaveTheRequestedDistribution) {
  SynthOptions o = small("llama");
  o.type = TensorType::kQ8_0;
  o.std = 0.05f;
  auto f = write(o, "dist.gguf");
  ASSERT_NE(f, nullptr);
  const auto stats = [&f](const char* name) {
    const GgufTensorInfo* t = f->find_tensor(name);
    std::vector<float> x(static_cast<std::size_t>(t->n_elements()));
    EXPECT_TRUE(dequantize(t->type, f->tensor_data(*t), x).ok());
    double sum = 0, sum2 = 0;
    for (float v : x) {
      sum += v;
      sum2 += v * v;
    }
    const double mean = sum / static_cast<double>(x.size());
    return std::pair{mean, std::sqrt(sum2 / static_cast<double>(x.size()) - mean * mean)};
  };
  const auto [wm, ws] = stats("blk.0.ffn_up.weight");
  EXPECT_NEAR(wm, 0.0, 0.002);
  EXPECT_NEAR(ws, 0.05, 0.003);
  const auto [nm, ns] = stats("blk.0.attn_norm.weight");
  EXPECT_NEAR(nm, 1.0, 0.03);
  EXPECT_NEAR(ns, 0.1, 0.03);
}

TEST_F(SynthTest, RejectsBadShapesWithClearErrors) {
  SynthOptions o = small("llama");
  o.type = TensorType::kQ4_K;  // rows must be multiples of 256
  Status st = synth_model(o, vocab_, (dir_ / "x.gguf").string());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("multiple of the q4_k block size 256"), std::string_view::npos) << st.message();
  o = small("llama");
  o.n_head_kv = 3;
  st = synth_model(o, vocab_, (dir_ / "x.gguf").string());
  EXPECT_NE(st.message().find("must divide"), std::string_view::npos) << st.message();
  o = small("mamba");
  EXPECT_FALSE(synth_model(o, vocab_, (dir_ / "x.gguf").string()).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.gguf"));
  EXPECT_FALSE(synth_model(small("llama"), {}, (dir_ / "x.gguf").string()).ok());
}

}  // namespace
}  // namespace parley
