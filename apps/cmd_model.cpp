// `parley model info` and `parley model synth`.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "apps/cli.h"
#include "apps/model_info.h"
#include "base/log.h"
#include "gguf/gguf_file.h"
#include "model/synth.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/vocab.h"

namespace parley::cli {
namespace {

struct InfoArgs {
  std::string path;
  bool json = false;
};

int run_info(const InfoArgs& a) {
  Result<std::unique_ptr<GgufFile>> f = GgufFile::open(a.path);
  if (!f.ok()) return fail("model info", f.status());
  const std::string out = a.json ? model_info_json(**f) : model_info_text(**f);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

struct SynthArgs {
  SynthOptions opts;
  std::string vocab_from;
  std::string chat_template;                    // a file whose text replaces tokenizer.chat_template
  std::vector<std::string> add_tokens;          // appended as user-defined tokens
  std::vector<std::string> add_control_tokens;  // appended as control tokens
  std::string type = "f16";
  std::int64_t head_dim = 0;
  std::string out;
};

// The tokenizer.* entries of a vocabulary source: a GGUF file or "builtin:<name>".
Result<std::vector<std::pair<std::string, GgufValue>>> vocab_metadata(const std::string& source) {
  if (source.starts_with(kBuiltinVocabPrefix)) return builtin_vocab_metadata(source.substr(kBuiltinVocabPrefix.size()));
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> f, GgufFile::open(source));
  std::vector<std::pair<std::string, GgufValue>> md;
  for (const auto& [k, v] : f->metadata()) {
    if (k.starts_with("tokenizer.")) md.emplace_back(k, v);
  }
  if (md.empty()) return invalid_argument_error("{} has no tokenizer metadata", source);
  return md;
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found_error("cannot open {}", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return internal_error("cannot read {}", path);
  return text.str();
}

int run_synth(SynthArgs a) {
  Result<TensorType> type = parse_tensor_type(a.type);
  if (!type.ok()) return fail("model synth", type.status());
  a.opts.type = *type;
  if (a.head_dim > 0) a.opts.head_dim = a.head_dim;
  Result<std::vector<std::pair<std::string, GgufValue>>> md = vocab_metadata(a.vocab_from);
  if (!md.ok()) return fail("model synth", md.status().with_context("--vocab-from"));
  if (!a.chat_template.empty()) {
    Result<std::string> text = read_text_file(a.chat_template);
    if (!text.ok()) return fail("model synth", text.status().with_context("--chat-template"));
    std::erase_if(*md, [](const auto& kv) { return kv.first == "tokenizer.chat_template"; });
    md->emplace_back("tokenizer.chat_template", GgufValue::string(std::move(*text)));
  }
  if (Status st = add_vocab_tokens(*md, a.add_tokens, static_cast<std::int32_t>(TokenType::kUserDefined)); !st.ok()) {
    return fail("model synth", st.with_context("--add-token"));
  }
  if (Status st = add_vocab_tokens(*md, a.add_control_tokens, static_cast<std::int32_t>(TokenType::kControl));
      !st.ok()) {
    return fail("model synth", st.with_context("--add-control-token"));
  }
  const auto start = std::chrono::steady_clock::now();
  if (Status st = synth_model(a.opts, *md, a.out); !st.ok()) return fail("model synth", st);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log_info("wrote {} ({} {} layers, {} weights) in {:.1f} s", a.out, a.opts.arch, a.opts.n_layer, a.type, secs);
  return kExitOk;
}

}  // namespace

void add_model_commands(CLI::App& app, int* exit_code) {
  CLI::App* model = app.add_subcommand("model", "Inspect and create GGUF model files");
  model->require_subcommand(1);

  auto info = std::make_shared<InfoArgs>();
  CLI::App* info_cmd = model->add_subcommand(
      "info", "Describe a GGUF file: architecture, hyperparameters, tokenizer, metadata and the tensor table");
  info_cmd->add_option("FILE", info->path, "GGUF model (or vocabulary-only) file")->required();
  info_cmd->add_flag("--json", info->json, "Print one JSON object instead of text");
  info_cmd->callback([info, exit_code] { *exit_code = run_info(*info); });

  auto synth = std::make_shared<SynthArgs>();
  SynthOptions& o = synth->opts;
  CLI::App* synth_cmd = model->add_subcommand(
      "synth",
      "Write a complete model GGUF with seeded random weights (real shapes, standard tensor names and metadata, the "
      "tokenizer of --vocab-from). The same arguments always give the same bytes.");
  synth_cmd->add_option("--arch", o.arch, "Architecture")
      ->check(CLI::IsMember({"llama", "qwen2", "qwen3"}))
      ->capture_default_str();
  synth_cmd
      ->add_option("--vocab-from", synth->vocab_from,
                   "Vocabulary: a GGUF file whose tokenizer.* metadata is copied, or builtin:bytes (a small "
                   "byte-level BPE vocabulary with ChatML tokens and template, built into parley)")
      ->required();
  synth_cmd->add_option("--chat-template", synth->chat_template,
                        "A Jinja chat template file to write as tokenizer.chat_template instead of the vocabulary's");
  synth_cmd->add_option("--add-token", synth->add_tokens,
                        "Append a token to the vocabulary as a fine-tune adds one, matched in text (Qwen 2.5's "
                        "<tool_call>, <think>); repeatable");
  synth_cmd->add_option("--add-control-token", synth->add_control_tokens,
                        "Append a control token (template markup only, e.g. <|python_tag|>); repeatable");
  synth_cmd->add_option("--layers", o.n_layer, "Number of transformer blocks")->required();
  synth_cmd->add_option("--embd", o.n_embd, "Embedding (hidden) size")->required();
  synth_cmd->add_option("--heads", o.n_head, "Attention heads")->required();
  synth_cmd->add_option("--kv-heads", o.n_head_kv, "Key/value heads (grouped-query attention when fewer than --heads)")
      ->required();
  synth_cmd->add_option("--ff", o.n_ff, "Feed-forward (SwiGLU) size")->required();
  synth_cmd->add_option("--head-dim", synth->head_dim, "Head size (default: embd / heads)");
  synth_cmd->add_option("--ctx", o.n_ctx, "Training context length written to the metadata")->capture_default_str();
  synth_cmd->add_option("--rope-theta", o.rope_theta, "RoPE frequency base")->capture_default_str();
  synth_cmd->add_option("--rms-eps", o.rms_norm_eps, "RMSNorm epsilon")->capture_default_str();
  synth_cmd
      ->add_option("--type", synth->type,
                   "Type of the weight matrices: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, "
                   "q5_k or q6_k (norms and biases stay f32)")
      ->capture_default_str();
  synth_cmd->add_flag("--tie-embeddings", o.tie_embeddings, "Omit output.weight: the output layer reuses token_embd");
  synth_cmd->add_flag(
      "--llama3-rope-scaling", o.llama3_rope_scaling,
      "Write rope_freqs.weight with Llama 3.1's RoPE frequency factors (scaling 8, original context 8192)");
  synth_cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  synth_cmd->add_option("--std", o.std, "Standard deviation of the weights")->capture_default_str();
  synth_cmd->add_option("--name", o.name, "general.name (default: describes the shape)");
  synth_cmd->add_option("-t,--threads", o.threads, "Threads for generating weights (0: all cores)")
      ->capture_default_str();
  synth_cmd->add_option("--out", synth->out, "Output file (written atomically)")->required();
  synth_cmd->callback([synth, exit_code] { *exit_code = run_synth(*synth); });
}

}  // namespace parley::cli
