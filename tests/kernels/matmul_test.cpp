// CPU matmul against reference::matmul: every weight type, token counts around the kernels'
// tiles, groups of outputs with biases and row counts that are not multiples of a panel, 1-3
// threads, and every instruction-set path this processor has (AVX-512 VNNI, AVX2, scalar).
#include "kernels/cpu/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/matmul_pack.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/reference/reference_backend.h"
#include "tensor/quantize.h"

namespace parley::cpu {
namespace {

// Tolerances, as max |y - y_ref| / (rms(y_ref) + eps) over a whole output.
//
// Float weights (F32/F16/BF16 convert exactly to float): only the float accumulation order differs
// from the reference's double sum: ~sqrt(n_in) * 2^-24 relative, far below 1e-4.
constexpr double kTolFloat = 1e-4;
// Quantized weights on the SIMD paths: activations are quantized to int8 with a scale of
// max|x| / 127 per block, an error uniform in +-scale/2 per element. For Gaussian activations
// max|x| is ~2.5 rms over 32 values (Q8_0-like blocks) and ~3 rms over 256 (Q8_K-like, the
// K-quants), so the relative error of a dot product is ~2.5 / (127 sqrt(12)) = 0.6% rms
// (0.7% for 256-blocks); the max over thousands of outputs reaches ~4 sigma: 2.5% / 3%. The bounds
// leave some room above that.
constexpr double kTolQ8 = 0.04;
constexpr double kTolQ8K = 0.05;
// The same kernels against the reference fed the dequantized int8 activations: this removes the
// quantization error and leaves float rounding, so it catches small bugs (a wrong minimum or
// offset term) that the tolerances above would hide.
constexpr double kTolExact = 2e-4;

constexpr TensorType kTypes[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ4_0, TensorType::kQ4_1,
                                 TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ8_0, TensorType::kQ2_K, TensorType::kQ3_K,
                                 TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K};
// Around the token tiles (AVX-512: 8 for 32-blocks, 4 for K-quants, 24 for floats; AVX2: 4 and 6).
constexpr std::int64_t kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 25, 33, 128};

std::vector<float> gaussian(Rng& rng, std::int64_t n, float scale = 1.0f) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

// A GGUF weight (rows quantized from Gaussian values), its bias and its prepared view.
struct TestWeight {
  TestWeight(TensorType type, std::int64_t n_in, std::int64_t n_out, std::uint64_t seed) {
    Rng rng(seed);
    const std::size_t row_bytes = tensor_row_bytes(type, n_in).value();
    storage.resize((row_bytes * static_cast<std::size_t>(n_out) + 7) / 8);
    auto* data = reinterpret_cast<std::byte*>(storage.data());
    for (std::int64_t r = 0; r < n_out; ++r) {
      const std::vector<float> row = gaussian(rng, n_in, 0.05f);
      quantize_row(type, row.data(), data + r * static_cast<std::int64_t>(row_bytes), n_in);
    }
    view = WeightView{type, data, n_in, n_out, row_bytes, 0};
    bias = gaussian(rng, n_out, 0.1f);
    prepared = prepare_matmul_weight(view, &owned).value();
  }
  std::vector<std::uint64_t> storage;  // 8-byte aligned, as a GGUF mapping
  WeightView view;
  std::vector<float> bias;
  std::vector<std::unique_ptr<std::byte[]>> owned;
  WeightView prepared;
};

// Infinite when any y is NaN (outputs start as NaN: a row never written fails), which std::max
// alone would skip.
double rel_error(const std::vector<float>& y, const std::vector<float>& ref) {
  double ss = 0, max_err = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ss += static_cast<double>(ref[i]) * ref[i];
    const double err = std::fabs(static_cast<double>(y[i]) - ref[i]);
    max_err = std::isnan(err) ? INFINITY : std::max(max_err, err);
  }
  return max_err / (std::sqrt(ss / static_cast<double>(ref.size())) + 1e-6);
}

// x with every token's activations replaced by their int8 quantization (what the SIMD kernels
// actually multiply), from the scalar packer.
std::vector<float> quantized_activations(ActKind kind, const std::vector<float>& x, std::int64_t n_in, std::int64_t n_tokens) {
  std::vector<float> out(x.size());
  std::vector<std::uint64_t> buf(act_group_bytes(kind, n_in, 1) / 8 + 8);
  auto* base = reinterpret_cast<std::byte*>(buf.data());
  const std::int64_t bk = kind == ActKind::kQ8 ? 32 : 256;
  for (std::int64_t t = 0; t < n_tokens; ++t) {
    pack_act_scalar(kind, x.data() + t * n_in, n_in, n_in, 1, base, 1);
    const ActGroup g = act_group_at(kind, base, n_in, 1, 1);
    for (std::int64_t k = 0; k < n_in; ++k) out[static_cast<std::size_t>(t * n_in + k)] = g.d[k / bk] * g.qs[k];
  }
  return out;
}

