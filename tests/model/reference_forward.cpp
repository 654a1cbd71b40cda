#include "reference_forward.h"

#include <algorithm>
#include <cmath>

#include "kernels/reference/reference_backend.h"
#include "tensor/quantize.h"

namespace parley::testing {

Result<ReferenceModel::Matrix> ReferenceModel::matrix(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (t == nullptr) return not_found_error("no tensor {}", name);
  Matrix m;
  m.n_in = t->ne[0];
  m.n_out = t->ne[1];
  m.data.resize(static_cast<std::size_t>(m.n_in * m.n_out));
  RETURN_IF_ERROR(dequantize(t->type, f.tensor_data(*t), m.data));
  return m;
}

Result<std::vector<float>> ReferenceModel::vector(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (t == nullptr) return not_found_error("no tensor {}", name);
  std::vector<float> v(static_cast<std::size_t>(t->n_elements()));
  RETURN_IF_ERROR(dequantize(t->type, f.tensor_data(*t), v));
  return v;
}

Result<ReferenceModel> ReferenceModel::load(const GgufFile& f) {
  ReferenceModel m;
  ASSIGN_OR_RETURN(m.h_, read_hparams(f));
  m.neox_ = m.h_.arch == "qwen2" || m.h_.arch == "qwen3";
  ASSIGN_OR_RETURN(m.token_embd_, matrix(f, "token_embd.weight"));
  ASSIGN_OR_RETURN(m.output_norm_, vector(f, "output_norm.weight"));
  if (f.find_tensor("output.weight") != nullptr) {
    ASSIGN_OR_RETURN(m.output_, matrix(f, "output.weight"));
  } else {
    m.output_ = m.token_embd_;  // tied embeddings
  }
  if (f.find_tensor("rope_freqs.weight") != nullptr) {
    ASSIGN_OR_RETURN(m.rope_freqs_, vector(f, "rope_freqs.weight"));
  }
  for (std::int64_t i = 0; i < m.h_.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    Layer l;
    ASSIGN_OR_RETURN(l.attn_norm, vector(f, p + "attn_norm.weight"));
    ASSIGN_OR_RETURN(l.ffn_norm, vector(f, p + "ffn_norm.weight"));
    ASSIGN_OR_RETURN(l.wq, matrix(f, p + "attn_q.weight"));
    ASSIGN_OR_RETURN(l.wk, matrix(f, p + "attn_k.weight"));
    ASSIGN_OR_RETURN(l.wv, matrix(f, p + "attn_v.weight"));
    ASSIGN_OR_RETURN(l.wo, matrix(f, p + "attn_output.weight"));
    ASSIGN_OR_RETURN(l.w_gate, matrix(f, p + "ffn_gate.weight"));
    ASSIGN_OR_RETURN(l.w_up, matrix(f, p + "ffn_up.weight"));
    ASSIGN_OR_RETURN(l.w_down, matrix(f, p + "ffn_down.weight"));
    if (f.find_tensor(p + "attn_q.bias") != nullptr) {
      ASSIGN_OR_RETURN(l.bq, vector(f, p + "attn_q.bias"));
      ASSIGN_OR_RETURN(l.bk, vector(f, p + "attn_k.bias"));
      ASSIGN_OR_RETURN(l.bv, vector(f, p + "attn_v.bias"));
    }
    if (f.find_tensor(p + "attn_q_norm.weight") != nullptr) {
      ASSIGN_OR_RETURN(l.q_norm, vector(f, p + "attn_q_norm.weight"));
      ASSIGN_OR_RETURN(l.k_norm, vector(f, p + "attn_k_norm.weight"));
    }
    m.layers_.push_back(std::move(l));
  }
  return m;
}

void ReferenceModel::linear(std::vector<float>& y, const Matrix& w, const std::vector<float>& x, std::int64_t n_tokens,
                            const std::vector<float>* bias) {
  y.assign(static_cast<std::size_t>(n_tokens * w.n_out), 0.0f);
  for (std::int64_t t = 0; t < n_tokens; ++t) {
    for (std::int64_t o = 0; o < w.n_out; ++o) {
      double sum = 0.0;
      for (std::int64_t i = 0; i < w.n_in; ++i) {
        sum += static_cast<double>(w.data[static_cast<std::size_t>(o * w.n_in + i)]) * x[static_cast<std::size_t>(t * w.n_in + i)];
      }
      if (bias != nullptr && !bias->empty()) sum += (*bias)[static_cast<std::size_t>(o)];
      y[static_cast<std::size_t>(t * w.n_out + o)] = static_cast<float>(sum);
    }
  }
}

std::vector<float> ReferenceModel::last_logits(const std::vector<std::int32_t>& tokens) const {
  const std::int64_t T = static_cast<std::int64_t>(tokens.size());
  const std::int64_t D = h_.n_embd;
  const std::int64_t hd = h_.head_dim_k;
  const float eps = h_.rms_norm_eps;
  // x: [T, D], the embeddings of the tokens.
  std::vector<float> x(static_cast<std::size_t>(T * D));
  for (std::int64_t t = 0; t < T; ++t) {
    std::copy_n(token_embd_.data.begin() + tokens[static_cast<std::size_t>(t)] * D, D, x.begin() + t * D);
  }
  std::vector<std::int32_t> positions(static_cast<std::size_t>(T));
  for (std::int64_t t = 0; t < T; ++t) positions[static_cast<std::size_t>(t)] = static_cast<std::int32_t>(t);
  RopeParams rope{h_.n_rot, h_.rope_freq_base,
                  h_.rope_scaling_type == "linear" ? 1.0f / h_.rope_scaling_factor : 1.0f, neox_,
                  rope_freqs_.empty() ? nullptr : rope_freqs_.data()};
  const AttentionParams ap{h_.n_head, h_.n_head_kv, hd, 1.0f / std::sqrt(static_cast<float>(hd))};

  std::vector<float> h(x.size()), q, k, v, attn(static_cast<std::size_t>(T * h_.n_head * hd)), o, gate, up, down;
  for (const Layer& l : layers_) {
    reference::rms_norm(h.data(), x.data(), l.attn_norm.data(), T, D, eps);
    linear(q, l.wq, h, T, &l.bq);  // q: [T, n_head, hd]
    linear(k, l.wk, h, T, &l.bk);  // k: [T, n_kv, hd] — the whole sequence is the KV cache
    linear(v, l.wv, h, T, &l.bv);
    if (!l.q_norm.empty()) {
      reference::rms_norm(q.data(), q.data(), l.q_norm.data(), T * h_.n_head, hd, eps);
      reference::rms_norm(k.data(), k.data(), l.k_norm.data(), T * h_.n_head_kv, hd, eps);
    }
    reference::rope(q.data(), positions.data(), T, h_.n_head, hd, rope);
    reference::rope(k.data(), positions.data(), T, h_.n_head_kv, hd, rope);
    reference::attention_contiguous(attn.data(), q.data(), T, 0, k.data(), v.data(), ap);
    linear(o, l.wo, attn, T, nullptr);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    reference::rms_norm(h.data(), x.data(), l.ffn_norm.data(), T, D, eps);
    linear(gate, l.w_gate, h, T, nullptr);
    linear(up, l.w_up, h, T, nullptr);
    reference::swiglu(gate.data(), gate.data(), up.data(), static_cast<std::int64_t>(gate.size()));
    linear(down, l.w_down, gate, T, nullptr);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
  std::vector<float> last(x.end() - D, x.end());
  reference::rms_norm(last.data(), last.data(), output_norm_.data(), 1, D, eps);
  std::vector<float> logits;
  linear(logits, output_, last, 1, nullptr);
  return logits;
}

}  // namespace parley::testing
