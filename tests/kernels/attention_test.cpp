// The CPU backend's attention against the reference backend, on the shapes the tiled kernel
// distinguishes: group sizes 1/4/8 (tiles of one query head per KV head up to eight), head_dim 64
// and 128 (and one that is not a multiple of 8: the row path), F16, F32 and Q8_0 caches, block sizes
// that do and do not divide the kernel's key chunk, contexts of many blocks in shuffled block
// tables, chunks that start after a cached prefix, and batches mixing prefill chunks with decode
// rows of different lengths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "base/rng.h"
#include "kernels/backend.h"
#include "kernels/reference/reference_backend.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double max_diff = 0, sum2 = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
    sum2 += static_cast<double>(b[i]) * b[i];
  }
  return max_diff / (std::sqrt(sum2 / static_cast<double>(b.size())) + 1e-30);
}

struct SeqSpec {
  std::int32_t past;    // cached tokens before the rows
  std::int32_t n_rows;  // query rows (1: a decode step)
};

struct Case {
  std::string name;
  std::int64_t n_head, n_kv, head_dim, block;
  TensorType type;
  std::vector<SeqSpec> seqs;
  float q_scale = 1.0f;  // larger: peakier softmax
};

// A paged cache with every sequence's blocks drawn from a shuffled pool, filled through the CPU
// backend's kv_write; the cache slots no sequence reaches hold NaN, so reading one shows.
class PagedCache {
 public:
  PagedCache(Backend& cpu, const Case& c, std::uint64_t seed) : c_(c) {
    std::int64_t blocks = 0;
    for (const SeqSpec& s : c.seqs) blocks += (s.past + s.n_rows + c.block - 1) / c.block;
    n_blocks_ = blocks + 3;  // a few blocks no sequence owns
    const std::int64_t row = c.n_kv * c.head_dim;
    const auto slot_bytes = static_cast<std::size_t>(view().slot_bytes());
    for (auto& s : storage_) s.assign(static_cast<std::size_t>(n_blocks_ * c.block) * slot_bytes, std::byte{0});
    // NaN everywhere first (F16 0x7E00, F32 quiet NaN; Q8_0: every block's scale).
    for (auto& s : storage_) {
      if (c.type == TensorType::kQ8_0) {
        const fp16_t nan = 0x7E00;
        for (std::size_t i = 0; i < s.size(); i += sizeof(BlockQ8_0)) std::memcpy(s.data() + i, &nan, 2);
      } else if (c.type == TensorType::kF16) {
        const fp16_t nan = 0x7E00;
        for (std::size_t i = 0; i < s.size(); i += 2) std::memcpy(s.data() + i, &nan, 2);
      } else {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        for (std::size_t i = 0; i < s.size(); i += 4) std::memcpy(s.data() + i, &nan, 4);
      }
    }
    ks_[1] = storage_[0].data();
    vs_[1] = storage_[1].data();
    ks_[0] = vs_[0] = nullptr;  // layer 0 is not used: layer 1 must be the one read
    Rng rng(seed);
    std::vector<std::int32_t> pool(static_cast<std::size_t>(n_blocks_));
    std::iota(pool.begin(), pool.end(), 0);
    for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng.below(i)]);
    std::size_t next = 0;
    for (const SeqSpec& s : c.seqs) {
      std::vector<std::int32_t> table;
      for (std::int64_t b = 0; b < (s.past + s.n_rows + c.block - 1) / c.block; ++b) table.push_back(pool[next++]);
      tables_.push_back(table);
    }
    // Keys grow along the positions, so the running max of the online softmax keeps rising
    // (every chunk rescales what came before).
    std::vector<float> k, v;
    std::vector<std::int32_t> slots;
    for (std::size_t si = 0; si < c.seqs.size(); ++si) {
      const std::int32_t n = c.seqs[si].past + c.seqs[si].n_rows;
      for (std::int32_t pos = 0; pos < n; ++pos) {
        const float grow = 1.0f + static_cast<float>(pos) / 256.0f;
        for (std::int64_t i = 0; i < row; ++i) {
          k.push_back(rng.normal() * grow);
          v.push_back(rng.normal());
        }
        slots.push_back(slot(si, pos));
      }
    }
    cpu.kv_write(view(), 1, k.data(), v.data(), slots.data(), static_cast<std::int64_t>(slots.size()));
    k_ = std::move(k);
    v_ = std::move(v);
  }

  KvCacheView view() const { return {c_.type, n_blocks_, c_.block, c_.n_kv, c_.head_dim, ks_, vs_}; }
  const std::vector<std::int32_t>& table(std::size_t seq) const { return tables_[seq]; }
  std::int32_t slot(std::size_t seq, std::int32_t pos) const {
    return tables_[seq][static_cast<std::size_t>(pos / c_.block)] * static_cast<std::int32_t>(c_.block) +
           pos % static_cast<std::int32_t>(c_.block);
  }
  // The keys and values as written (before F16 rounding), sequence after sequence.
  const std::vector<float>& k() const { return k_; }
  const std::vector<float>& v() const { return v_; }

 private:
  Case c_;
  std::int64_t n_blocks_ = 0;
  std::vector<std::byte> storage_[2];
  void* ks_[2];
  void* vs_[2];
  std::vector<std::vector<std::int32_t>> tables_;
  std::vector<float> k_, v_;
};

class AttentionTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    cpu_ = std::move(*create_backend("cpu", {.n_threads = GetParam()}));
    ref_ = make_reference_backend();
  }

  // Runs the case on both backends; returns the CPU's output.
  std::vector<float> check(const Case& c, double tol = 1e-5) {
    SCOPED_TRACE(c.name);
    PagedCache cache(*cpu_, c, 17);
    std::vector<AttentionSeq> seqs;
    std::int32_t rows = 0;
    for (std::size_t i = 0; i < c.seqs.size(); ++i) {
      seqs.push_back({rows, c.seqs[i].n_rows, c.seqs[i].past, cache.table(i).data()});
      rows += c.seqs[i].n_rows;
    }
    Rng rng(23);
    std::vector<float> q(static_cast<std::size_t>(rows * c.n_head * c.head_dim));
    for (auto& x : q) x = rng.normal() * c.q_scale;
    const AttentionParams p{c.n_head, c.n_kv, c.head_dim, 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
    std::vector<float> a(q.size(), -1.0f), b(q.size());
    cpu_->attention(a.data(), q.data(), cache.view(), 1, seqs, p);
    ref_->attention(b.data(), q.data(), cache.view(), 1, seqs, p);
    for (const float x : a) {
      if (!std::isfinite(x)) {
        ADD_FAILURE() << "non-finite output: a slot past a sequence's end was read";
        break;
      }
    }
    EXPECT_LE(max_rel_diff(a, b), tol);
    // Per sequence as well: a sequence with a small output must not hide behind a large one.
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      const auto begin = static_cast<std::ptrdiff_t>(seqs[i].row_begin * c.n_head * c.head_dim);
      const auto end = begin + static_cast<std::ptrdiff_t>(seqs[i].n_rows * c.n_head * c.head_dim);
      EXPECT_LE(max_rel_diff({a.begin() + begin, a.begin() + end}, {b.begin() + begin, b.begin() + end}), tol)
          << "sequence " << i;
    }
    return a;
  }

  std::unique_ptr<Backend> cpu_, ref_;
};

// Prefill chunks after a prefix, a fresh prompt, decode rows: one batch.
const std::vector<SeqSpec> kMixed = {{300, 21}, {0, 37}, {997, 1}, {64, 1}, {45, 9}};

TEST_P(AttentionTest, Group8HeadDim64F16) {
  check({"g8 hd64 f16", 16, 2, 64, 16, TensorType::kF16, kMixed});
}

