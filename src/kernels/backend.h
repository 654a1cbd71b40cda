// Backend: the operations a transformer forward pass needs, implemented once per kind of
// processor. `reference/` is plain scalar C++ (the truth every other backend is tested against),
// `cpu/` is AVX2/AVX-512 with a thread pool, `cuda/` (later) runs on NVIDIA GPUs.
//
// Memory: every float* / void* argument points to memory of the backend (host memory for the CPU
// backends; device memory for CUDA), obtained from alloc() or, for weights, prepare_weight().
// Shapes are given in comments as [rows, columns], row-major, rows contiguous.
//
// Threading: a Backend is driven by one thread at a time (the engine thread); a backend may use
// its own worker threads inside each call. Calls complete before they return (CPU) or are ordered
// on one stream (CUDA: synchronize() waits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "tensor/tensor_type.h"

namespace parley {

// A weight matrix W of shape [n_out, n_in] as stored in GGUF (ne0 = n_in is the row length):
// row o holds the n_in input weights of output o, in `type`'s block format.
struct WeightView {
  TensorType type = TensorType::kF32;
  const void* data = nullptr;
  std::int64_t n_in = 0;
  std::int64_t n_out = 0;
  std::size_t row_bytes = 0;
  // Backend-specific layout tag: 0 = the GGUF layout; other values mean prepare_weight() repacked
  // the rows for its kernels (only that backend can read them).
  int layout = 0;
};

// One output of a matmul group: y[t, o] = sum_i x[t, i] * w[o, i] (+ bias[o]).
struct MatmulOut {
  float* y;            // [n_tokens, w.n_out]
  WeightView w;
  const float* bias;   // [w.n_out] or nullptr
};

struct RopeParams {
  std::int64_t n_rot = 0;        // rotated dimensions per head (even, <= head_dim)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;       // linear scaling: positions are multiplied by this
  bool neox = false;             // pairs (i, i + n_rot/2) instead of (2i, 2i+1)
  const float* freq_factors = nullptr;  // [n_rot/2] divisors of the frequencies (Llama 3 scaling), or nullptr
};

// What a prepared weight will be used for: matmul() may want a repacked layout, get_rows() reads
// whole rows of the table.
enum class WeightUse { kMatmul, kRows };

// The paged KV cache of one model as the kernels see it. Per layer, K and V each hold
// [n_blocks, block_size, n_kv_heads, head_dim] elements of `type` (F16, Q8_0 or F32). A token's
// "slot" is block * block_size + offset. Q8_0 (head_dim a multiple of 32): each head's head_dim
// values of a slot are head_dim / 32 BlockQ8_0 (an F16 scale d, then 32 int8 q; x = q * d), so a
// slot is n_kv_heads * head_dim / 32 * 34 bytes and one head's row is contiguous: the attention
// kernels dequantize a row at a time, exactly as they convert F16.
struct KvCacheView {
  TensorType type = TensorType::kF16;
  std::int64_t n_blocks = 0;
  std::int64_t block_size = 0;
  std::int64_t n_kv_heads = 0;
  std::int64_t head_dim = 0;
  void* const* k = nullptr;  // [n_layers] base pointers
  void* const* v = nullptr;

  // Bytes of one head's row of one slot, and of a whole slot (all KV heads).
  std::int64_t head_row_bytes() const {
    const TensorTypeInfo& info = tensor_type_info(type);
    return head_dim / info.block_size * static_cast<std::int64_t>(info.block_bytes);
  }
  std::int64_t slot_bytes() const { return n_kv_heads * head_row_bytes(); }
};

// One sequence's rows in a batch for attention: rows [row_begin, row_begin + n_rows) of the batch
// are its tokens at positions pos_begin, pos_begin + 1, ...; each attends causally to positions
// 0 .. its own, which must already be in the cache (kv_write runs first). block_table maps
// position / block_size to a block.
struct AttentionSeq {
  std::int32_t row_begin = 0;
  std::int32_t n_rows = 0;
  std::int32_t pos_begin = 0;
  const std::int32_t* block_table = nullptr;
};

struct AttentionParams {
  std::int64_t n_head = 0;
  std::int64_t n_kv_heads = 0;
  std::int64_t head_dim = 0;
  float scale = 1.0f;  // usually 1/sqrt(head_dim)
};

// The physical limits of the processor a backend runs on, measured (not looked up), so that
// benchmarks can report each figure as a fraction of what the machine can do.
struct MachineLimits {
  double mem_bandwidth_gb_s = 0.0;  // sustained read bandwidth of the backend's memory, 1e9 B/s
  double fma_gflop_s = 0.0;         // peak FP32 multiply-add throughput, 1e9 FLOP/s (2 per FMA)
  double int8_gop_s = 0.0;          // peak int8 dot-product throughput, 1e9 OP/s (0 if not measured)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Measures the machine's limits with the backend's own threads (takes a second or two).
  virtual MachineLimits measure_limits() { return {}; }

