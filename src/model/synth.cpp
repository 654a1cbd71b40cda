#include "model/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "base/rng.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/hparams.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

// general.file_type values (llama.cpp's llama_ftype) for a model whose matrices are all `type`.
std::uint32_t file_type_of(TensorType type) {
  switch (type) {
    case TensorType::kF32: return 0;
    case TensorType::kF16: return 1;
    case TensorType::kQ4_0: return 2;
    case TensorType::kQ4_1: return 3;
    case TensorType::kQ8_0: return 7;
    case TensorType::kQ5_0: return 8;
    case TensorType::kQ5_1: return 9;
    case TensorType::kQ2_K: return 10;
    case TensorType::kQ3_K: return 11;  // Q3_K_S: every matrix Q3_K
    case TensorType::kQ4_K: return 14;  // Q4_K_S
    case TensorType::kQ5_K: return 16;  // Q5_K_S
    case TensorType::kQ6_K: return 18;
    case TensorType::kBF16: return 32;
    default: return 0;
  }
}

Status check_options(const SynthOptions& o) {
  if (o.arch != "llama" && o.arch != "qwen2" && o.arch != "qwen3") {
    return invalid_argument_error("unknown architecture '{}' (supported: llama, qwen2, qwen3)", o.arch);
  }
  const auto in_range = [](std::int64_t v, std::int64_t lo, std::int64_t hi) { return v >= lo && v <= hi; };
  if (!in_range(o.n_layer, 1, 1024)) return invalid_argument_error("--layers {} must be 1..1024", o.n_layer);
  if (!in_range(o.n_embd, 2, 1 << 16)) return invalid_argument_error("--embd {} must be 2..65536", o.n_embd);
  if (!in_range(o.n_head, 1, 1024)) return invalid_argument_error("--heads {} must be 1..1024", o.n_head);
  if (!in_range(o.n_head_kv, 1, o.n_head) || o.n_head % o.n_head_kv != 0) {
    return invalid_argument_error("--kv-heads {} must divide --heads {}", o.n_head_kv, o.n_head);
  }
  if (!in_range(o.n_ff, 1, 1 << 20)) return invalid_argument_error("--ff {} must be 1..1048576", o.n_ff);
  if (!in_range(o.n_ctx, 1, 1 << 24)) return invalid_argument_error("--ctx {} must be 1..16777216", o.n_ctx);
  if (!o.head_dim && o.n_embd % o.n_head != 0) {
    return invalid_argument_error("--embd {} is not a multiple of --heads {} (give --head-dim)", o.n_embd, o.n_head);
  }
  const std::int64_t hd = o.head_dim.value_or(o.n_embd / o.n_head);
  if (!in_range(hd, 2, 1024) || hd % 2 != 0) return invalid_argument_error("head size {} must be even, 2..1024", hd);
  if (!(o.rope_theta > 0.0f)) return invalid_argument_error("--rope-theta must be positive");
  if (!(o.std > 0.0f) || !(o.std < 100.0f)) return invalid_argument_error("--std {} must be in (0, 100)", o.std);
  if (!has_quantizer(o.type) || o.type == TensorType::kQ8_1 || o.type == TensorType::kQ8_K) {
    return invalid_argument_error("cannot write weights of type {}", tensor_type_name(o.type));
  }
  return ok_status();
}

// Fills `out` with the rows of one tensor: row r uses its own generator derived from the tensor
// name and r, so the bytes do not depend on how rows are spread over threads.
Status fill_tensor(const SynthTensorSpec& spec, const SynthOptions& o, std::span<std::byte> out) {
  const std::int64_t ne0 = spec.shape[0];
  std::int64_t rows = 1;
  for (std::size_t d = 1; d < spec.shape.size(); ++d) rows *= spec.shape[d];
  ASSIGN_OR_RETURN(const std::size_t row_bytes, tensor_row_bytes(spec.type, ne0));
  if (out.size() != row_bytes * static_cast<std::size_t>(rows)) return internal_error("tensor '{}' size mismatch", spec.name);
  const std::uint64_t tensor_seed = Rng::derive(o.seed, fnv1a64(spec.name.data(), spec.name.size()));
  const float mean = spec.is_norm ? 1.0f : 0.0f;
  const float std = spec.is_norm ? 0.1f : o.std;

  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const auto n_threads = static_cast<std::int64_t>(std::min<std::int64_t>(o.threads > 0 ? o.threads : hw, rows));
  auto work = [&](std::int64_t first, std::int64_t last) {
    std::vector<float> row(static_cast<std::size_t>(ne0));
    for (std::int64_t r = first; r < last; ++r) {
      Rng rng(Rng::derive(tensor_seed, static_cast<std::uint64_t>(r)));
      for (float& x : row) x = mean + std * rng.normal();
      quantize_row(spec.type, row.data(), out.data() + static_cast<std::size_t>(r) * row_bytes, ne0);
    }
  };
  std::vector<std::thread> threads;
  const std::int64_t per = (rows + n_threads - 1) / n_threads;
  for (std::int64_t t = 1; t < n_threads; ++t) {
    threads.emplace_back(work, std::min(rows, t * per), std::min(rows, (t + 1) * per));
  }
  work(0, std::min(rows, per));
  for (auto& th : threads) th.join();
  return ok_status();
}

