// `parley generate`: runs a model on a prompt and streams the continuation (no chat template:
// the prompt is the model's raw input, with BOS as the model's add_bos flag says).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <cstdio>

#include "apps/cli.h"
#include "base/log.h"
#include "engine/local_model.h"
#include "kernels/backend.h"
#include "kv/block_table.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "model/model_runner.h"
#include "sampling/sampler.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace parley::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  std::int32_t n = 128;
  SamplingParams sampling{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f};
  std::int64_t seed = -1;
  int threads = 0;
  std::int32_t ctx = 0;
  bool ids = false;
  bool special = false;
  bool ignore_eos = false;
  std::string backend = "cpu";
  std::string kv_type = "f16";
};

using Clock = std::chrono::steady_clock;

int run_generate(GenerateArgs a) {
  Result<std::unique_ptr<GgufFile>> file = GgufFile::open(a.model);
  if (!file.ok()) return fail("generate", file.status());
  std::shared_ptr<const GgufFile> shared(std::move(*file));
  Result<std::unique_ptr<Tokenizer>> tok = Tokenizer::from_gguf(*shared);
  if (!tok.ok()) return fail("generate", tok.status().with_context(a.model));
  Result<std::unique_ptr<Backend>> backend = create_backend(a.backend, {.n_threads = a.threads});
  if (!backend.ok()) return fail("generate", backend.status());
  Result<std::unique_ptr<Model>> model = Model::from_file(shared, **backend);
  if (!model.ok()) return fail("generate", model.status());
  const ModelHParams& h = (*model)->hparams();

  const std::vector<TokenId> prompt = (*tok)->encode(a.prompt, {.add_special = true, .parse_special = a.special});
  if (prompt.empty()) return fail("generate", invalid_argument_error("the prompt is empty and the model adds no BOS token"));
  const std::int64_t ctx = a.ctx > 0 ? a.ctx : h.n_ctx_train;
  if (static_cast<std::int64_t>(prompt.size()) >= ctx) {
    return fail("generate", invalid_argument_error("the prompt has {} tokens; the context holds {}", prompt.size(), ctx));
  }
  const std::int64_t total = std::min<std::int64_t>(ctx, static_cast<std::int64_t>(prompt.size()) + a.n);
  const std::int32_t block_size = 16;
  const auto n_blocks = static_cast<std::int32_t>((total + block_size - 1) / block_size);
  Result<TensorType> kv_type = parse_kv_type(a.kv_type);
  if (!kv_type.ok()) return fail("generate", kv_type.status());
  KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, block_size, n_blocks, *kv_type};
  Result<std::unique_ptr<KvCache>> kv = KvCache::create(**backend, layout);
  if (!kv.ok()) return fail("generate", kv.status());
  const std::int64_t chunk = 512;
  Result<std::unique_ptr<ModelRunner>> runner =
      ModelRunner::create(**model, (*kv)->view(), {.max_batch_tokens = chunk, .max_seqs = 1});
  if (!runner.ok()) return fail("generate", runner.status());

  if (a.seed >= 0) {
    a.sampling.seed = static_cast<std::uint64_t>(a.seed);
    a.sampling.has_seed = true;
  }
  if (Status st = a.sampling.validate(static_cast<std::int32_t>(h.n_vocab)); !st.ok()) return fail("generate", st);
  Sampler sampler(a.sampling, static_cast<std::int32_t>(h.n_vocab));
  sampler.set_prompt(prompt);

  BlockAllocator alloc(n_blocks);
  BlockTable table(block_size);
  std::vector<float> logits(static_cast<std::size_t>(h.n_vocab));
  const auto run = [&](std::span<const TokenId> tokens) -> Status {
    const std::int32_t pos = table.n_tokens();
    if (!table.append(static_cast<std::int32_t>(tokens.size()), alloc)) return resource_exhausted_error("context full");
    const ForwardSeq seq{static_cast<std::int32_t>(tokens.size()), pos, table.blocks(), true};
    return (*runner)->forward({tokens, std::span<const ForwardSeq>(&seq, 1)}, logits);
  };

  const auto t0 = Clock::now();
  for (std::size_t at = 0; at < prompt.size(); at += chunk) {
    const std::size_t end = std::min(prompt.size(), at + static_cast<std::size_t>(chunk));
    if (Status st = run(std::span<const TokenId>(prompt).subspan(at, end - at)); !st.ok()) return fail("generate", st);
  }
  const auto t1 = Clock::now();

  StreamingDetokenizer detok(**tok);
  std::vector<TokenId> generated;
  std::string stop_reason = "length";
  while (static_cast<std::int64_t>(prompt.size() + generated.size()) < total) {
    const SampleResult r = sampler.sample(logits);
    if (r.fallback) return fail("generate", internal_error("the model produced no finite logits"));
    if (!a.ignore_eos && (*tok)->vocab().is_eog(r.token)) {
      stop_reason = "end of generation";
      break;
    }
    sampler.accept(r.token);
    generated.push_back(r.token);
    if (!a.ids) {
      const std::string text = detok.push(r.token);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    if (static_cast<std::int32_t>(generated.size()) >= a.n) break;
    if (static_cast<std::int64_t>(prompt.size() + generated.size()) >= total) break;
    if (Status st = run(std::span<const TokenId>(&generated.back(), 1)); !st.ok()) return fail("generate", st);
  }
  const auto t2 = Clock::now();
  if (a.ids) {
    std::string line;
    for (std::size_t i = 0; i < generated.size(); ++i) line += fmt::format("{}{}", i ? " " : "", generated[i]);
    fmt::print("{}\n", line);
  } else {
    const std::string rest = detok.finish();
    fmt::print("{}\n", rest);
  }
  const double prefill_s = std::chrono::duration<double>(t1 - t0).count();
  const double decode_s = std::chrono::duration<double>(t2 - t1).count();
  log_event(LogLevel::kInfo, "generate done",
            {{"prompt_tokens", static_cast<std::int64_t>(prompt.size())},
             {"prompt_tok_s", static_cast<double>(prompt.size()) / prefill_s},
             {"generated_tokens", static_cast<std::int64_t>(generated.size())},
             {"gen_tok_s", generated.size() > 1 ? static_cast<double>(generated.size() - 1) / decode_s : 0.0},
             {"stop", stop_reason},
             {"seed", sampler.seed()}});
  return kExitOk;
}

}  // namespace

