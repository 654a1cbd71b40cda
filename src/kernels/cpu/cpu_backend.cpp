#include "kernels/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/mman.h>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops_avx2.h"
#include "kernels/cpu/roofline.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/reference/reference_backend.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

// Work below this many elements runs on the calling thread: waking the team costs more.
constexpr std::int64_t kParallelMin = 1 << 14;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads), simd_(cpu_features().has_avx2_kernels()) {}

  std::string name() const override {
    return "cpu (" + std::to_string(pool_.size()) + " threads, " + cpu_features().to_string() + ")";
  }

  MachineLimits measure_limits() override {
    return {cpu::measure_memory_bandwidth_gbs(pool_), cpu::measure_fma_gflops(pool_), cpu::measure_int8_gops(pool_)};
  }

  void* alloc(std::size_t bytes) override {
    // Large buffers (the KV cache) in 2 MiB pages where the kernel allows it: attention reads a
    // sequence's blocks scattered over the whole cache, and with 4 KiB pages nearly every block
    // costs a TLB miss (a nested page walk in a VM); decode attention over 8 MiB of cache per
    // layer took ~15% less time on the development machine.
    const bool huge = bytes >= kHugePage;
    const std::size_t align = huge ? kHugePage : 64;
    const std::size_t size = (std::max<std::size_t>(bytes, 1) + align - 1) / align * align;
    void* p = std::aligned_alloc(align, size);
    CHECK(p != nullptr, "out of memory allocating {} bytes", size);
#if defined(MADV_HUGEPAGE)
    if (huge) madvise(p, size, MADV_HUGEPAGE);  // advice only: without it the pages are small
#endif
    std::memset(p, 0, size);
    return p;
  }
  void free(void* p) override { std::free(p); }
  void to_host(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void from_host(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  Result<WeightView> prepare_weight(const WeightView& host, WeightUse use) override {
    if (use == WeightUse::kRows) {
      if (!tensor_type_info(host.type).computable) {
        return unimplemented_error("the CPU backend cannot read {} rows", tensor_type_name(host.type));
      }
      return host;  // get_rows reads GGUF rows in place
    }
    return cpu::prepare_matmul_weight(host, &owned_);
  }
  bool supports(TensorType type) const override { return cpu::matmul_supports(type); }

  void get_rows(float* y, const WeightView& table, const std::int32_t* ids, std::int64_t n) override {
    for (std::int64_t i = 0; i < n; ++i) {
      dequantize_row(table.type, static_cast<const std::byte*>(table.data) + ids[i] * static_cast<std::int64_t>(table.row_bytes),
                     y + i * table.n_in, table.n_in);
    }
  }

  void matmul(std::span<const MatmulOut> outs, const float* x, std::int64_t n_tokens) override {
    cpu::matmul(pool_, scratch_, outs, x, n_tokens);
  }

  void rms_norm(float* y, const float* x, const float* weight, std::int64_t n_rows, std::int64_t n, float eps) override {
    if (!simd_) return reference::rms_norm(y, x, weight, n_rows, n, eps);
    for_rows(n_rows, n, [&](std::int64_t r) {
      const float ss = avx2::sum_squares(x + r * n, n);
      avx2::scale_mul(y + r * n, x + r * n, 1.0f / std::sqrt(ss / static_cast<float>(n) + eps), weight, n);
    });
  }

  void rope(float* x, const std::int32_t* positions, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t head_dim,
            const RopeParams& p) override {
    if (!simd_) return reference::rope(x, positions, n_tokens, n_heads, head_dim, p);
    // cos/sin per token and frequency, shared by all heads, and by every layer of a forward pass
    // (same positions, same parameters): recomputed only when those change.
    const std::int64_t half = p.n_rot / 2;
    if (!rope_cache_matches(positions, n_tokens, p)) {
      rope_positions_.assign(positions, positions + n_tokens);
      rope_params_ = p;
      rope_table_.resize(static_cast<std::size_t>(2 * n_tokens * half));
      for (std::int64_t t = 0; t < n_tokens; ++t) {
        const double pos = static_cast<double>(positions[t]) * p.freq_scale;
        for (std::int64_t i = 0; i < half; ++i) {
          double theta = pos * std::pow(static_cast<double>(p.freq_base), -2.0 * static_cast<double>(i) / static_cast<double>(p.n_rot));
          if (p.freq_factors != nullptr) theta /= p.freq_factors[i];
          rope_table_[static_cast<std::size_t>((2 * t) * half + i)] = static_cast<float>(std::cos(theta));
          rope_table_[static_cast<std::size_t>((2 * t + 1) * half + i)] = static_cast<float>(std::sin(theta));
        }
      }
    }
    for_rows(n_tokens * n_heads, head_dim, [&](std::int64_t r) {
      const std::int64_t t = r / n_heads;
      avx2::rope_head(x + r * head_dim, rope_table_.data() + (2 * t) * half, rope_table_.data() + (2 * t + 1) * half, half,
                      p.neox);
    });
  }

  void swiglu(float* y, const float* gate, const float* up, std::int64_t n) override {
    if (!simd_) return reference::swiglu(y, gate, up, n);
    for_chunks(n, [&](std::int64_t b, std::int64_t e) { avx2::swiglu(y + b, gate + b, up + b, e - b); });
  }

  void add(float* y, const float* a, const float* b, std::int64_t n) override {
    if (!simd_) {
      for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
      return;
    }
    for_chunks(n, [&](std::int64_t lo, std::int64_t hi) { avx2::add(y + lo, a + lo, b + lo, hi - lo); });
  }

  void kv_write(const KvCacheView& kv, int layer, const float* k, const float* v, const std::int32_t* slots,
                std::int64_t n_tokens) override {
    const std::int64_t row = kv.n_kv_heads * kv.head_dim;
    for (std::int64_t t = 0; t < n_tokens; ++t) {
      const std::int64_t at = static_cast<std::int64_t>(slots[t]) * row;
      if (kv.type == TensorType::kQ8_0) {
        // The reference's quantizer: the cache holds the same bytes on both backends. Appending
        // is a small part of a step (one row per token and layer), so it stays scalar.
        quantize_row_q8_0(k + t * row, static_cast<BlockQ8_0*>(kv.k[layer]) + at / kQK8_0, row);
        quantize_row_q8_0(v + t * row, static_cast<BlockQ8_0*>(kv.v[layer]) + at / kQK8_0, row);
      } else if (kv.type == TensorType::kF16) {
        if (simd_) {
          avx2::f32_to_f16(static_cast<fp16_t*>(kv.k[layer]) + at, k + t * row, row);
          avx2::f32_to_f16(static_cast<fp16_t*>(kv.v[layer]) + at, v + t * row, row);
        } else {
          quantize_row_f16(k + t * row, static_cast<fp16_t*>(kv.k[layer]) + at, row);
          quantize_row_f16(v + t * row, static_cast<fp16_t*>(kv.v[layer]) + at, row);
        }
      } else {
        std::memcpy(static_cast<float*>(kv.k[layer]) + at, k + t * row, static_cast<std::size_t>(row) * sizeof(float));
        std::memcpy(static_cast<float*>(kv.v[layer]) + at, v + t * row, static_cast<std::size_t>(row) * sizeof(float));
      }
    }
  }

  void attention(float* out, const float* q, const KvCacheView& kv, int layer, std::span<const AttentionSeq> seqs,
                 const AttentionParams& p) override {
    if (!simd_) {
      reference_->attention(out, q, kv, layer, seqs, p);
      return;
    }
    cpu::attention(pool_, attn_scratch_, out, q, kv, layer, seqs, p);
  }

 private:
  // Calls fn(row) for every row, in parallel when the work is big enough.
  template <typename F>
  void for_rows(std::int64_t n_rows, std::int64_t row_len, F&& fn) {
    if (n_rows * row_len < kParallelMin || n_rows < 2) {
      for (std::int64_t r = 0; r < n_rows; ++r) fn(r);
      return;
    }
    pool_.parallel_for(n_rows, 1, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t r = b; r < e; ++r) fn(r);
    });
  }
  // Calls fn(begin, end) over [0, n) in chunks (multiples of 16 elements).
  template <typename F>
  void for_chunks(std::int64_t n, F&& fn) {
    if (n < kParallelMin) return fn(0, n);
    pool_.parallel_for(n, 16, fn);
  }

  bool rope_cache_matches(const std::int32_t* positions, std::int64_t n, const RopeParams& p) const {
    return static_cast<std::int64_t>(rope_positions_.size()) == n && rope_params_.n_rot == p.n_rot &&
           rope_params_.freq_base == p.freq_base && rope_params_.freq_scale == p.freq_scale &&
           rope_params_.freq_factors == p.freq_factors &&
           std::equal(rope_positions_.begin(), rope_positions_.end(), positions);
  }

  ThreadPool pool_;
  bool simd_;
  cpu::MatmulScratch scratch_;
  std::vector<std::unique_ptr<std::byte[]>> owned_;
  std::vector<float> rope_table_;
  std::vector<std::int32_t> rope_positions_;
  RopeParams rope_params_;
  cpu::MatmulScratch attn_scratch_;  // the attention's per-thread arrays
  std::unique_ptr<Backend> reference_ = make_reference_backend();
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options) {
  int n = options.n_threads;
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuBackend>(n);
}

}  // namespace parley
