// Every CPU backend op except matmul (tested in matmul_test.cpp) against the reference backend.
#include <gtest/gtest.h>

#include <cmath>

#include "base/rng.h"
#include "kernels/backend.h"
#include "kernels/reference/reference_backend.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

std::vector<float> random_vector(std::uint64_t seed, std::int64_t n, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double max_diff = 0, sum2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
    sum2 += static_cast<double>(b[i]) * b[i];
  }
  return max_diff / (std::sqrt(sum2 / static_cast<double>(b.size())) + 1e-30);
}

class OpsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    cpu_ = std::move(*create_backend("cpu", {.n_threads = GetParam()}));
    ref_ = make_reference_backend();
  }
  std::unique_ptr<Backend> cpu_, ref_;
};

// Float32 arithmetic against double accumulation: errors of a few ulps of the result scale.
constexpr double kTol = 1e-5;

TEST_P(OpsTest, RmsNorm) {
  for (const std::int64_t n : {1, 7, 64, 2048, 5000}) {
    const std::int64_t rows = 37;
    const auto x = random_vector(1, rows * n, 3.0f);
    const auto w = random_vector(2, n);
    std::vector<float> a(x.size()), b(x.size());
    cpu_->rms_norm(a.data(), x.data(), w.data(), rows, n, 1e-5f);
    ref_->rms_norm(b.data(), x.data(), w.data(), rows, n, 1e-5f);
    EXPECT_LE(max_rel_diff(a, b), kTol) << n;
    std::vector<float> in_place = x;
    cpu_->rms_norm(in_place.data(), in_place.data(), w.data(), rows, n, 1e-5f);
    EXPECT_EQ(in_place, a);
  }
}

TEST_P(OpsTest, RopeNormalNeoxScaledAndFactors) {
  const std::vector<float> factors = {1.0f, 1.5f, 2.0f, 4.0f, 8.0f, 1.0f, 3.0f, 1.25f, 1, 1, 1, 1, 1, 1, 1, 1};
  for (const bool neox : {false, true}) {
    for (const float scale : {1.0f, 0.25f}) {
      for (const float* ff : {static_cast<const float*>(nullptr), factors.data()}) {
        const std::int64_t tokens = 9, heads = 5, head_dim = 64;
        RopeParams p{32, 10000.0f, scale, neox, ff};
        std::vector<std::int32_t> pos(tokens);
        for (std::int64_t t = 0; t < tokens; ++t) pos[static_cast<std::size_t>(t)] = static_cast<std::int32_t>(t * 97 + 3);
        const auto x = random_vector(3, tokens * heads * head_dim);
        std::vector<float> a = x, b = x;
        cpu_->rope(a.data(), pos.data(), tokens, heads, head_dim, p);
        ref_->rope(b.data(), pos.data(), tokens, heads, head_dim, p);
        EXPECT_LE(max_rel_diff(a, b), 1e-5) << neox << " " << scale;
        // Dimensions past n_rot are untouched.
        for (std::int64_t r = 0; r < tokens * heads; ++r) {
          for (std::int64_t d = 32; d < head_dim; ++d) ASSERT_EQ(a[static_cast<std::size_t>(r * head_dim + d)], x[static_cast<std::size_t>(r * head_dim + d)]);
        }
      }
    }
  }
}

TEST_P(OpsTest, SwigluAndAdd) {
  for (const std::int64_t n : {1, 15, 16, 17, 5632 * 3, 100000}) {
    auto g = random_vector(4, n, 4.0f);
    g[0] = -100.0f;  // exp overflow territory
    if (n > 1) g[1] = 90.0f;
    const auto u = random_vector(5, n);
    std::vector<float> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
    cpu_->swiglu(a.data(), g.data(), u.data(), n);
    ref_->swiglu(b.data(), g.data(), u.data(), n);
    for (std::int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(a[static_cast<std::size_t>(i)], b[static_cast<std::size_t>(i)], 1e-6 * (1 + std::abs(b[static_cast<std::size_t>(i)]))) << i;
    }
    cpu_->add(a.data(), g.data(), u.data(), n);
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(a[static_cast<std::size_t>(i)], g[static_cast<std::size_t>(i)] + u[static_cast<std::size_t>(i)]);
  }
}