TEST_P(AttentionTest, Group8HeadDim64F32) {
  check({"g8 hd64 f32", 8, 1, 64, 16, TensorType::kF32, kMixed});
}

TEST_P(AttentionTest, Group4HeadDim128) {
  for (const TensorType type : {TensorType::kF16, TensorType::kF32}) {
    check({"g4 hd128", 8, 2, 128, 16, type, kMixed});
  }
}

TEST_P(AttentionTest, Group1) {
  // One query head per KV head: prefill tiles are rows only; decode rows are tiles of one query.
  for (const std::int64_t hd : {64, 128}) {
    check({"g1 hd" + std::to_string(hd), 4, 4, hd, 16, TensorType::kF16, {{0, 70}, {130, 3}, {500, 1}, {17, 1}}});
  }
}

TEST_P(AttentionTest, BlockSizesThatSplitKeyChunks) {
  // Blocks of 5 and 4 keys: a chunk of keys gathers from several blocks, starting mid-block.
  for (const std::int64_t block : {5, 4}) {
    check({"block " + std::to_string(block), 8, 2, 64, block, TensorType::kF16, {{211, 13}, {3, 30}, {90, 1}}});
  }
}

TEST_P(AttentionTest, LongContextDecodeAndChunk) {
  // 2048 keys: 128 blocks of 16.
  check({"long", 8, 1, 64, 16, TensorType::kF16, {{2047, 1}, {1900, 24}}});
}

TEST_P(AttentionTest, PeakySoftmax) {
  // Large scores: exp underflows for most keys and the max jumps late; the rescaling must hold.
  // A score's rounding error grows with its size (here ~12x the others'), hence 1e-4.
  check({"peaky", 8, 1, 64, 16, TensorType::kF32, kMixed, 12.0f}, 1e-4);
}

TEST_P(AttentionTest, MultiQueryDecodeSplitsTheGroup) {
  // One KV head and one sequence: the only way to use several threads is to split the heads.
  check({"mqa decode", 16, 1, 64, 16, TensorType::kF16, {{700, 1}}});
  check({"mqa chunk", 16, 1, 64, 16, TensorType::kF16, {{40, 2}}});
}

TEST_P(AttentionTest, HeadDimNotMultipleOf8) {
  check({"hd 20", 4, 2, 20, 16, TensorType::kF16, {{33, 5}, {70, 1}}});
}

TEST_P(AttentionTest, AgreesWithContiguousAttention) {
  // The reference above reads the same cache; this one reads the keys and values as written, so a
  // paging mistake shared by both backends would show here.
  const Case c{"contiguous", 16, 2, 64, 16, TensorType::kF16, {{150, 19}}};
  const std::vector<float> a = check(c);
  PagedCache cache(*cpu_, c, 17);
  std::vector<float> k = cache.k(), v = cache.v();
  for (auto& x : k) x = fp16_to_fp32(fp32_to_fp16(x));
  for (auto& x : v) x = fp16_to_fp32(fp32_to_fp16(x));
  Rng rng(23);
  std::vector<float> q(a.size());
  for (auto& x : q) x = rng.normal();
  const AttentionParams p{c.n_head, c.n_kv, c.head_dim, 0.125f};
  std::vector<float> want(a.size());
  reference::attention_contiguous(want.data(), q.data(), 19, 150, k.data(), v.data(), p);
  EXPECT_LE(max_rel_diff(a, want), 1e-5);
}

