// `parley bench`: prefill and decode throughput of a model on this machine, next to the machine's
// limits measured in the same run (memory bandwidth bounds decode, FMA throughput bounds prefill).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <map>

#include "apps/cli.h"
#include "base/rng.h"
#include "kernels/backend.h"
#include "kv/block_table.h"
#include "engine/local_model.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "model/model_runner.h"

namespace parley::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::int32_t prompt = 128;
  std::int32_t gen = 32;
  std::string batches = "1,8";
  int threads = 0;
  int repetitions = 3;
  bool json = false;
  std::string backend = "cpu";
  std::string kv_type = "f16";
  std::int32_t decode_ctx = 0;  // tokens each decoding sequence holds before the timed steps
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Result<std::vector<int>> parse_batches(const std::string& s) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t comma = s.find(',', at);
    const std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    int b = 0;
    try {
      b = std::stoi(item);
    } catch (...) {
      return invalid_argument_error("-b: '{}' is not a number", item);
    }
    if (b < 1 || b > 256) return invalid_argument_error("-b: batch size {} must be 1..256", b);
    out.push_back(b);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

// Sequences with their blocks, driven through one runner.
class BenchSession {
 public:
  BenchSession(ModelRunner& runner, std::int32_t block_size, std::int32_t n_blocks)
      : runner_(runner), alloc_(n_blocks), block_size_(block_size) {}

  // Appends `chunks[s]` to sequence s (creating sequences as needed) in one forward pass.
  Status step(const std::vector<std::vector<std::int32_t>>& chunks, std::vector<float>& logits) {
    while (tables_.size() < chunks.size()) tables_.emplace_back(block_size_);
    std::vector<std::int32_t> tokens;
    std::vector<ForwardSeq> seqs;
    for (std::size_t s = 0; s < chunks.size(); ++s) {
      const std::int32_t pos = tables_[s].n_tokens();
      if (!tables_[s].append(static_cast<std::int32_t>(chunks[s].size()), alloc_)) {
        return resource_exhausted_error("the benchmark's KV cache is full");
      }
      tokens.insert(tokens.end(), chunks[s].begin(), chunks[s].end());
      seqs.push_back({static_cast<std::int32_t>(chunks[s].size()), pos, tables_[s].blocks(), true});
    }
    logits.resize(chunks.size() * static_cast<std::size_t>(runner_.n_vocab()));
    return runner_.forward({tokens, seqs}, logits);
  }
  void reset() {
    for (auto& t : tables_) t.release(alloc_);
    tables_.clear();
  }

 private:
  ModelRunner& runner_;
  BlockAllocator alloc_;
  std::int32_t block_size_;
  std::vector<BlockTable> tables_;
};

