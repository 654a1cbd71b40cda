// The synthetic model shapes the suites serve (model/synth.h): q8_0 weights, small enough to write
// and load in milliseconds. Each suite sets what it needs on top (context, seed, threads).
#pragma once

#include <cstdint>

#include "model/synth.h"

namespace parley::testing {

// One layer, 64 wide, 2 heads sharing 1 KV head: the API, accounts, models and worker suites.
inline SynthOptions one_layer_synth(std::int64_t n_ctx = 4096) {
  SynthOptions o;
  o.n_layer = 1;
  o.n_embd = 64;
  o.n_head = 2;
  o.n_head_kv = 1;
  o.n_ff = 128;
  o.n_ctx = n_ctx;
  o.type = TensorType::kQ8_0;
  return o;
}

// Two layers, 128 wide, 4 heads and 2 KV heads: the conversation and engine suites.
inline SynthOptions two_layer_synth() {
  SynthOptions o;
  o.n_layer = 2;
  o.n_embd = 128;
  o.n_head = 4;
  o.n_head_kv = 2;
  o.n_ff = 256;
  o.type = TensorType::kQ8_0;
  return o;
}

}  // namespace parley::testing
