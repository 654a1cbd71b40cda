// Constrained decoding costs, as distributions (not a test: it prints figures and never fails on
// timing). Over the schema corpus of tests/grammar/schemas:
//   - compile (front end + automaton + the first mask's classification) and first mask, per
//     schema, cold; then the time until the background has classified every node;
//   - mask per step and accept per token along random walks (biased to finish), once every node
//     is classified (--wait 0: at once, so that the first masks may classify nodes themselves);
//   - the sampler's masking of a row of logits with those masks (stage 0 of its chain);
//   - with --model, a decode step of that model at batch 1 and 8 on this machine, and the mask
//     overhead relative to it (b masks + b row maskings + b accepts per step, on the engine thread).
// Usage:
//   build/bench/grammar_bench [--vocab llama-bpe] [--schemas tests/grammar/schemas] [--walks 3]
//                             [--model tinyllama-q8_0.gguf] [--threads 2] [--verbose 1] [--wait 1]
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/rng.h"
#include "gguf/gguf_file.h"
#include "grammar/grammar_compiler.h"
#include "grammar/grammar_matcher.h"
#include "kernels/backend.h"
#include "kv/block_table.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "model/model_runner.h"
#include "sampling/logit_ops.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

using Clock = std::chrono::steady_clock;
double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

struct Args {
  std::string vocab = "llama-bpe";
  std::string schemas = "tests/grammar/schemas";
  std::string model;
  int walks = 3;
  int threads = 2;
  bool verbose = false;  // per schema: automaton and classification times, nodes, mask bytes
  bool wait = true;      // walk once every node is classified (steady-state masks), else at once
};

std::string shared_dir() {
  const char* env = std::getenv("PARLEY_SHARED_DIR");
  return env != nullptr && *env ? env : PARLEY_SHARED_DIR;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

void print_dist(const char* what, const std::vector<double>& v, const char* unit, double scale = 1) {
  fmt::print("{:<44} n={:<6} mean {:8.1f}  p50 {:8.1f}  p90 {:8.1f}  p99 {:8.1f}  max {:8.1f} {}\n", what, v.size(),
             mean(v) / scale, percentile(v, 0.5) / scale, percentile(v, 0.9) / scale, percentile(v, 0.99) / scale,
             v.empty() ? 0 : *std::max_element(v.begin(), v.end()) / scale, unit);
}

struct Costs {
  std::vector<double> compile_ms, first_mask_ms, classified_ms, mask_us, accept_us, apply_us;
  std::vector<float> row;  // a row of logits for the sampler's stage 0
};

// Random walks through one grammar (a third of the steps pick a closing token when there is one).
void walk(const CompiledGrammarPtr& g, std::uint32_t seed, Costs& c) {
  GrammarMatcher m(g);
  std::mt19937 rng(seed);
  TokenMask mask;
  const TokenVocabulary& vocab = g->vocabulary();
  std::vector<TokenId> all, closers;
  for (int step = 0; step < 400 && !m.is_complete(); ++step) {
    const auto t0 = Clock::now();
    m.fill_mask(mask);
    c.mask_us.push_back(us_since(t0));
    c.row.assign(static_cast<std::size_t>(vocab.n_tokens()), 1.0f);
    const auto t2 = Clock::now();
    logits_mask(c.row, mask.words());
    c.apply_us.push_back(us_since(t2));
    all.clear();
    closers.clear();
    mask.for_each([&](TokenId t) {
      all.push_back(t);
      if (vocab.is_eog(t) || vocab.bytes(t).find_first_of("\"]}") != std::string_view::npos) closers.push_back(t);
    });
    if (all.empty()) return;
    const TokenId t = !closers.empty() && rng() % 3 == 0 ? closers[rng() % closers.size()] : all[rng() % all.size()];
    const auto t1 = Clock::now();
    m.accept(t);
    c.accept_us.push_back(us_since(t1));
    if (vocab.is_eog(t)) return;
  }
}

// Median decode step of `model` at batch b (random tokens, short contexts), in ms.
double decode_step_ms(const std::string& path, int threads, int b) {
  auto backend = create_backend("cpu", {.n_threads = threads});
  CHECK(backend.ok(), "{}", backend.status().to_string());
  auto model = Model::load(path, **backend);
  CHECK(model.ok(), "{}", model.status().to_string());
  const ModelHParams& h = (*model)->hparams();
  const std::int32_t block_size = 16, n_blocks = b * 4 + 1;
  KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, block_size, n_blocks, TensorType::kF16};
  auto kv = KvCache::create(**backend, layout);
  CHECK(kv.ok(), "{}", kv.status().to_string());
  auto runner = ModelRunner::create(**model, (*kv)->view(), {.max_batch_tokens = 64, .max_seqs = b});
  CHECK(runner.ok(), "{}", runner.status().to_string());
  BlockAllocator alloc(n_blocks);
  std::vector<BlockTable> tables(static_cast<std::size_t>(b), BlockTable(block_size));
  Rng rng(7);
  std::vector<float> logits;
  std::vector<double> steps;
  for (int i = 0; i < 24; ++i) {
    std::vector<std::int32_t> tokens;
    std::vector<ForwardSeq> seqs;
    for (auto& t : tables) {
      const std::int32_t pos = t.n_tokens();
      CHECK(t.append(1, alloc), "kv full");
      tokens.push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(h.n_vocab))));
      seqs.push_back({1, pos, t.blocks(), true});
    }
    logits.resize(static_cast<std::size_t>(b) * static_cast<std::size_t>((*runner)->n_vocab()));
    const auto t0 = Clock::now();
    const Status st = (*runner)->forward({tokens, seqs}, logits);
    CHECK(st.ok(), "{}", st.to_string());
    if (i >= 4) steps.push_back(us_since(t0) / 1000);
  }
  return percentile(steps, 0.5);
}