int run_bench(const BenchArgs& a) {
  Result<std::vector<int>> batches = parse_batches(a.batches);
  if (!batches.ok()) return fail("bench", batches.status());
  if (a.prompt < 1 || a.gen < 1) return fail("bench", invalid_argument_error("-p and -n must be at least 1"));
  Result<std::unique_ptr<Backend>> backend = create_backend(a.backend, {.n_threads = a.threads});
  if (!backend.ok()) return fail("bench", backend.status());
  Result<std::unique_ptr<Model>> model = Model::load(a.model, **backend);
  if (!model.ok()) return fail("bench", model.status());
  const ModelHParams& h = (*model)->hparams();
  const int max_batch = *std::max_element(batches->begin(), batches->end());
  const std::int32_t block_size = 16;
  const std::int64_t ctx = std::max(a.prompt, a.decode_ctx) + a.gen + 1;
  const auto n_blocks = static_cast<std::int32_t>(max_batch * ((ctx + block_size - 1) / block_size) + 1);
  Result<TensorType> kv_type = parse_kv_type(a.kv_type);
  if (!kv_type.ok()) return fail("bench", kv_type.status());
  KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, block_size, n_blocks, *kv_type};
  Result<std::unique_ptr<KvCache>> kv = KvCache::create(**backend, layout);
  if (!kv.ok()) return fail("bench", kv.status());
  const std::int64_t max_tokens = std::min<std::int64_t>(std::max<std::int64_t>({a.prompt, max_batch, 1}), 512);
  Result<std::unique_ptr<ModelRunner>> runner =
      ModelRunner::create(**model, (*kv)->view(), {.max_batch_tokens = max_tokens, .max_seqs = max_batch});
  if (!runner.ok()) return fail("bench", runner.status());

  Rng rng(1234);
  const auto random_tokens = [&](std::int32_t n) {
    std::vector<std::int32_t> t(static_cast<std::size_t>(n));
    for (auto& x : t) x = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(h.n_vocab)));
    return t;
  };
  BenchSession session(**runner, block_size, n_blocks);
  std::vector<float> logits;

  // Prefill: one sequence, the prompt in chunks of at most 512 tokens; best of the repetitions.
  const auto prefill_once = [&]() -> Result<double> {
    session.reset();
    const auto prompt = random_tokens(a.prompt);
    const auto start = Clock::now();
    for (std::int32_t at = 0; at < a.prompt; at += 512) {
      const std::int32_t end = std::min(a.prompt, at + 512);
      RETURN_IF_ERROR(session.step({std::vector<std::int32_t>(prompt.begin() + at, prompt.begin() + end)}, logits));
    }
    return seconds_since(start);
  };
  if (Result<double> warm = prefill_once(); !warm.ok()) return fail("bench", warm.status());
  double prefill_s = 1e30;
  for (int r = 0; r < a.repetitions; ++r) {
    Result<double> t = prefill_once();
    if (!t.ok()) return fail("bench", t.status());
    prefill_s = std::min(prefill_s, *t);
  }
  const double prefill_tok_s = a.prompt / prefill_s;

  // Decode: b sequences with a short context, then n steps of one token each.
  std::map<int, double> decode_tok_s;
  for (const int b : *batches) {
    double best = 1e30;
    for (int r = 0; r < std::max(1, a.repetitions - 1); ++r) {
      session.reset();
      // The sequences' context: --decode-ctx tokens each (at least one), in steps of the budget.
      const std::int32_t per_step = std::max<std::int32_t>(1, static_cast<std::int32_t>(max_tokens / b));
      for (std::int32_t at = 0; at < std::max(1, a.decode_ctx); at += per_step) {
        const std::int32_t n = std::min(per_step, std::max(1, a.decode_ctx) - at);
        std::vector<std::vector<std::int32_t>> warm(static_cast<std::size_t>(b), random_tokens(n));
        if (Status st = session.step(warm, logits); !st.ok()) return fail("bench", st);
      }
      const auto start = Clock::now();
      for (std::int32_t i = 0; i < a.gen; ++i) {
        std::vector<std::vector<std::int32_t>> next(static_cast<std::size_t>(b), random_tokens(1));
        if (Status st = session.step(next, logits); !st.ok()) return fail("bench", st);
      }
      best = std::min(best, seconds_since(start));
    }
    decode_tok_s[b] = static_cast<double>(b) * a.gen / best;
  }

  const MachineLimits limits = (*backend)->measure_limits();
  const double bytes_per_token = static_cast<double>((*model)->bytes_per_token());
  const double flops_per_token = static_cast<double>((*model)->matmul_flops_per_token());
  const double decode1 = decode_tok_s.count(1) ? decode_tok_s[1] : decode_tok_s.begin()->second / decode_tok_s.begin()->first;
  const double decode_gb_s = decode1 * bytes_per_token / 1e9;
  const double prefill_gflop_s = prefill_tok_s * flops_per_token / 1e9;
  const double roofline = limits.mem_bandwidth_gb_s > 0 ? decode_gb_s / limits.mem_bandwidth_gb_s : 0.0;
  const double fma_ratio = limits.fma_gflop_s > 0 ? prefill_gflop_s / limits.fma_gflop_s : 0.0;
  // Quantized weights are multiplied with int8 dot products, float weights with FP32 FMAs: each
  // prefill is compared with the limit of the arithmetic it actually uses.
  const TensorType weight_type = (*model)->weights().layers.front().w_up.type;
  const bool int8_path = tensor_type_info(weight_type).quantized && limits.int8_gop_s > 0;
  const double prefill_limit = int8_path ? limits.int8_gop_s : limits.fma_gflop_s;
  const double prefill_ratio = prefill_limit > 0 ? prefill_gflop_s / prefill_limit : 0.0;

  if (a.json) {
    boost::json::object by_batch;
    for (const auto& [b, v] : decode_tok_s) by_batch[std::to_string(b)] = v;
    boost::json::object j{{"model", a.model},
                          {"backend", (*backend)->name()},
                          {"prompt_tokens", a.prompt},
                          {"gen_tokens", a.gen},
                          {"kv_type", std::string(tensor_type_name(*kv_type))},
                          {"kv_bytes_per_token", layout.bytes_per_token()},
                          {"decode_ctx", a.decode_ctx},
                          {"prefill_tok_s", prefill_tok_s},
                          {"decode_tok_s", decode1},
                          {"decode_tok_s_by_batch", by_batch},
                          {"weight_bytes_per_token", bytes_per_token},
                          {"decode_gb_s", decode_gb_s},
                          {"mem_bandwidth_gb_s", limits.mem_bandwidth_gb_s},
                          {"decode_roofline_ratio", roofline},
                          {"prefill_gflop_s", prefill_gflop_s},
                          {"fma_gflop_s", limits.fma_gflop_s},
                          {"prefill_fma_ratio", fma_ratio},
                          {"int8_gop_s", limits.int8_gop_s},
                          {"weight_type", std::string(tensor_type_name(weight_type))},
                          {"prefill_limit", int8_path ? "int8_gop_s" : "fma_gflop_s"},
                          {"prefill_roofline_ratio", prefill_ratio}};
    fmt::print("{}\n", boost::json::serialize(j));
    return kExitOk;
  }
  fmt::print("model     {} ({} layers, {} embd, {} weights, {:.2f} GB read per token)\n", a.model, h.n_layer, h.n_embd,
             tensor_type_name(weight_type), bytes_per_token / 1e9);
  fmt::print("backend   {}\n", (*backend)->name());
  fmt::print("kv cache  {} ({} bytes per token)\n", tensor_type_name(*kv_type), layout.bytes_per_token());
  fmt::print("machine   memory bandwidth {:.1f} GB/s, FP32 FMA {:.1f} GFLOP/s{}\n", limits.mem_bandwidth_gb_s,
             limits.fma_gflop_s, limits.int8_gop_s > 0 ? fmt::format(", int8 {:.1f} GOP/s", limits.int8_gop_s) : "");
  fmt::print("prefill   {:>9.1f} tok/s  ({} tokens; {:.1f} GFLOP/s = {:.0f}% of the {} peak)\n", prefill_tok_s, a.prompt,
             prefill_gflop_s, 100 * prefill_ratio, int8_path ? "int8" : "FP32 FMA");
  for (const auto& [b, v] : decode_tok_s) {
    fmt::print("decode    {:>9.1f} tok/s  (batch {}, {} steps after {} tokens{})\n", v, b, a.gen, std::max(1, a.decode_ctx),
               b == 1 ? fmt::format("; {:.1f} GB/s = {:.0f}% of bandwidth", decode_gb_s, 100 * roofline)
                      : fmt::format("; {:.2f}x batch 1", v / decode1));
  }
  return kExitOk;
}

}  // namespace