std::vector<MatmulIsa> available_isas() {
  std::vector<MatmulIsa> isas;
  for (MatmulIsa isa : {MatmulIsa::kAvx512, MatmulIsa::kAvx2, MatmulIsa::kScalar})
    if (static_cast<int>(isa) <= static_cast<int>(detected_matmul_isa())) isas.push_back(isa);
  return isas;
}

// Restores the default ISA when a test ends, whatever happened.
struct IsaGuard {
  ~IsaGuard() { set_matmul_isa_limit(MatmulIsa::kAvx512); }
};

class MatmulTypeTest : public ::testing::TestWithParam<TensorType> {};

// A group of three outputs (71, 40 and 16 rows: a short last panel, two and a half panels, one
// panel) with biases, 512 inputs (two K-quant super-blocks).
TEST_P(MatmulTypeTest, MatchesReferenceOnEveryPath) {
  const TensorType type = GetParam();
  constexpr std::int64_t kIn = 512;
  const std::int64_t n_outs[] = {71, 40, 16};
  std::vector<std::unique_ptr<TestWeight>> weights;
  for (int i = 0; i < 3; ++i) weights.push_back(std::make_unique<TestWeight>(type, kIn, n_outs[i], 100 + i));
  const bool quantized = tensor_type_info(type).quantized;
  const bool has_panels = panel_format(type) != nullptr;
  const double tol = !quantized ? kTolFloat : act_kind(type) == ActKind::kQ8K ? kTolQ8K : kTolQ8;
  ThreadPool pools[] = {ThreadPool(1), ThreadPool(2), ThreadPool(3)};
  MatmulScratch scratch;
  IsaGuard guard;
  Rng rng(7);
  for (const std::int64_t n_tokens : kTokenCounts) {
    const std::vector<float> x = gaussian(rng, n_tokens * kIn);
    std::vector<std::vector<float>> ref(3), ref_q(3), y(3);
    const std::vector<float> xq = has_panels && quantized ? quantized_activations(act_kind(type), x, kIn, n_tokens) : x;
    for (int i = 0; i < 3; ++i) {
      const std::size_t n = static_cast<std::size_t>(n_tokens * n_outs[i]);
      ref[i].resize(n);
      ref_q[i].resize(n);
      y[i].resize(n);
      reference::matmul(ref[i].data(), weights[i]->view, weights[i]->bias.data(), x.data(), n_tokens);
      reference::matmul(ref_q[i].data(), weights[i]->view, weights[i]->bias.data(), xq.data(), n_tokens);
    }
    for (const MatmulIsa isa : available_isas()) {
      set_matmul_isa_limit(isa);
      for (const bool prepared : {true, false}) {
        for (ThreadPool& pool : pools) {
          // The unprepared (GGUF layout) weights take the fallback path: one thread count is enough.
          if (!prepared && pool.size() != 2) continue;
          MatmulOut outs[3];
          for (int i = 0; i < 3; ++i) {
            std::fill(y[i].begin(), y[i].end(), NAN);
            outs[i] = MatmulOut{y[i].data(), prepared ? weights[i]->prepared : weights[i]->view, weights[i]->bias.data()};
          }
          matmul(pool, scratch, outs, x.data(), n_tokens);
          const bool simd = prepared && has_panels && isa != MatmulIsa::kScalar;
          for (int i = 0; i < 3; ++i) {
            SCOPED_TRACE(std::string(tensor_type_name(type)) + " isa " + matmul_isa_name(isa) + " n_tokens " +
                         std::to_string(n_tokens) + " threads " + std::to_string(pool.size()) + " out " + std::to_string(i) +
                         (prepared ? " prepared" : " gguf layout"));
            EXPECT_LE(rel_error(y[i], ref[i]), simd ? tol : kTolFloat);
            if (simd) {
              EXPECT_LE(rel_error(y[i], ref_q[i]), kTolExact);
            }
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTypeTest, ::testing::ValuesIn(kTypes),
                         [](const auto& info) { return std::string(tensor_type_name(info.param)); });

// Many panels (chunks of panels, thread splits inside one weight) and n_in beyond the tiles.
TEST(MatmulTest, LargeShapes) {
  IsaGuard guard;
  ThreadPool pool(2);
  MatmulScratch scratch;
  Rng rng(11);
  for (const TensorType type : {TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kQ6_K, TensorType::kF16}) {
    TestWeight w(type, 1024, 1000, 5);
    const std::int64_t n_tokens = 37;
    const std::vector<float> x = gaussian(rng, n_tokens * 1024);
    std::vector<float> ref(static_cast<std::size_t>(n_tokens * 1000)), y(ref.size());
    reference::matmul(ref.data(), w.view, nullptr, x.data(), n_tokens);
    for (const MatmulIsa isa : available_isas()) {
      set_matmul_isa_limit(isa);
      const MatmulOut out{y.data(), w.prepared, nullptr};
      matmul(pool, scratch, {&out, 1}, x.data(), n_tokens);
      SCOPED_TRACE(std::string(tensor_type_name(type)) + " " + matmul_isa_name(isa));
      EXPECT_LE(rel_error(y, ref), act_kind(type) == ActKind::kQ8K ? kTolQ8K : kTolQ8);
    }
  }
}

// One call with eight outputs of different types (so several activation kinds, the fallback path
// next to panel kernels, and work units of different costs in one queue) and row counts from 1 to
// a few panels, with biases: every row of every output is computed once, on every path.
TEST(MatmulTest, MixedGroupCoversEveryRow) {
  IsaGuard guard;
  constexpr std::int64_t kIn = 512;
  const std::pair<TensorType, std::int64_t> specs[] = {
      {TensorType::kQ4_0, 1},  {TensorType::kQ6_K, 15}, {TensorType::kF16, 17},  {TensorType::kQ5_K, 33},
      {TensorType::kQ8_0, 100}, {TensorType::kQ4_K, 16}, {TensorType::kQ4_1, 31}, {TensorType::kBF16, 64}};
  std::vector<std::unique_ptr<TestWeight>> weights;
  for (const auto& [type, n_out] : specs) weights.push_back(std::make_unique<TestWeight>(type, kIn, n_out, 40 + weights.size()));
  ThreadPool pools[] = {ThreadPool(1), ThreadPool(2), ThreadPool(3)};
  MatmulScratch scratch;
  Rng rng(23);
  for (const std::int64_t n_tokens : {1, 8, 13}) {
    const std::vector<float> x = gaussian(rng, n_tokens * kIn);
    std::vector<std::vector<float>> ref(8), y(8);
    for (std::size_t i = 0; i < 8; ++i) {
      ref[i].resize(static_cast<std::size_t>(n_tokens * specs[i].second));
      reference::matmul(ref[i].data(), weights[i]->view, weights[i]->bias.data(), x.data(), n_tokens);
    }
    for (const MatmulIsa isa : available_isas()) {
      set_matmul_isa_limit(isa);
      for (ThreadPool& pool : pools) {
        MatmulOut outs[8];
        for (std::size_t i = 0; i < 8; ++i) {
          y[i].assign(ref[i].size(), NAN);
          outs[i] = MatmulOut{y[i].data(), weights[i]->prepared, weights[i]->bias.data()};
        }
        matmul(pool, scratch, outs, x.data(), n_tokens);
        for (std::size_t i = 0; i < 8; ++i) {
          const TensorType type = specs[i].first;
          const bool simd = panel_format(type) != nullptr && isa != MatmulIsa::kScalar;
          const double tol = !tensor_type_info(type).quantized || !simd ? kTolFloat : act_kind(type) == ActKind::kQ8K ? kTolQ8K : kTolQ8;
          SCOPED_TRACE(std::string(tensor_type_name(type)) + " isa " + matmul_isa_name(isa) + " n_tokens " + std::to_string(n_tokens) +
                       " threads " + std::to_string(pool.size()));
          EXPECT_LE(rel_error(y[i], ref[i]), tol);  // a row never written stays NaN and fails here
        }
      }
    }
  }
}

// Float weights accept any n_in (no blocks): one that is not a multiple of 16 or of the unroll.
TEST(MatmulTest, FloatOddInputCount) {
  IsaGuard guard;
  ThreadPool pool(2);
  MatmulScratch scratch;
  Rng rng(3);
  for (const TensorType type : {TensorType::kF32, TensorType::kF16, TensorType::kBF16}) {
    TestWeight w(type, 203, 37, 9);
    for (const std::int64_t n_tokens : {1, 5, 13}) {
      const std::vector<float> x = gaussian(rng, n_tokens * 203);
      std::vector<float> ref(static_cast<std::size_t>(n_tokens * 37)), y(ref.size());
      reference::matmul(ref.data(), w.view, w.bias.data(), x.data(), n_tokens);
      for (const MatmulIsa isa : available_isas()) {
        set_matmul_isa_limit(isa);
        const MatmulOut out{y.data(), w.prepared, w.bias.data()};
        matmul(pool, scratch, {&out, 1}, x.data(), n_tokens);
        EXPECT_LE(rel_error(y, ref), kTolFloat) << tensor_type_name(type) << " " << matmul_isa_name(isa) << " " << n_tokens;
      }
    }
  }
}

// Repacking is lossless: unpacking every panel gives back the GGUF bytes, and on the scalar path
// (which unpacks) a repacked weight computes exactly what the original does.
TEST(MatmulTest, PanelRepackRoundTrips) {
  if (detected_matmul_isa() == MatmulIsa::kScalar) GTEST_SKIP() << "weights are not repacked without AVX2";
  IsaGuard guard;
  ThreadPool pool(2);
  MatmulScratch scratch;
  Rng rng(5);
  for (const TensorType type : kTypes) {
    const PanelFormat* f = panel_format(type);
    if (f == nullptr) continue;
    SCOPED_TRACE(std::string(tensor_type_name(type)));
    TestWeight w(type, 512, 45, 21);
    ASSERT_EQ(w.prepared.layout, kLayoutPanel16);
    std::vector<std::byte> rows(w.view.row_bytes * kPanelRows);
    const std::size_t pb = panel_bytes(*f, 512);
    for (std::int64_t p = 0; p * kPanelRows < 45; ++p) {
      const std::int64_t n = std::min<std::int64_t>(kPanelRows, 45 - p * kPanelRows);
      unpack_panel(*f, static_cast<const std::byte*>(w.prepared.data) + p * static_cast<std::int64_t>(pb), 512, n, rows.data(),
                   w.view.row_bytes);
      EXPECT_EQ(0, std::memcmp(rows.data(), static_cast<const std::byte*>(w.view.data) + p * kPanelRows * static_cast<std::int64_t>(w.view.row_bytes),
                               static_cast<std::size_t>(n) * w.view.row_bytes))
          << "panel " << p;
    }
    set_matmul_isa_limit(MatmulIsa::kScalar);
    const std::vector<float> x = gaussian(rng, 3 * 512);
    std::vector<float> y0(3 * 45), y1(3 * 45);
    const MatmulOut a{y0.data(), w.view, w.bias.data()};
    const MatmulOut b{y1.data(), w.prepared, w.bias.data()};
    matmul(pool, scratch, {&a, 1}, x.data(), 3);
    matmul(pool, scratch, {&b, 1}, x.data(), 3);
    EXPECT_EQ(y0, y1);
  }
}

// The SIMD activation packer produces the same bytes as the scalar one (same rounding).
TEST(MatmulTest, SimdActivationPackingMatchesScalar) {
  if (detected_matmul_isa() == MatmulIsa::kScalar) GTEST_SKIP() << "no AVX2";
  Rng rng(13);
  for (const ActKind kind : {ActKind::kQ8, ActKind::kQ8K, ActKind::kF32}) {
    for (const int n : {1, 3, 4}) {
      constexpr std::int64_t kIn = 768;
      const std::vector<float> x = gaussian(rng, n * kIn);
      const std::size_t bytes = act_group_bytes(kind, kIn, 4);
      std::vector<std::uint64_t> a(bytes / 8), b(bytes / 8);
      pack_act_scalar(kind, x.data(), kIn, kIn, n, reinterpret_cast<std::byte*>(a.data()), 4);
      avx2::pack_act(kind, x.data(), kIn, kIn, n, reinterpret_cast<std::byte*>(b.data()), 4);
      EXPECT_EQ(a, b) << static_cast<int>(kind) << " n " << n;
    }
  }
}

// Scratch is reused across calls of different sizes; results do not depend on what came before.
TEST(MatmulTest, ScratchReuseAcrossSizes) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  Rng rng(17);
  TestWeight w(TensorType::kQ4_0, 256, 64, 1);
  std::vector<float> first;
  for (const std::int64_t n_tokens : {3, 64, 3}) {
    const std::vector<float> x = [&] {
      Rng r(99);
      return gaussian(r, n_tokens * 256);
    }();
    std::vector<float> y(static_cast<std::size_t>(n_tokens * 64));
    const MatmulOut out{y.data(), w.prepared, nullptr};
    matmul(pool, scratch, {&out, 1}, x.data(), n_tokens);
    if (n_tokens == 3) {
      if (first.empty()) {
        first = y;
      } else {
        EXPECT_EQ(first, y);
      }
    }
  }
}

}  // namespace
}  // namespace parley::cpu
