// ModelRunner: the batched forward pass. One call processes a batch of tokens that belong to many
// sequences at different positions (some prefilling a chunk of their prompt, some decoding one
// token), writes their keys and values into the paged KV cache, and returns the logits of the last
// token of each sequence that asks for them. This is the API the serving engine drives.
//
// Not thread-safe: one runner per engine thread. Activation buffers for up to max_batch_tokens
// tokens are allocated once, on the model's backend.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "kernels/backend.h"
#include "model/model.h"

namespace parley {

struct ForwardSeq {
  std::int32_t n_tokens = 0;    // its tokens in the batch (consecutive, in sequence order)
  std::int32_t pos_begin = 0;   // position of the first of them (tokens already in the cache)
  std::span<const std::int32_t> block_table;  // covers positions [0, pos_begin + n_tokens)
  bool want_logits = true;      // logits of its last token in this batch
};

struct ForwardBatch {
  std::span<const std::int32_t> tokens;  // the tokens of seqs[0], then seqs[1], ...
  std::span<const ForwardSeq> seqs;
};

struct RunnerOptions {
  std::int64_t max_batch_tokens = 512;
  std::int64_t max_seqs = 64;
};

class ModelRunner {
 public:
  // `kv` must be laid out for this model (layers, kv heads, head size) and outlive the runner.
  static Result<std::unique_ptr<ModelRunner>> create(const Model& model, const KvCacheView& kv,
                                                     const RunnerOptions& options = {});
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  // Runs the batch. `logits` (host memory) receives [number of seqs wanting logits, n_vocab] in
  // sequence order. Fails without side effects on the cache when the batch is malformed (bad
  // token ids, block tables that do not cover the positions, too many tokens).
  Status forward(const ForwardBatch& batch, std::span<float> logits);

  const Model& model() const { return model_; }
  std::int64_t n_vocab() const { return model_.hparams().n_vocab; }
  const RunnerOptions& options() const { return options_; }

 private:
  ModelRunner(const Model& model, const KvCacheView& kv, const RunnerOptions& options);
  Status validate(const ForwardBatch& batch, std::size_t logits_size) const;
  float* alloc_floats(std::int64_t n);

  const Model& model_;
  Backend& backend_;
  KvCacheView kv_;
  RunnerOptions options_;
  RopeParams rope_;
  AttentionParams attn_;
  std::vector<void*> buffers_;
  // Backend buffers. Shapes per batch of T tokens and S sequences wanting logits:
  std::int32_t* ids_ = nullptr;        // [T]
  std::int32_t* positions_ = nullptr;  // [T]
  std::int32_t* slots_ = nullptr;      // [T]
  std::int32_t* tables_ = nullptr;     // concatenated block tables
  std::int32_t* logit_rows_ = nullptr; // [S]
  float* x_ = nullptr;       // [T, n_embd] residual stream
  float* h_ = nullptr;       // [T, n_embd] normed input / block output
  float* q_ = nullptr;       // [T, n_head, head_dim]
  float* k_ = nullptr;       // [T, n_kv_heads, head_dim]
  float* v_ = nullptr;       // [T, n_kv_heads, head_dim]
  float* attn_buf_ = nullptr;  // [T, n_head, head_dim] attention output
  float* gate_ = nullptr;    // [T, n_ff]
  float* up_ = nullptr;      // [T, n_ff]
  float* rows_ = nullptr;    // [S, n_embd] last hidden states of the sequences wanting logits
  float* logits_ = nullptr;  // [S, n_vocab]
  std::int64_t table_capacity_ = 0;
  // Host staging for the integer inputs.
  std::vector<std::int32_t> host_positions_, host_slots_, host_tables_, host_rows_;
  std::vector<AttentionSeq> attn_seqs_;
};

}  // namespace parley
