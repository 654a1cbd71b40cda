// Panel layout of repacked matmul weights (WeightView::layout == kLayoutPanel16) and the packed
// activation layout the SIMD kernels read. Internal to kernels/cpu.
//
// Why panels: the kernels compute 16 output rows at once with one vector lane per row (an outer
// product: a vector of 16 rows' weights times one broadcast activation per token). So the weights
// of 16 consecutive rows are interleaved, 4 bytes (= 4 inputs of one row, one 32-bit lane) at a
// time, and every load the kernel issues is a whole 64-byte line that feeds all the tokens of a
// tile. The byte count per row stays what GGUF stores (Q4_K: +4 bytes per super-block), so a
// decode step still streams the same number of bytes.
//
// A panel holds 16 rows (the last one of a matrix is zero-padded) and n_blocks blocks along the
// inputs. It is two regions: first the quants of every block (quant_bytes each, multiples of 64,
// so every quant load is line-aligned), then the scales of every block (scale_bytes each).
//
// Per-type block layouts (r = row in the panel, b = byte in a 4-byte lane):
//   Q8_0  quants: 8 groups g, [g][r][b] = qs[4g + b] (signed);         scales: d[16] fp16
//   Q4_0  quants: 4 groups j, [j][r][b] = qs[4j + b] (low nibble = element 4j+b, high = 16+4j+b);
//         scales: d[16]
//   Q4_1  as Q4_0;                                                       scales: d[16], m[16]
//   Q5_0  as Q4_0, then qh [r][b]: bit j = fifth bit of element 4j+b, bit 4+j of 16+4j+b;
//         scales: d[16]
//   Q5_1  as Q5_0;                                                       scales: d[16], m[16]
//   Q4_K  quants: [c][j][r][b] = qs[32c + 4j + b] (c < 4, j < 8);
//         scales: d[16], dmin[16], sc[8][16] u8, mins[4][16][2] u8 (pairs of sub-blocks)
//   Q6_K  quants: per half h: [j][3][r][b] = ql[64h + 4j + b], ql[64h + 32 + 4j + b], qh[32h + 4j + b];
//         scales: sc[16][16] s8, d[16]
//   F32 / F16 / BF16: [k][r], one element per row per input (block of 1 input), no scales.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/backend.h"

namespace parley::cpu {

inline constexpr int kPanelRows = 16;
inline constexpr int kLayoutPanel16 = 1;

struct PanelFormat {
  TensorType type = TensorType::kF32;
  std::int64_t block_k = 0;      // inputs per block
  std::size_t quant_bytes = 0;   // per block, quant region
  std::size_t scale_bytes = 0;   // per block, scale region
};

// The panel format of `type`, or nullptr when the type has no panel kernels.
const PanelFormat* panel_format(TensorType type);

// Bytes of one panel of a weight with n_in inputs.
std::size_t panel_bytes(const PanelFormat& f, std::int64_t n_in);

// Repacks rows [row0, row0 + 16) of the GGUF weight `w` (rows past n_out are zero) into `panel`.
void pack_panel(const PanelFormat& f, const WeightView& w, std::int64_t row0, std::byte* panel);

// The inverse: writes the n_rows (<= 16) GGUF rows of `panel` to rows (row_bytes apart).
void unpack_panel(const PanelFormat& f, const std::byte* panel, std::int64_t n_in, std::int64_t n_rows,
                  std::byte* rows, std::size_t row_bytes);

// ---- Packed activations -------------------------------------------------------------------
// Tokens are processed in groups of up to T (the kernel's token tile). A group of n tokens is
// stored input-major so that one pointer plus constant offsets reaches every token:
//   Q8 (32-blocks): qs [n_in/4][n][4] int8, d [n_in/32][n] float, nsum [n_in/32][n] int32 (minus the
//                   sum of the block's quants), s [n_in/32][n] float (d * sum, for weight minimums)
//   Q8K (256):      qs as above, d [n_in/256][n] float, nsum [n_in/16][n] int32 (minus 16-sums),
//                   msum [n_in/64][n] 2 x int16 (sums of the two 32-sub-blocks of each 64)
//   F32:            x [n_in][n] float
enum class ActKind { kQ8, kQ8K, kF32 };

struct ActGroup {
  const std::int8_t* qs = nullptr;
  const float* d = nullptr;
  const std::int32_t* nsum = nullptr;
  const float* s = nullptr;
  const std::int32_t* msum = nullptr;
  const float* x = nullptr;  // kF32
};

// Bytes of one group of up to `tile` tokens (64-byte multiple) and the group's parts at `base`.
std::size_t act_group_bytes(ActKind kind, std::int64_t n_in, int tile);
ActGroup act_group_at(ActKind kind, std::byte* base, std::int64_t n_in, int tile, int n);

// Scalar packers (reference for the SIMD ones, and the path on processors without AVX2).
void pack_act_scalar(ActKind kind, const float* x, std::int64_t ldx, std::int64_t n_in, int n, std::byte* base, int tile);

}  // namespace parley::cpu
