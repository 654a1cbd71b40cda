// Entry points of the SIMD matmul kernels over panel-packed weights (kernels/cpu/matmul_pack.h).
// matmul_avx2.cpp is compiled with -mavx2 -mfma -mf16c, matmul_avx512.cpp additionally with
// AVX-512 F/BW/VL/VNNI; call them only after cpu_features() confirms the instruction sets.
// Internal to kernels/cpu.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/matmul_pack.h"
#include "tensor/tensor_type.h"

namespace parley::cpu {

// One kernel call: n_panels consecutive panels of one weight times one token group.
struct GemmArgs {
  const std::byte* w = nullptr;  // first panel
  std::size_t panel_bytes = 0;
  std::int64_t n_panels = 0;
  std::int64_t n_in = 0;
  int rows_last = kPanelRows;    // valid rows of the last panel (the matrix's last panel may be short)
  ActGroup act;                  // packed activations of the group
  int n_tokens = 0;              // tokens in the group: 1 .. the kind's tile
  float* y = nullptr;            // y of the first panel's first row, first token of the group
  std::int64_t ldy = 0;          // distance between tokens in y (the weight's n_out)
  const float* bias = nullptr;   // bias of the first panel's first row, or nullptr
};

using GemmFn = void (*)(const GemmArgs&);

namespace avx2 {
// Kernel for `type` (nullptr when this ISA has none) and the token tile it wants for an ActKind.
GemmFn gemm_kernel(TensorType type);
int act_tile(ActKind kind);
// Packs tokens [0, n) of x (rows ldx apart) into one activation group at base (see matmul_pack.h).
void pack_act(ActKind kind, const float* x, std::int64_t ldx, std::int64_t n_in, int n, std::byte* base, int tile);
}  // namespace avx2

namespace avx512 {
GemmFn gemm_kernel(TensorType type);
int act_tile(ActKind kind);
}  // namespace avx512

// The activation kind the kernels of `type` read.
inline ActKind act_kind(TensorType type) {
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16: return ActKind::kF32;
    case TensorType::kQ4_K:
    case TensorType::kQ6_K: return ActKind::kQ8K;
    default: return ActKind::kQ8;
  }
}

}  // namespace parley::cpu