void add_bench_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Measure prefill and decode throughput of a model, and the machine's memory bandwidth and FMA throughput in the "
      "same run, with each figure's ratio to its limit");
  cmd->add_option("--model", args->model, "GGUF model file (required unless a subcommand is given)");
  cmd->add_option("-p,--prompt-tokens", args->prompt, "Prompt length for the prefill measurement")->capture_default_str();
  cmd->add_option("-n,--gen-tokens", args->gen, "Decode steps per measurement")->capture_default_str();
  cmd->add_option("-b,--batch", args->batches, "Decode batch sizes, comma-separated")->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("-r,--repetitions", args->repetitions, "Repetitions per figure (the best is reported)")
      ->capture_default_str();
  cmd->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  cmd->add_option("--kv-type", args->kv_type, "KV cache element type: f16 or q8_0")->capture_default_str();
  cmd->add_option("--decode-ctx", args->decode_ctx,
                  "Context each decoding sequence holds before the timed steps (0: one token)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--json", args->json, "Print one JSON object");
  CLI::App* serve = add_bench_serve_command(*cmd, exit_code);
  CLI::App* http = add_bench_http_command(*cmd, exit_code);
  CLI::App* resume = add_bench_resume_command(*cmd, exit_code);
  cmd->callback([args, exit_code, cmd, serve, http, resume] {
    if (cmd->got_subcommand(serve) || cmd->got_subcommand(http) || cmd->got_subcommand(resume)) return;  // the subcommand ran its own
    if (args->model.empty()) throw CLI::RequiredError("--model");
    *exit_code = run_bench(*args);
  });
}

}  // namespace parley::cli
