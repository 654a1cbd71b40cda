#include "kernels/reference/reference_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tensor/fp16.h"
#include "tensor/quantize.h"

namespace parley {
namespace reference {

void matmul(float* y, const WeightView& w, const float* bias, const float* x, std::int64_t n_tokens) {
  std::vector<float> row(static_cast<std::size_t>(w.n_in));
  for (std::int64_t o = 0; o < w.n_out; ++o) {
    dequantize_row(w.type, static_cast<const std::byte*>(w.data) + o * static_cast<std::int64_t>(w.row_bytes),
                   row.data(), w.n_in);
    for (std::int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * w.n_in;
      double sum = 0.0;
      for (std::int64_t i = 0; i < w.n_in; ++i) sum += static_cast<double>(row[static_cast<std::size_t>(i)]) * xt[i];
      if (bias != nullptr) sum += bias[o];
      y[t * w.n_out + o] = static_cast<float>(sum);
    }
  }
}

void rms_norm(float* y, const float* x, const float* weight, std::int64_t n_rows, std::int64_t n, float eps) {
  for (std::int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    double sum2 = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum2 += static_cast<double>(xr[i]) * xr[i];
    const double inv = 1.0 / std::sqrt(sum2 / static_cast<double>(n) + eps);
    float* yr = y + r * n;
    for (std::int64_t i = 0; i < n; ++i) yr[i] = static_cast<float>(xr[i] * inv * weight[i]);
  }
}

void rope(float* x, const std::int32_t* positions, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t head_dim,
          const RopeParams& p) {
  const std::int64_t half = p.n_rot / 2;
  for (std::int64_t t = 0; t < n_tokens; ++t) {
    const double pos = static_cast<double>(positions[t]) * p.freq_scale;
    for (std::int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (std::int64_t i = 0; i < half; ++i) {
        double theta = pos * std::pow(static_cast<double>(p.freq_base), -2.0 * static_cast<double>(i) / static_cast<double>(p.n_rot));
        if (p.freq_factors != nullptr) theta /= p.freq_factors[i];
        const double c = std::cos(theta);
        const double s = std::sin(theta);
        const std::int64_t a = p.neox ? i : 2 * i;
        const std::int64_t b = p.neox ? i + half : 2 * i + 1;
        const double x0 = v[a];
        const double x1 = v[b];
        v[a] = static_cast<float>(x0 * c - x1 * s);
        v[b] = static_cast<float>(x0 * s + x1 * c);
      }
    }
  }
}

void swiglu(float* y, const float* gate, const float* up, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    y[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

namespace {

// Scores, softmax and the weighted sum for one query head against `n_keys` keys fetched by `key`/`value`.
template <typename KeyFn, typename ValueFn>
void attend_one(float* out, const float* q, std::int64_t n_keys, std::int64_t head_dim, float scale, KeyFn key,
                ValueFn value) {
  std::vector<double> scores(static_cast<std::size_t>(n_keys));
  double max_score = -INFINITY;
  for (std::int64_t j = 0; j < n_keys; ++j) {
    double s = 0.0;
    for (std::int64_t d = 0; d < head_dim; ++d) s += static_cast<double>(q[d]) * key(j, d);
    s *= scale;
    scores[static_cast<std::size_t>(j)] = s;
    max_score = std::max(max_score, s);
  }
  double total = 0.0;
  for (auto& s : scores) total += (s = std::exp(s - max_score));
  for (std::int64_t d = 0; d < head_dim; ++d) {
    double acc = 0.0;
    for (std::int64_t j = 0; j < n_keys; ++j) acc += scores[static_cast<std::size_t>(j)] * value(j, d);
    out[d] = static_cast<float>(acc / total);
  }
}

// Element `index` of a layer's K or V (counted in elements, as if the cache held one per value).
float load_kv(TensorType type, const void* base, std::int64_t index) {
  if (type == TensorType::kF16) return fp16_to_fp32(static_cast<const fp16_t*>(base)[index]);
  if (type == TensorType::kQ8_0) {
    const BlockQ8_0& b = static_cast<const BlockQ8_0*>(base)[index / kQK8_0];
    return static_cast<float>(b.qs[index % kQK8_0]) * fp16_to_fp32(b.d);
  }
  return static_cast<const float*>(base)[index];
}

}  // namespace

void attention_contiguous(float* out, const float* q, std::int64_t n_rows, std::int64_t pos_begin, const float* k,
                          const float* v, const AttentionParams& p) {
  const std::int64_t kv_stride = p.n_kv_heads * p.head_dim;
  const std::int64_t group = p.n_head / p.n_kv_heads;
  for (std::int64_t r = 0; r < n_rows; ++r) {
    for (std::int64_t h = 0; h < p.n_head; ++h) {
      const std::int64_t kvh = h / group;
      attend_one(
          out + (r * p.n_head + h) * p.head_dim, q + (r * p.n_head + h) * p.head_dim, pos_begin + r + 1, p.head_dim,
          p.scale, [&](std::int64_t j, std::int64_t d) { return k[j * kv_stride + kvh * p.head_dim + d]; },
          [&](std::int64_t j, std::int64_t d) { return v[j * kv_stride + kvh * p.head_dim + d]; });
    }
  }
}

}  // namespace reference

namespace {

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }

  void* alloc(std::size_t bytes) override { return std::calloc(bytes == 0 ? 1 : bytes, 1); }
  void free(void* p) override { std::free(p); }
  void to_host(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void from_host(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  Result<WeightView> prepare_weight(const WeightView& host, WeightUse /*use*/) override {
    if (!supports(host.type)) return unimplemented_error("the reference backend cannot compute with {} weights", tensor_type_name(host.type));
    return host;
  }
  bool supports(TensorType type) const override { return tensor_type_info(type).computable; }

  void get_rows(float* y, const WeightView& table, const std::int32_t* ids, std::int64_t n) override {
    for (std::int64_t i = 0; i < n; ++i) {
      dequantize_row(table.type, static_cast<const std::byte*>(table.data) + ids[i] * static_cast<std::int64_t>(table.row_bytes),
                     y + i * table.n_in, table.n_in);
    }
  }
  void matmul(std::span<const MatmulOut> outs, const float* x, std::int64_t n_tokens) override {
    for (const MatmulOut& o : outs) reference::matmul(o.y, o.w, o.bias, x, n_tokens);
  }
  void rms_norm(float* y, const float* x, const float* weight, std::int64_t n_rows, std::int64_t n, float eps) override {
    reference::rms_norm(y, x, weight, n_rows, n, eps);
  }
  void rope(float* x, const std::int32_t* positions, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t head_dim,
            const RopeParams& p) override {
    reference::rope(x, positions, n_tokens, n_heads, head_dim, p);
  }
  void swiglu(float* y, const float* gate, const float* up, std::int64_t n) override { reference::swiglu(y, gate, up, n); }
  void add(float* y, const float* a, const float* b, std::int64_t n) override {
    for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
  }
  void kv_write(const KvCacheView& kv, int layer, const float* k, const float* v, const std::int32_t* slots,
                std::int64_t n_tokens) override {
    const std::int64_t row = kv.n_kv_heads * kv.head_dim;
    for (std::int64_t t = 0; t < n_tokens; ++t) {
      if (kv.type == TensorType::kQ8_0) {
        const std::int64_t at = static_cast<std::int64_t>(slots[t]) * (row / kQK8_0);
        quantize_row_q8_0(k + t * row, static_cast<BlockQ8_0*>(kv.k[layer]) + at, row);
        quantize_row_q8_0(v + t * row, static_cast<BlockQ8_0*>(kv.v[layer]) + at, row);
        continue;
      }
      for (std::int64_t i = 0; i < row; ++i) {
        const std::int64_t at = static_cast<std::int64_t>(slots[t]) * row + i;
        if (kv.type == TensorType::kF16) {
          static_cast<fp16_t*>(kv.k[layer])[at] = fp32_to_fp16(k[t * row + i]);
          static_cast<fp16_t*>(kv.v[layer])[at] = fp32_to_fp16(v[t * row + i]);
        } else {
          static_cast<float*>(kv.k[layer])[at] = k[t * row + i];
          static_cast<float*>(kv.v[layer])[at] = v[t * row + i];
        }
      }
    }
  }
  void attention(float* out, const float* q, const KvCacheView& kv, int layer, std::span<const AttentionSeq> seqs,
                 const AttentionParams& p) override {
    const std::int64_t row = kv.n_kv_heads * kv.head_dim;
    const std::int64_t group = p.n_head / p.n_kv_heads;
    for (const AttentionSeq& s : seqs) {
      const auto slot = [&](std::int64_t pos) {
        return static_cast<std::int64_t>(s.block_table[pos / kv.block_size]) * kv.block_size + pos % kv.block_size;
      };
      for (std::int64_t r = 0; r < s.n_rows; ++r) {
        const std::int64_t pos = s.pos_begin + r;
        const std::int64_t b = s.row_begin + r;
        for (std::int64_t h = 0; h < p.n_head; ++h) {
          const std::int64_t kvh = h / group;
          reference::attend_one(
              out + (b * p.n_head + h) * p.head_dim, q + (b * p.n_head + h) * p.head_dim, pos + 1, p.head_dim, p.scale,
              [&](std::int64_t j, std::int64_t d) { return reference::load_kv(kv.type, kv.k[layer], slot(j) * row + kvh * p.head_dim + d); },
              [&](std::int64_t j, std::int64_t d) { return reference::load_kv(kv.type, kv.v[layer], slot(j) * row + kvh * p.head_dim + d); });
        }
      }
    }
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace parley