// Llama 3.1's RoPE frequency factors (its rope_scaling: factor 8, low_freq_factor 1,
// high_freq_factor 4, original context 8192): high frequencies kept, low ones divided by 8, a
// smooth blend between. The kernels divide each frequency by its factor.
std::vector<float> llama3_rope_factors(std::int64_t n_rot, float freq_base) {
  constexpr double kFactor = 8.0, kLow = 1.0, kHigh = 4.0, kOrigCtx = 8192.0;
  const double pi = 3.14159265358979323846;
  std::vector<float> out;
  for (std::int64_t i = 0; i < n_rot / 2; ++i) {
    const double freq = std::pow(static_cast<double>(freq_base), -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
    const double wavelen = 2.0 * pi / freq;
    double f = 1.0;
    if (wavelen > kOrigCtx / kLow) {
      f = kFactor;
    } else if (wavelen >= kOrigCtx / kHigh) {
      const double smooth = (kOrigCtx / wavelen - kLow) / (kHigh - kLow);
      f = 1.0 / ((1.0 - smooth) / kFactor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

}  // namespace

Result<std::vector<SynthTensorSpec>> synth_tensor_specs(const SynthOptions& o, std::int64_t n_vocab) {
  RETURN_IF_ERROR(check_options(o));
  if (n_vocab <= 0) return invalid_argument_error("the vocabulary is empty");
  const std::int64_t hd = o.head_dim.value_or(o.n_embd / o.n_head);
  const std::int64_t q_dim = o.n_head * hd;
  const std::int64_t kv_dim = o.n_head_kv * hd;
  const TensorType w = o.type;
  std::vector<SynthTensorSpec> specs;
  specs.push_back({"token_embd.weight", {o.n_embd, n_vocab}, w, false});
  for (std::int64_t i = 0; i < o.n_layer; ++i) {
    const std::string p = fmt::format("blk.{}.", i);
    specs.push_back({p + "attn_norm.weight", {o.n_embd}, TensorType::kF32, true});
    specs.push_back({p + "attn_q.weight", {o.n_embd, q_dim}, w, false});
    specs.push_back({p + "attn_k.weight", {o.n_embd, kv_dim}, w, false});
    specs.push_back({p + "attn_v.weight", {o.n_embd, kv_dim}, w, false});
    if (o.arch == "qwen2") {
      specs.push_back({p + "attn_q.bias", {q_dim}, TensorType::kF32, false});
      specs.push_back({p + "attn_k.bias", {kv_dim}, TensorType::kF32, false});
      specs.push_back({p + "attn_v.bias", {kv_dim}, TensorType::kF32, false});
    }
    if (o.arch == "qwen3") {
      specs.push_back({p + "attn_q_norm.weight", {hd}, TensorType::kF32, true});
      specs.push_back({p + "attn_k_norm.weight", {hd}, TensorType::kF32, true});
    }
    specs.push_back({p + "attn_output.weight", {q_dim, o.n_embd}, w, false});
    specs.push_back({p + "ffn_norm.weight", {o.n_embd}, TensorType::kF32, true});
    specs.push_back({p + "ffn_gate.weight", {o.n_embd, o.n_ff}, w, false});
    specs.push_back({p + "ffn_up.weight", {o.n_embd, o.n_ff}, w, false});
    specs.push_back({p + "ffn_down.weight", {o.n_ff, o.n_embd}, w, false});
  }
  specs.push_back({"output_norm.weight", {o.n_embd}, TensorType::kF32, true});
  if (!o.tie_embeddings) specs.push_back({"output.weight", {o.n_embd, n_vocab}, w, false});
  for (const auto& s : specs) {
    const Result<std::size_t> row = tensor_row_bytes(s.type, s.shape[0]);
    if (!row.ok()) {
      return invalid_argument_error("tensor '{}' has rows of {} elements: not a multiple of the {} block size {}; choose "
                                    "sizes that are, or another --type",
                                    s.name, s.shape[0], tensor_type_name(s.type), tensor_type_info(s.type).block_size);
    }
  }
  return specs;
}

Status synth_model(const SynthOptions& o, const std::vector<std::pair<std::string, GgufValue>>& tokenizer_metadata,
                   const std::string& out_path) {
  std::int64_t n_vocab = 0;
  for (const auto& [key, value] : tokenizer_metadata) {
    if (key == "tokenizer.ggml.tokens" && value.type() == GgufValueType::kArray) {
      n_vocab = static_cast<std::int64_t>(value.arr().count);
    }
  }
  if (n_vocab == 0) return invalid_argument_error("the vocabulary source has no tokenizer.ggml.tokens");
  ASSIGN_OR_RETURN(const std::vector<SynthTensorSpec> specs, synth_tensor_specs(o, n_vocab));
  const std::int64_t hd = o.head_dim.value_or(o.n_embd / o.n_head);

  GgufWriter w;
  const auto key = [&o](std::string_view suffix) { return arch_key(o.arch, suffix); };
  w.set_string(kKeyGeneralArchitecture, o.arch);
  w.set_string(kKeyGeneralName, !o.name.empty() ? o.name
                                                : fmt::format("parley-synthetic-{}-{}L-{}d-{}", o.arch, o.n_layer,
                                                              o.n_embd, tensor_type_name(o.type)));
  w.set_string("general.description",
               fmt::format("Synthetic model written by `parley model synth` (seed {}): random weights, so the text it "
                           "generates is noise. For tests, benchmarks and demos only.",
                           o.seed));
  w.set_u32(kKeyGeneralFileType, file_type_of(o.type));
  w.set_u32(kKeyGeneralQuantizationVersion, 2);
  w.set_u32(key("context_length"), static_cast<std::uint32_t>(o.n_ctx));
  w.set_u32(key("embedding_length"), static_cast<std::uint32_t>(o.n_embd));
  w.set_u32(key("block_count"), static_cast<std::uint32_t>(o.n_layer));
  w.set_u32(key("feed_forward_length"), static_cast<std::uint32_t>(o.n_ff));
  w.set_u32(key("attention.head_count"), static_cast<std::uint32_t>(o.n_head));
  w.set_u32(key("attention.head_count_kv"), static_cast<std::uint32_t>(o.n_head_kv));
  w.set_f32(key("attention.layer_norm_rms_epsilon"), o.rms_norm_eps);
  w.set_f32(key("rope.freq_base"), o.rope_theta);
  w.set_u32(key("rope.dimension_count"), static_cast<std::uint32_t>(hd));
  if (o.head_dim || o.arch == "qwen3") {
    w.set_u32(key("attention.key_length"), static_cast<std::uint32_t>(hd));
    w.set_u32(key("attention.value_length"), static_cast<std::uint32_t>(hd));
  }
  w.set_u32(key("vocab_size"), static_cast<std::uint32_t>(n_vocab));
  for (const auto& [k, v] : tokenizer_metadata) {
    if (k.starts_with("tokenizer.")) w.set(k, v);  // the vocabulary source's own model keys do not apply
  }

  for (const SynthTensorSpec& spec : specs) {
    RETURN_IF_ERROR(w.add_tensor(spec.name, spec.type, spec.shape,
                                 [&spec, &o](std::span<std::byte> out) { return fill_tensor(spec, o, out); }));
  }
  if (o.llama3_rope_scaling) {
    const std::vector<float> factors = llama3_rope_factors(hd, o.rope_theta);
    RETURN_IF_ERROR(w.add_tensor_bytes("rope_freqs.weight", TensorType::kF32, {static_cast<std::int64_t>(factors.size())},
                                       std::as_bytes(std::span<const float>(factors))));
  }
  return w.write_file(out_path);
}

}  // namespace parley
