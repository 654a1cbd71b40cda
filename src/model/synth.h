// Synthetic model files: a complete GGUF model with seeded random weights, real shapes, the
// standard tensor names and metadata keys of its architecture (so other GGUF tools load it),
// and the tokenizer metadata the caller supplies. Tests and benchmarks run on these, since real
// weights cannot be downloaded here. Deterministic: the same options give the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_value.h"
#include "tensor/tensor_type.h"

namespace parley {

struct SynthOptions {
  std::string arch = "llama";  // llama | qwen2 | qwen3
  std::string name;            // general.name; a descriptive default when empty
  std::int64_t n_layer = 2;
  std::int64_t n_embd = 256;
  std::int64_t n_head = 4;
  std::int64_t n_head_kv = 4;
  std::int64_t n_ff = 512;
  std::int64_t n_ctx = 4096;
  std::optional<std::int64_t> head_dim;  // default n_embd / n_head
  float rope_theta = 10000.0f;
  float rms_norm_eps = 1e-5f;
  TensorType type = TensorType::kF16;  // type of the 2-D weight matrices; norms and biases stay F32
  bool tie_embeddings = false;          // no output.weight: the output projection reuses token_embd
  bool llama3_rope_scaling = false;     // write rope_freqs.weight as Llama 3.1 does (factor 8, 8192 ctx)
  std::uint64_t seed = 0;
  float std = 0.02f;                    // standard deviation of the weights
  int threads = 0;                      // 0: all hardware threads
};

// One tensor of a synthetic model, shape in GGUF order (shape[0] = row length).
struct SynthTensorSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  TensorType type;
  bool is_norm;  // filled around 1.0 instead of around 0
};

// The tensors an architecture needs (fails for an unknown architecture or bad sizes).
Result<std::vector<SynthTensorSpec>> synth_tensor_specs(const SynthOptions& options, std::int64_t n_vocab);

// Writes the model to `out_path` (atomically). `tokenizer_metadata` are the tokenizer.* entries
// (from a vocab GGUF, or a built-in vocabulary); the vocabulary size comes from its token list.
Status synth_model(const SynthOptions& options, const std::vector<std::pair<std::string, GgufValue>>& tokenizer_metadata,
                   const std::string& out_path);

}  // namespace parley
