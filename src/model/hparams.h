// ModelHParams: the hyperparameters of a transformer as stored in GGUF metadata under
// "<arch>.*" keys (llama-style decoder-only models: llama, qwen2, qwen3, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace parley {

class GgufFile;

struct ModelHParams {
  std::string arch;
  std::int64_t n_ctx_train = 0;  // context_length
  std::int64_t n_embd = 0;       // embedding_length
  std::int64_t n_layer = 0;      // block_count
  std::int64_t n_ff = 0;         // feed_forward_length
  std::int64_t n_head = 0;       // attention.head_count
  std::int64_t n_head_kv = 0;    // attention.head_count_kv (= n_head when absent)
  std::int64_t head_dim_k = 0;   // attention.key_length (= n_embd / n_head when absent)
  std::int64_t head_dim_v = 0;   // attention.value_length (= head_dim_k when absent)
  std::int64_t n_rot = 0;        // rope.dimension_count (= head_dim_k when absent)
  std::int64_t n_vocab = 0;      // vocab_size, else the tokenizer's token count, else 0
  float rms_norm_eps = 1e-5f;    // attention.layer_norm_rms_epsilon
  float rope_freq_base = 10000.0f;
  std::string rope_scaling_type;  // rope.scaling.type ("" = none, "linear", "yarn", "llama3", ...)
  float rope_scaling_factor = 1.0f;
  std::int64_t rope_scaling_orig_ctx = 0;
};

// The GGUF key "<arch>.<suffix>".
std::string arch_key(std::string_view arch, std::string_view suffix);

// Reads and checks the hyperparameters of general.architecture. Errors name the missing or
// inconsistent key (e.g. head_count_kv that does not divide head_count).
Result<ModelHParams> read_hparams(const GgufFile& file);

}  // namespace parley