TEST_P(AttentionTest, EachRowIsTheSameBitsInAnyTile) {
  // Batch invariance (serving-engine.md, "Seeds and batch invariance"): a row's output must not
  // depend on the tile it lands in, so a chunk read at once, row by row, or beside another
  // sequence gives the same bits, for tiles of 1-3 queries (keys in the lanes) and wider ones.
  const struct {
    std::int64_t n_head, n_kv, head_dim;
    TensorType type;
  } shapes[] = {{4, 4, 64, TensorType::kF16},
                {4, 2, 64, TensorType::kQ8_0},
                {6, 2, 128, TensorType::kF32},
                {16, 2, 64, TensorType::kF16}};
  for (const auto& sh : shapes) {
    const Case c{"invariance", sh.n_head, sh.n_kv, sh.head_dim, 16, sh.type, {{45, 40}, {100, 7}}};
    SCOPED_TRACE(std::to_string(sh.n_head) + " heads over " + std::to_string(sh.n_kv));
    PagedCache cache(*cpu_, c, 31);
    const std::int64_t row = c.n_head * c.head_dim;
    Rng rng(3);
    std::vector<float> q(static_cast<std::size_t>(47 * row));
    for (auto& x : q) x = rng.normal();
    const AttentionParams p{c.n_head, c.n_kv, c.head_dim, 1.0f / std::sqrt(static_cast<float>(c.head_dim))};
    // The 40 rows of sequence 0 in one call.
    std::vector<float> whole(static_cast<std::size_t>(40 * row));
    const std::vector<AttentionSeq> one = {{0, 40, 45, cache.table(0).data()}};
    cpu_->attention(whole.data(), q.data(), cache.view(), 1, one, p);
    // Beside sequence 1's 7 rows.
    std::vector<float> both(q.size());
    const std::vector<AttentionSeq> two = {{0, 40, 45, cache.table(0).data()}, {40, 7, 100, cache.table(1).data()}};
    cpu_->attention(both.data(), q.data(), cache.view(), 1, two, p);
    EXPECT_TRUE(std::equal(whole.begin(), whole.end(), both.begin())) << "beside another sequence";
    // Row by row (decode-like tiles), and in chunks of 3 and of 17.
    for (const std::int32_t chunk : {1, 3, 17}) {
      std::vector<float> got(whole.size());
      for (std::int32_t r0 = 0; r0 < 40; r0 += chunk) {
        const std::int32_t n = std::min(chunk, 40 - r0);
        const std::vector<AttentionSeq> part = {{0, n, 45 + r0, cache.table(0).data()}};
        cpu_->attention(got.data() + r0 * row, q.data() + r0 * row, cache.view(), 1, part, p);
      }
      for (std::int32_t r = 0; r < 40; ++r) {
        const auto at = static_cast<std::ptrdiff_t>(r * row);
        EXPECT_TRUE(std::equal(whole.begin() + at, whole.begin() + at + row, got.begin() + at))
            << "chunks of " << chunk << ", row " << r;
      }
    }
  }
}

TEST_P(AttentionTest, RowsSeeOnlyTheirPrefix) {
  // Changing the value at position P changes exactly the rows at positions >= P.
  const Case c{"causal", 8, 1, 64, 16, TensorType::kF16, {{40, 24}}};
  PagedCache cache(*cpu_, c, 5);
  const std::vector<AttentionSeq> seqs = {{0, 24, 40, cache.table(0).data()}};
  Rng rng(9);
  std::vector<float> q(static_cast<std::size_t>(24 * 8 * 64));
  for (auto& x : q) x = rng.normal();
  const AttentionParams p{8, 1, 64, 0.125f};
  std::vector<float> before(q.size()), after(q.size());
  cpu_->attention(before.data(), q.data(), cache.view(), 1, seqs, p);
  const std::int32_t changed = 40 + 11;
  std::vector<float> k(64), v(64, 100.0f);
  for (auto& x : k) x = rng.normal();
  const std::int32_t slot = cache.slot(0, changed);
  cpu_->kv_write(cache.view(), 1, k.data(), v.data(), &slot, 1);
  cpu_->attention(after.data(), q.data(), cache.view(), 1, seqs, p);
  for (std::int32_t r = 0; r < 24; ++r) {
    const auto at = static_cast<std::ptrdiff_t>(r * 8 * 64);
    const bool same = std::equal(before.begin() + at, before.begin() + at + 8 * 64, after.begin() + at);
    EXPECT_EQ(same, 40 + r < changed) << "row " << r;
  }
}

