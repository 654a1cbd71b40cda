// The reference backend: every op written plainly in scalar C++ with double accumulation, no
// threads, no tricks. It defines what the other backends must compute; tests compare them to it.
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace parley {

std::unique_ptr<Backend> make_reference_backend();

// Single ops, also used directly by the naive reference forward pass in tests.
namespace reference {

// y[t, o] = sum_i x[t, i] * dequant(w)[o, i] (+ bias[o]) for one weight.
void matmul(float* y, const WeightView& w, const float* bias, const float* x, std::int64_t n_tokens);
void rms_norm(float* y, const float* x, const float* weight, std::int64_t n_rows, std::int64_t n, float eps);
void rope(float* x, const std::int32_t* positions, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t head_dim,
          const RopeParams& p);
void swiglu(float* y, const float* gate, const float* up, std::int64_t n);
// Causal attention over contiguous k, v [n_kv, n_kv_heads * head_dim] for queries at positions
// pos_begin.. (row r attends to keys 0 .. pos_begin + r).
void attention_contiguous(float* out, const float* q, std::int64_t n_rows, std::int64_t pos_begin, const float* k,
                          const float* v, const AttentionParams& p);

}  // namespace reference
}  // namespace parley