int run(const Args& a) {
  auto file = GgufFile::open(shared_dir() + "/vocab/ggml-vocab-" + a.vocab + ".gguf");
  CHECK(file.ok(), "{}", file.status().to_string());
  auto tok = Tokenizer::from_gguf(**file);
  CHECK(tok.ok(), "{}", tok.status().to_string());
  auto t0 = Clock::now();
  const auto vocab = TokenVocabulary::create(**tok);
  fmt::print("vocabulary {}: {} tokens, trie of {} nodes, built in {:.1f} ms\n", a.vocab, vocab->n_tokens(),
             vocab->trie().size(), us_since(t0) / 1000);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(a.schemas)) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  fmt::print("schemas: {} from {}, {} walks each\n\n", files.size(), a.schemas, a.walks);
  Costs c;
  std::uint32_t seed = 1;
  for (const std::string& f : files) {
    const GrammarSpec spec{GrammarKind::kJsonSchema, read(f), {}, {}};
    t0 = Clock::now();
    auto grammar = build_grammar(spec);
    const double front_ms = us_since(t0) / 1000;
    CHECK(grammar.ok(), "{}: {}", f, grammar.status().to_string());
    auto compiled = compile_grammar(*grammar, vocab);
    CHECK(compiled.ok(), "{}: {}", f, compiled.status().to_string());
    c.compile_ms.push_back(us_since(t0) / 1000);
    GrammarMatcher first(*compiled);
    TokenMask mask;
    first.fill_mask(mask);
    c.first_mask_ms.push_back(us_since(t0) / 1000);
    if (a.wait) {
      (*compiled)->wait_classified();
      c.classified_ms.push_back(us_since(t0) / 1000);
    }
    if (a.verbose) {
      const CompileStats st = (*compiled)->stats();
      fmt::print(
          "  {:<28} first mask {:6.1f} ms (front {:5.1f}, pda {:5.1f}, classify {:5.1f}), rest {:7.1f} ms; nodes {:5} "
          "masked {:5} "
          "uncertain {:5} "
          "bytes {:9} visits {:8}\n",
          std::filesystem::path(f).filename().string(), c.first_mask_ms.back(), front_ms, st.pda_ms, st.masks_ms,
          st.background_ms, st.n_nodes, st.n_mask_nodes, st.n_uncertain, st.mask_bytes, st.trie_visits);
    }
    for (int w = 0; w < a.walks; ++w) walk(*compiled, seed++, c);
  }
  print_dist("compile per schema (cold)", c.compile_ms, "ms");
  print_dist("compile + first mask per schema (cold)", c.first_mask_ms, "ms");
  print_dist("every node classified (background)", c.classified_ms, "ms");
  print_dist("mask per step", c.mask_us, "us");
  print_dist("accept per token", c.accept_us, "us");

  print_dist("sampler stage 0 (mask a row of logits)", c.apply_us, "us");

  if (!a.model.empty()) {
    const double per_seq_us = mean(c.mask_us) + mean(c.accept_us) + mean(c.apply_us);
    const double per_seq_p99_us =
        percentile(c.mask_us, 0.99) + percentile(c.accept_us, 0.99) + percentile(c.apply_us, 0.99);
    fmt::print("\nmodel {} ({} threads)\n", a.model, a.threads);
    for (const int b : {1, 8}) {
      const double step_ms = decode_step_ms(a.model, a.threads, b);
      fmt::print(
          "  batch {}: decode step {:.1f} ms; grammar per step {:.3f} ms mean ({:.2f}%), {:.3f} ms at p99 ({:.2f}%)\n",
          b, step_ms, b * per_seq_us / 1000, 100 * b * per_seq_us / 1000 / step_ms, b * per_seq_p99_us / 1000,
          100 * b * per_seq_p99_us / 1000 / step_ms);
    }
  }
  return 0;
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  parley::Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--vocab") {
      a.vocab = v;
    } else if (k == "--schemas") {
      a.schemas = v;
    } else if (k == "--model") {
      a.model = v;
    } else if (k == "--walks") {
      a.walks = std::stoi(v);
    } else if (k == "--threads") {
      a.threads = std::stoi(v);
    } else if (k == "--wait") {
      a.wait = v == "1";
    } else if (k == "--verbose") {
      a.verbose = v == "1";
    } else {
      fmt::print(stderr, "unknown option {}\n", k);
      return 2;
    }
  }
  return parley::run(a);
}