  // ---- memory ----
  // Zero-initialised memory for activations and caches; released by free() or the backend's end.
  virtual void* alloc(std::size_t bytes) = 0;
  virtual void free(void* p) = 0;
  // Copies between host memory and backend memory (plain memcpy on CPU backends).
  virtual void to_host(void* dst_host, const void* src, std::size_t bytes) = 0;
  virtual void from_host(void* dst, const void* src_host, std::size_t bytes) = 0;
  // Copies within backend memory.
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  // Makes a weight usable by this backend's kernels for `use`: the same view (CPU, zero-copy into
  // the mapped file), a repacked copy, or an upload. The returned view stays valid while the
  // backend lives. A table used both ways (tied embeddings) is prepared once for each use.
  virtual Result<WeightView> prepare_weight(const WeightView& host, WeightUse use) = 0;
  // Whether matmul() supports weights of this type.
  virtual bool supports(TensorType type) const = 0;
  virtual void synchronize() {}

  // ---- ops ----
  // Rows `ids` of the table (dequantized): y [n, table.n_in]. `table` was prepared for kRows (or
  // is plain F32 backend memory).
  virtual void get_rows(float* y, const WeightView& table, const std::int32_t* ids, std::int64_t n) = 0;
  // Every output of the group reads the same x [n_tokens, n_in]; all weights share n_in.
  virtual void matmul(std::span<const MatmulOut> outs, const float* x, std::int64_t n_tokens) = 0;
  // y = x / sqrt(mean(x^2) + eps) * weight, per row of n; y may be x.
  virtual void rms_norm(float* y, const float* x, const float* weight, std::int64_t n_rows, std::int64_t n,
                        float eps) = 0;
  // Rotates the first n_rot dims of every head of x [n_tokens, n_heads, head_dim] in place.
  virtual void rope(float* x, const std::int32_t* positions, std::int64_t n_tokens, std::int64_t n_heads,
                    std::int64_t head_dim, const RopeParams& p) = 0;
  // y = silu(gate) * up, elementwise over n; y may alias gate.
  virtual void swiglu(float* y, const float* gate, const float* up, std::int64_t n) = 0;
  // y = a + b, elementwise; y may alias a or b.
  virtual void add(float* y, const float* a, const float* b, std::int64_t n) = 0;
  // Stores k and v [n_tokens, n_kv_heads * head_dim] of `layer` at the given slots.
  virtual void kv_write(const KvCacheView& kv, int layer, const float* k, const float* v, const std::int32_t* slots,
                        std::int64_t n_tokens) = 0;
  // out [n_rows, n_head * head_dim] = softmax(q k^T * scale) v, causal, grouped-query
  // (query head h reads kv head h / (n_head / n_kv_heads)); q [n_rows, n_head * head_dim].
  virtual void attention(float* out, const float* q, const KvCacheView& kv, int layer, std::span<const AttentionSeq> seqs,
                         const AttentionParams& p) = 0;
};

struct BackendOptions {
  int n_threads = 0;  // CPU: worker threads (0 = all cores)
};

// "cpu" (fastest kernels this processor supports) or "reference" (scalar, for tests).
Result<std::unique_ptr<Backend>> create_backend(std::string_view name, const BackendOptions& options = {});

}  // namespace parley