void add_generate_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<GenerateArgs>();
  SamplingParams& s = args->sampling;
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Run a model on a raw prompt (no chat template; BOS as the model's add_bos flag says) and stream the "
      "continuation to stdout. Timing goes to the log (stderr).");
  cmd->add_option("--model", args->model, "GGUF model file")->required();
  cmd->add_option("--prompt", args->prompt, "Prompt text")->required();
  cmd->add_option("-n,--max-tokens", args->n, "Tokens to generate at most")->capture_default_str();
  cmd->add_option("--temp", s.temperature, "Temperature (0 = greedy)")->capture_default_str();
  cmd->add_option("--top-p", s.top_p, "Nucleus sampling: keep the smallest set with this total probability")
      ->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--min-p", s.min_p, "Drop tokens less likely than this fraction of the best")->capture_default_str();
  cmd->add_option("--repeat-penalty", s.repetition_penalty, "Repetition penalty (1 = off)")->capture_default_str();
  cmd->add_option("--presence-penalty", s.presence_penalty, "OpenAI presence penalty")->capture_default_str();
  cmd->add_option("--frequency-penalty", s.frequency_penalty, "OpenAI frequency penalty")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Random seed (-1 = random; the log line reports the one used)")->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--ctx", args->ctx, "Context length (0 = the model's training context)")->capture_default_str();
  cmd->add_flag("--ids", args->ids, "Print only the generated token ids, space-separated, on one line");
  cmd->add_flag("--special", args->special, "Parse control-token texts such as <|im_start|> in the prompt");
  cmd->add_flag("--ignore-eos", args->ignore_eos, "Keep generating past end-of-generation tokens");
  cmd->add_option("--backend", args->backend, "cpu or reference")->capture_default_str();
  cmd->add_option("--kv-type", args->kv_type, "KV cache element type: f16 or q8_0")->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = run_generate(*args); });
}

}  // namespace parley::cli
