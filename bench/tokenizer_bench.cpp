// Tokenizer throughput on a large mixed text (English prose, code, numbers, CJK, Cyrillic, emoji),
// encode and decode, for each tokenizer family. Reports bytes/s (MB/s) of input text.
//   build/bench/tokenizer_bench [--benchmark_filter=llama]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>

#include "base/check.h"
#include "gguf/gguf_file.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

std::string shared_dir() {
  const char* env = std::getenv("PARLEY_SHARED_DIR");
  return env != nullptr && *env ? env : PARLEY_SHARED_DIR;
}

// About 2 MiB: the built-in corpus plus code and multilingual text, repeated with variation so
// that the text is not one short loop.
const std::string& mixed_text() {
  static const std::string text = [] {
    const std::string code = R"(
    for (std::size_t i = 0; i < rows; ++i) {
      const float* x = input + i * n_embd;   // [n_tokens, n_embd]
      out[i] = std::sqrt(sum / static_cast<float>(n_embd) + 1e-5f);
    }
    def tokenize(text: str) -> list[int]:
        return [vocab.get(piece, UNK) for piece in re.findall(r"\w+|\S", text)]
)";
    const std::string multilingual =
        "Привет, как дела? 我想在苹果公司工作三年。 こんにちは世界！ Ελληνικά κείμενα. مرحبا بالعالم "
        "🦙🙂🚀 emoji and the numbers 3.14159, 2048, 1,000,000 and 0x7fff.\n";
    std::string t;
    for (int i = 0; t.size() < (2u << 20); ++i) {
      t += kBuiltinCorpus;
      t += code;
      t += multilingual;
      t += " iteration " + std::to_string(i * 7919) + "\n";
    }
    return t;
  }();
  return text;
}

const Tokenizer& load(const std::string& name) {
  static std::map<std::string, std::pair<std::unique_ptr<GgufFile>, std::unique_ptr<Tokenizer>>> cache;
  auto& e = cache[name];
  if (!e.second) {
    auto f = GgufFile::open(shared_dir() + "/vocab/ggml-vocab-" + name + ".gguf");
    CHECK(f.ok(), "{}", f.status().to_string());
    auto t = Tokenizer::from_gguf(**f);
    CHECK(t.ok(), "{}", t.status().to_string());
    e = {std::move(*f), std::move(*t)};
  }
  return *e.second;
}

void BM_Encode(benchmark::State& state, const std::string& vocab) {
  const Tokenizer& t = load(vocab);
  const std::string& text = mixed_text();
  std::size_t n_tokens = 0;
  for (auto _ : state) {
    const auto ids = t.encode(text, {.add_special = false});
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(n_tokens);
}

void BM_StreamDecode(benchmark::State& state, const std::string& vocab) {
  const Tokenizer& t = load(vocab);
  const std::string& text = mixed_text();
  const auto ids = t.encode(text, {.add_special = false});
  for (auto _ : state) {
    StreamingDetokenizer d(t);
    std::size_t n = 0;
    for (const TokenId id : ids) n += d.push(id).size();
    n += d.finish().size();
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

BENCHMARK_CAPTURE(BM_Encode, llama_spm, std::string("llama-spm"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama_bpe, std::string("llama-bpe"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen2, std::string("qwen2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, gpt2, std::string("gpt-2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, deepseek_llm, std::string("deepseek-llm"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StreamDecode, llama_spm, std::string("llama-spm"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StreamDecode, llama_bpe, std::string("llama-bpe"))->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
