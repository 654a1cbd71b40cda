// The weights of a llama-family decoder as the forward pass uses them: views prepared by the
// backend (zero-copy into the mapped file on CPU). Vectors (norms, biases) are F32 views with
// n_out = 1. Optional tensors have data == nullptr.
#pragma once

#include <vector>

#include "kernels/backend.h"

namespace parley {

struct LayerWeights {
  WeightView attn_norm;            // [n_embd]
  WeightView wq, wk, wv, wo;       // [n_head*hd, n_embd], [n_kv*hd, n_embd], [n_kv*hd, n_embd], [n_embd, n_head*hd]
  WeightView bq, bk, bv;           // qwen2: [n_head*hd], [n_kv*hd], [n_kv*hd]
  WeightView q_norm, k_norm;       // qwen3: [hd] applied to every head
  WeightView ffn_norm;             // [n_embd]
  WeightView w_gate, w_up, w_down; // [n_ff, n_embd], [n_ff, n_embd], [n_embd, n_ff]
};

struct ModelWeights {
  WeightView token_embd;   // [n_vocab, n_embd], prepared for get_rows
  WeightView output_norm;  // [n_embd]
  WeightView output;       // [n_vocab, n_embd], prepared for matmul (token_embd's data when tied)
  WeightView rope_freqs;   // [n_rot/2] Llama 3 frequency factors, optional
  bool tied_embeddings = false;
  std::vector<LayerWeights> layers;
};

inline const float* as_floats(const WeightView& w) { return static_cast<const float*>(w.data); }

}  // namespace parley