TEST_P(OpsTest, GetRowsDequantizes) {
  for (const TensorType type : {TensorType::kF32, TensorType::kF16, TensorType::kQ8_0, TensorType::kQ4_K}) {
    const std::int64_t n_in = 256, n_out = 10;
    const auto src = random_vector(6, n_in * n_out);
    const std::size_t row_bytes = *tensor_row_bytes(type, n_in);
    std::vector<std::byte> q(row_bytes * n_out);
    for (std::int64_t r = 0; r < n_out; ++r) quantize_row(type, src.data() + r * n_in, q.data() + r * row_bytes, n_in);
    const WeightView w{type, q.data(), n_in, n_out, row_bytes, 0};
    const std::vector<std::int32_t> ids = {3, 0, 9, 3};
    std::vector<float> a(ids.size() * n_in), b(ids.size() * n_in);
    cpu_->get_rows(a.data(), w, ids.data(), 4);
    ref_->get_rows(b.data(), w, ids.data(), 4);
    EXPECT_EQ(a, b);
  }
}

// kv_write then attention over a paged cache with scattered blocks, several sequences, GQA.
TEST_P(OpsTest, PagedAttention) {
  for (const TensorType kv_type : {TensorType::kF32, TensorType::kF16}) {
    const std::int64_t n_head = 8, n_kv = 2, hd = 64, block = 4, n_blocks = 32;
    const std::int64_t row = n_kv * hd;
    std::vector<std::vector<std::byte>> storage(4, std::vector<std::byte>(static_cast<std::size_t>(n_blocks * block * row * 4)));
    void* ks[] = {storage[0].data(), storage[1].data()};
    void* vs[] = {storage[2].data(), storage[3].data()};
    const KvCacheView kv{kv_type, n_blocks, block, n_kv, hd, ks, vs};
    // Sequence A: 11 positions in blocks {7, 2, 30}; sequence B: 5 positions in {0, 19}.
    const std::vector<std::int32_t> table_a = {7, 2, 30}, table_b = {0, 19};
    const auto slot = [&](const std::vector<std::int32_t>& t, std::int32_t p) {
      return t[static_cast<std::size_t>(p / block)] * static_cast<std::int32_t>(block) + p % static_cast<std::int32_t>(block);
    };
    std::vector<std::int32_t> slots;
    for (std::int32_t p = 0; p < 11; ++p) slots.push_back(slot(table_a, p));
    for (std::int32_t p = 0; p < 5; ++p) slots.push_back(slot(table_b, p));
    const std::int64_t n_tok = 16;
    const auto k = random_vector(7, n_tok * row), v = random_vector(8, n_tok * row);
    cpu_->kv_write(kv, 1, k.data(), v.data(), slots.data(), n_tok);
    // Query rows: A's last 3 positions (8..10) and B's last position (4).
    const std::vector<AttentionSeq> seqs = {{0, 3, 8, table_a.data()}, {3, 1, 4, table_b.data()}};
    const auto q = random_vector(9, 4 * n_head * hd);
    const AttentionParams p{n_head, n_kv, hd, 0.125f};
    std::vector<float> a(q.size()), b(q.size());
    cpu_->attention(a.data(), q.data(), kv, 1, seqs, p);
    ref_->attention(b.data(), q.data(), kv, 1, seqs, p);
    EXPECT_LE(max_rel_diff(a, b), 1e-5);
    // The reference read the cache the CPU wrote: compare with contiguous attention on the raw k/v.
    std::vector<float> c(static_cast<std::size_t>(3 * n_head * hd));
    std::vector<float> ka(k.begin(), k.begin() + 11 * row), va(v.begin(), v.begin() + 11 * row);
    if (kv_type == TensorType::kF16) {
      for (auto& x : ka) x = fp16_to_fp32(fp32_to_fp16(x));
      for (auto& x : va) x = fp16_to_fp32(fp32_to_fp16(x));
    }
    reference::attention_contiguous(c.data(), q.data(), 3, 8, ka.data(), va.data(), p);
    EXPECT_LE(max_rel_diff(std::vector<float>(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(c.size())), c), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, OpsTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace parley
