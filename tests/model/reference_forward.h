// A naive forward pass written for clarity, used only by tests: every weight dequantized to float
// up front, the reference kernels, one sequence at a time, a contiguous F32 KV cache. The fast
// path (ModelRunner on a real backend) must match its logits within tolerance.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"

namespace parley::testing {

class ReferenceModel {
 public:
  static Result<ReferenceModel> load(const GgufFile& file);

  const ModelHParams& hparams() const { return h_; }

  // Logits [n_vocab] after the last of `tokens`, computed from scratch (positions 0..n-1).
  std::vector<float> last_logits(const std::vector<std::int32_t>& tokens) const;

 private:
  struct Matrix {
    std::vector<float> data;  // [n_out, n_in]
    std::int64_t n_in = 0;
    std::int64_t n_out = 0;
  };
  struct Layer {
    std::vector<float> attn_norm, ffn_norm, bq, bk, bv, q_norm, k_norm;
    Matrix wq, wk, wv, wo, w_gate, w_up, w_down;
  };
  static Result<Matrix> matrix(const GgufFile& f, const std::string& name);
  static Result<std::vector<float>> vector(const GgufFile& f, const std::string& name);
  // y[T, n_out] = x[T, n_in] W^T (+ b)
  static void linear(std::vector<float>& y, const Matrix& w, const std::vector<float>& x, std::int64_t n_tokens,
                     const std::vector<float>* bias);

  ModelHParams h_;
  bool neox_ = false;
  Matrix token_embd_, output_;
  std::vector<float> output_norm_, rope_freqs_;
  std::vector<Layer> layers_;
};

}  // namespace parley::testing
