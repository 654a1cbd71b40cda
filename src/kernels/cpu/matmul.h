// Matrix products of the CPU backend: y[t, o] = sum_i x[t, i] * W[o, i] for quantized and float
// weights, split across the thread pool. Internal to kernels/cpu.
//
// Paths, fastest first (chosen per call from matmul_isa()):
//   AVX-512 VNNI  int8 dot products (vpdpbusd) on activations quantized to 8 bits per call, FMA
//                 for float weights; weights repacked into 16-row panels (matmul_pack.h)
//   AVX2          the same panels with vpmaddubsw / vpmaddwd and 256-bit FMA
//   scalar        dequantize a row (unpacking a panel first if needed) and take float dot products;
//                 also the path for types without panel kernels (Q2_K, Q3_K, Q5_K, ...)
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "kernels/backend.h"
#include "kernels/cpu/thread_pool.h"

namespace parley::cpu {

// Memory the matmul kernels reuse between calls (quantized activations, per-thread tiles).
// Grows as needed; owned by the backend.
class MatmulScratch {
 public:
  // At least `bytes` of 64-byte-aligned memory; the pointer stays valid until the next call.
  std::byte* get(std::size_t bytes);

 private:
  struct Free {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
};

bool matmul_supports(TensorType type);

// The view the kernels want for `w`: the same bytes, or a repacked copy appended to `owned`.
// A repacked view (layout != 0) is only for matmul(): its rows are no longer GGUF rows.
Result<WeightView> prepare_matmul_weight(const WeightView& w, std::vector<std::unique_ptr<std::byte[]>>* owned);

// All outs share x [n_tokens, n_in]. Blocks until done.
void matmul(ThreadPool& pool, MatmulScratch& scratch, std::span<const MatmulOut> outs, const float* x,
            std::int64_t n_tokens);

// ---- Instruction-set selection (tests and benchmarks) -------------------------------------------

enum class MatmulIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The widest path this processor supports.
MatmulIsa detected_matmul_isa();
// The path matmul() uses: the detected one, capped by set_matmul_isa_limit().
MatmulIsa matmul_isa();
// Caps the path (process-wide) so tests can run the AVX2 and scalar paths on an AVX-512 machine;
// kAvx512 restores the default. Not for use while another thread runs matmul().
void set_matmul_isa_limit(MatmulIsa limit);
const char* matmul_isa_name(MatmulIsa isa);

}  // namespace parley::cpu