// ---- Q8_0 caches: the tile path (groups 4 and 8), the row path (group 1 decode), blocks that
// split a key chunk, long contexts; the reference reads the same bytes, so the tolerance is the
// F16 cache's.

TEST_P(AttentionTest, Q8Group8HeadDim64) {
  check({"q8 g8 hd64", 16, 2, 64, 16, TensorType::kQ8_0, kMixed});
}

TEST_P(AttentionTest, Q8Group4HeadDim128) {
  check({"q8 g4 hd128", 8, 2, 128, 16, TensorType::kQ8_0, kMixed});
}

TEST_P(AttentionTest, Q8Group1RowPath) {
  for (const std::int64_t hd : {32, 64, 128}) {
    check({"q8 g1 hd" + std::to_string(hd), 4, 4, hd, 16, TensorType::kQ8_0, {{0, 70}, {130, 3}, {500, 1}, {17, 1}}});
  }
}

TEST_P(AttentionTest, Q8BlockSizesAndLongContext) {
  check({"q8 block 5", 8, 2, 64, 5, TensorType::kQ8_0, {{211, 13}, {3, 30}, {90, 1}}});
  check({"q8 long", 8, 1, 64, 16, TensorType::kQ8_0, {{2047, 1}, {1900, 24}}});
  check({"q8 mqa decode", 16, 1, 64, 16, TensorType::kQ8_0, {{700, 1}}});
}

TEST_P(AttentionTest, Q8WritesTheReferenceBytesAndCloseToF32) {
  // kv_write of both backends stores the same blocks, and attention over them stays within 8-bit
  // rounding of attention over the exact keys and values.
  const Case c{"q8 contiguous", 16, 2, 64, 16, TensorType::kQ8_0, {{150, 19}}};
  const std::vector<float> a = check(c);
  PagedCache cache(*cpu_, c, 17);
  const std::int64_t row = c.n_kv * c.head_dim, n_tok = 169;
  const auto slot_bytes = static_cast<std::size_t>(cache.view().slot_bytes());
  std::vector<std::byte> ref_k(slot_bytes), ref_v(slot_bytes);
  void* ks[] = {nullptr, ref_k.data()};
  void* vs[] = {nullptr, ref_v.data()};
  KvCacheView ref_view = cache.view();
  ref_view.k = ks;
  ref_view.v = vs;
  for (std::int32_t pos = 0; pos < n_tok; pos += 37) {
    const std::int32_t zero = 0;  // the reference's own one-slot cache
    ref_->kv_write(ref_view, 1, cache.k().data() + pos * row, cache.v().data() + pos * row, &zero, 1);
    const std::size_t at = static_cast<std::size_t>(cache.slot(0, pos)) * slot_bytes;
    EXPECT_EQ(std::memcmp(static_cast<const std::byte*>(cache.view().k[1]) + at, ref_k.data(), slot_bytes), 0) << pos;
    EXPECT_EQ(std::memcmp(static_cast<const std::byte*>(cache.view().v[1]) + at, ref_v.data(), slot_bytes), 0) << pos;
  }
  Rng rng(23);
  std::vector<float> q(a.size());
  for (auto& x : q) x = rng.normal();
  const AttentionParams p{c.n_head, c.n_kv, c.head_dim, 0.125f};
  std::vector<float> exact(a.size());
  reference::attention_contiguous(exact.data(), q.data(), 19, 150, cache.k().data(), cache.v().data(), p);
  // The largest error against the RMS of the outputs, which average ~170 values of unit size and
  // so are small (~0.1): a value's 8-bit rounding error (up to 0.4% of its block's largest) shows
  // at a few percent of that (measured: 0.069).
  const double err = max_rel_diff(a, exact);
  EXPECT_GT(err, 1e-3);  // the cache really is 8-bit
  EXPECT_LE(err, 0.1);
}

INSTANTIATE_TEST_SUITE_P(Threads, AttentionTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace parley
