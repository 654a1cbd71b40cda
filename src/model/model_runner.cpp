#include "model/model_runner.h"

#include <cmath>

namespace parley {

Result<std::unique_ptr<ModelRunner>> ModelRunner::create(const Model& model, const KvCacheView& kv,
                                                         const RunnerOptions& options) {
  const ModelHParams& h = model.hparams();
  if (kv.n_kv_heads != h.n_head_kv || kv.head_dim != h.head_dim_k) {
    return invalid_argument_error("KV cache layout ({} kv heads of {}) does not fit the model ({} of {})", kv.n_kv_heads,
                                  kv.head_dim, h.n_head_kv, h.head_dim_k);
  }
  if (h.head_dim_k != h.head_dim_v) {
    return unimplemented_error("key and value heads of different sizes ({} and {}) are not supported", h.head_dim_k,
                               h.head_dim_v);
  }
  if (!h.rope_scaling_type.empty() && h.rope_scaling_type != "none" && h.rope_scaling_type != "linear") {
    return unimplemented_error("RoPE scaling type '{}' is not supported yet (supported: none, linear, and Llama 3 "
                               "frequency factors)",
                               h.rope_scaling_type);
  }
  if (options.max_batch_tokens <= 0 || options.max_seqs <= 0) {
    return invalid_argument_error("max_batch_tokens and max_seqs must be positive");
  }
  return std::unique_ptr<ModelRunner>(new ModelRunner(model, kv, options));
}

ModelRunner::ModelRunner(const Model& model, const KvCacheView& kv, const RunnerOptions& options)
    : model_(model), backend_(model.backend()), kv_(kv), options_(options) {
  const ModelHParams& h = model.hparams();
  rope_.n_rot = h.n_rot;
  rope_.freq_base = h.rope_freq_base;
  rope_.freq_scale = h.rope_scaling_type == "linear" && h.rope_scaling_factor > 0 ? 1.0f / h.rope_scaling_factor : 1.0f;
  rope_.neox = model.traits().rope_neox;
  rope_.freq_factors = model.weights().rope_freqs.data != nullptr ? as_floats(model.weights().rope_freqs) : nullptr;
  attn_ = {h.n_head, h.n_head_kv, h.head_dim_k, 1.0f / std::sqrt(static_cast<float>(h.head_dim_k))};

  const std::int64_t t = options.max_batch_tokens;
  const std::int64_t s = options.max_seqs;
  const auto ints = [this](std::int64_t n) {
    void* p = backend_.alloc(static_cast<std::size_t>(n) * sizeof(std::int32_t));
    buffers_.push_back(p);
    return static_cast<std::int32_t*>(p);
  };
  ids_ = ints(t);
  positions_ = ints(t);
  slots_ = ints(t);
  logit_rows_ = ints(s);
  table_capacity_ = kv.n_blocks * s;  // enough for every sequence to span the whole cache
  tables_ = ints(table_capacity_);
  x_ = alloc_floats(t * h.n_embd);
  h_ = alloc_floats(t * h.n_embd);
  q_ = alloc_floats(t * h.n_head * h.head_dim_k);
  k_ = alloc_floats(t * h.n_head_kv * h.head_dim_k);
  v_ = alloc_floats(t * h.n_head_kv * h.head_dim_v);
  attn_buf_ = alloc_floats(t * h.n_head * h.head_dim_v);
  gate_ = alloc_floats(t * h.n_ff);
  up_ = alloc_floats(t * h.n_ff);
  rows_ = alloc_floats(s * h.n_embd);
  logits_ = alloc_floats(s * h.n_vocab);
}

ModelRunner::~ModelRunner() {
  for (void* p : buffers_) backend_.free(p);
}

float* ModelRunner::alloc_floats(std::int64_t n) {
  void* p = backend_.alloc(static_cast<std::size_t>(n) * sizeof(float));
  buffers_.push_back(p);
  return static_cast<float*>(p);
}

Status ModelRunner::validate(const ForwardBatch& batch, std::size_t logits_size) const {
  const std::int64_t n_tokens = static_cast<std::int64_t>(batch.tokens.size());
  if (n_tokens == 0) return invalid_argument_error("empty batch");
  if (n_tokens > options_.max_batch_tokens) {
    return invalid_argument_error("batch of {} tokens exceeds the runner's {}", n_tokens, options_.max_batch_tokens);
  }
  if (static_cast<std::int64_t>(batch.seqs.size()) > options_.max_seqs) {
    return invalid_argument_error("batch of {} sequences exceeds the runner's {}", batch.seqs.size(), options_.max_seqs);
  }
  const std::int64_t n_vocab = model_.hparams().n_vocab;
  for (const std::int32_t id : batch.tokens) {
    if (id < 0 || id >= n_vocab) return invalid_argument_error("token id {} is outside the vocabulary of {}", id, n_vocab);
  }
  std::int64_t rows = 0;
  std::int64_t wanted = 0;
  std::int64_t table_total = 0;
  for (const ForwardSeq& s : batch.seqs) {
    if (s.n_tokens <= 0 || s.pos_begin < 0) return invalid_argument_error("a sequence has {} tokens at position {}", s.n_tokens, s.pos_begin);
    const std::int64_t end = static_cast<std::int64_t>(s.pos_begin) + s.n_tokens;
    if (static_cast<std::int64_t>(s.block_table.size()) * kv_.block_size < end) {
      return invalid_argument_error("block table of {} blocks cannot hold {} positions", s.block_table.size(), end);
    }
    for (const std::int32_t b : s.block_table) {
      if (b < 0 || b >= kv_.n_blocks) return invalid_argument_error("block {} is outside the cache of {} blocks", b, kv_.n_blocks);
    }
    rows += s.n_tokens;
    wanted += s.want_logits ? 1 : 0;
    table_total += static_cast<std::int64_t>(s.block_table.size());
  }
  if (rows != n_tokens) return invalid_argument_error("sequences hold {} tokens, the batch has {}", rows, n_tokens);
  if (table_total > table_capacity_) return invalid_argument_error("block tables too large ({} blocks)", table_total);
  if (logits_size < static_cast<std::size_t>(wanted * n_vocab)) {
    return invalid_argument_error("logits buffer of {} floats is smaller than {} x {}", logits_size, wanted, n_vocab);
  }
  return ok_status();
}

Status ModelRunner::forward(const ForwardBatch& batch, std::span<float> logits) {
  RETURN_IF_ERROR(validate(batch, logits.size()));
  const ModelHParams& hp = model_.hparams();
  const ModelWeights& w = model_.weights();
  const ArchTraits traits = model_.traits();
  const std::int64_t T = static_cast<std::int64_t>(batch.tokens.size());
  const std::int64_t D = hp.n_embd;
  const std::int64_t F = hp.n_ff;
  const float eps = hp.rms_norm_eps;

  // Integer inputs: positions and cache slots follow from each sequence's start and block table.
  host_positions_.clear();
  host_slots_.clear();
  host_tables_.clear();
  host_rows_.clear();
  attn_seqs_.clear();
  std::int32_t row = 0;
  for (const ForwardSeq& s : batch.seqs) {
    const std::size_t table_at = host_tables_.size();
    host_tables_.insert(host_tables_.end(), s.block_table.begin(), s.block_table.end());
    for (std::int32_t i = 0; i < s.n_tokens; ++i) {
      const std::int32_t pos = s.pos_begin + i;
      host_positions_.push_back(pos);
      host_slots_.push_back(s.block_table[static_cast<std::size_t>(pos / kv_.block_size)] * static_cast<std::int32_t>(kv_.block_size) +
                            pos % static_cast<std::int32_t>(kv_.block_size));
    }
    attn_seqs_.push_back({row, s.n_tokens, s.pos_begin, tables_ + table_at});
    if (s.want_logits) host_rows_.push_back(row + s.n_tokens - 1);
    row += s.n_tokens;
  }
  const auto upload = [this](std::int32_t* dst, const std::vector<std::int32_t>& src) {
    if (!src.empty()) backend_.from_host(dst, src.data(), src.size() * sizeof(std::int32_t));
  };
  backend_.from_host(ids_, batch.tokens.data(), batch.tokens.size() * sizeof(std::int32_t));
  upload(positions_, host_positions_);
  upload(slots_, host_slots_);
  upload(tables_, host_tables_);
  upload(logit_rows_, host_rows_);

  backend_.get_rows(x_, w.token_embd, ids_, T);  // x: [T, D]
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& lw = w.layers[l];
    // Attention block.
    backend_.rms_norm(h_, x_, as_floats(lw.attn_norm), T, D, eps);
    const MatmulOut qkv[] = {{q_, lw.wq, traits.attn_qkv_bias ? as_floats(lw.bq) : nullptr},
                             {k_, lw.wk, traits.attn_qkv_bias ? as_floats(lw.bk) : nullptr},
                             {v_, lw.wv, traits.attn_qkv_bias ? as_floats(lw.bv) : nullptr}};
    backend_.matmul(qkv, h_, T);
    if (traits.attn_qk_norm) {
      backend_.rms_norm(q_, q_, as_floats(lw.q_norm), T * hp.n_head, hp.head_dim_k, eps);
      backend_.rms_norm(k_, k_, as_floats(lw.k_norm), T * hp.n_head_kv, hp.head_dim_k, eps);
    }
    backend_.rope(q_, positions_, T, hp.n_head, hp.head_dim_k, rope_);
    backend_.rope(k_, positions_, T, hp.n_head_kv, hp.head_dim_k, rope_);
    backend_.kv_write(kv_, static_cast<int>(l), k_, v_, slots_, T);
    backend_.attention(attn_buf_, q_, kv_, static_cast<int>(l), attn_seqs_, attn_);
    const MatmulOut o[] = {{h_, lw.wo, nullptr}};
    backend_.matmul(o, attn_buf_, T);
    backend_.add(x_, x_, h_, T * D);
    // Feed-forward block (SwiGLU).
    backend_.rms_norm(h_, x_, as_floats(lw.ffn_norm), T, D, eps);
    const MatmulOut gate_up[] = {{gate_, lw.w_gate, nullptr}, {up_, lw.w_up, nullptr}};
    backend_.matmul(gate_up, h_, T);
    backend_.swiglu(gate_, gate_, up_, T * F);
    const MatmulOut down[] = {{h_, lw.w_down, nullptr}};
    backend_.matmul(down, gate_, T);
    backend_.add(x_, x_, h_, T * D);
  }

  const auto S = static_cast<std::int64_t>(host_rows_.size());
  if (S == 0) return ok_status();
  // The last hidden state of each sequence that wants logits, normed and projected to the vocabulary.
  const WeightView hidden{TensorType::kF32, x_, D, T, static_cast<std::size_t>(D) * sizeof(float), 0};
  backend_.get_rows(rows_, hidden, logit_rows_, S);
  backend_.rms_norm(rows_, rows_, as_floats(w.output_norm), S, D, eps);
  const MatmulOut out[] = {{logits_, w.output, nullptr}};
  backend_.matmul(out, rows_, S);
  backend_.to_host(logits.data(), logits_, static_cast<std::size_t>(S * hp.n_vocab) * sizeof(float));
  return ok_status();
}

}  // namespace parley
