#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_kernels.h"
#include "kernels/cpu/matmul_pack.h"
#include "kernels/cpu/ops_avx2.h"
#include "tensor/quantize.h"

namespace parley::cpu {
namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Weight bytes a thread keeps hot in its L2 while every token group passes over them.
constexpr std::size_t kChunkBytes = 192 * 1024;
// Work is claimed in chunks of a 1 / (kGuidedShare * threads) part of what is left, within these
// bounds (weight bytes): big chunks first (few claims, long streams), small ones at the end (all
// threads finish together). Decode (one token group) is not bound by L2 reuse.
constexpr double kGuidedShare = 2.0;
constexpr double kDecodeChunkMin = 48 * 1024;
constexpr double kDecodeChunkMax = 1024 * 1024;
constexpr double kBatchChunkMin = kChunkBytes / 4;
// Panels per claim are a multiple of this (the widest decode tile), except at an output's end.
constexpr std::int64_t kClaimGranule = 4;
// Rows per unit of work on the fallback path (the same as a panel, so units stay comparable).
constexpr std::int64_t kFallbackRows = kPanelRows;
// The fallback dequantizes every row to floats: count its rows as this much heavier per byte.
constexpr double kFallbackCost = 4.0;

std::atomic<int> g_isa_limit{static_cast<int>(MatmulIsa::kAvx512)};

// A one-shot barrier for the threads of one pool.run() (all of them run the same function, so
// every one arrives). Spinning is right here: the wait is the few microseconds of activation
// packing, shorter than a futex round trip.
class SpinBarrier {
 public:
  void arrive_and_wait(int n) {
    count_.fetch_add(1, std::memory_order_acq_rel);
    while (count_.load(std::memory_order_acquire) < n) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#else
      std::this_thread::yield();
#endif
    }
  }

 private:
  alignas(64) std::atomic<int> count_{0};
};

struct ActPlan {
  bool used = false;
  int tile = 1;
  std::int64_t n_groups = 0;
  std::size_t group_bytes = 0;
  std::byte* base = nullptr;
};

struct OutPlan {
  const MatmulOut* out = nullptr;
  GemmFn fn = nullptr;            // nullptr: fallback path
  const PanelFormat* format = nullptr;  // set when the weight is panel-packed
  ActKind kind = ActKind::kQ8;
  std::int64_t n_units = 0;
  double unit_cost = 0;
  double cost_begin = 0;
};

GemmFn kernel_for(MatmulIsa isa, TensorType type) {
  if (isa == MatmulIsa::kAvx512) return avx512::gemm_kernel(type);
  if (isa == MatmulIsa::kAvx2) return avx2::gemm_kernel(type);
  return nullptr;
}

int tile_for(MatmulIsa isa, ActKind kind) { return isa == MatmulIsa::kAvx512 ? avx512::act_tile(kind) : avx2::act_tile(kind); }

// Guided self-scheduling over the units of every output of a call, in order: each thread claims
// the next chunk at a shared cursor until none is left. A static split would make every call as
// slow as its slowest thread, and the two threads of this kind of machine rarely stream memory
// equally fast (or keep their core: other processes run too).
class WorkQueue {
 public:
  WorkQueue(const OutPlan* plans, int n_plans, double total, double chunk_min, double chunk_max, int n_threads)
      : plans_(plans), n_plans_(n_plans), total_(total), chunk_min_(chunk_min), chunk_max_(chunk_max),
        divisor_(kGuidedShare * n_threads) {
    for (int i = 0; i < n_plans; ++i) unit_end_[i] = (i == 0 ? 0 : unit_end_[i - 1]) + plans[i].n_units;
  }

  // Claims units [*lo, *hi) of output *out; false when all work is claimed.
  bool claim(int* out, std::int64_t* lo, std::int64_t* hi) {
    std::int64_t pos = cursor_.load(std::memory_order_relaxed);
    for (;;) {
      int i = 0;
      while (i < n_plans_ && pos >= unit_end_[i]) ++i;
      if (i == n_plans_) return false;
      const OutPlan& p = plans_[i];
      const std::int64_t begin = i == 0 ? 0 : unit_end_[i - 1];
      const double left = total_ - (p.cost_begin + static_cast<double>(pos - begin) * p.unit_cost);
      const double cost = std::clamp(left / divisor_, chunk_min_, chunk_max_);
      std::int64_t n = static_cast<std::int64_t>(std::ceil(cost / p.unit_cost));
      n = (n + kClaimGranule - 1) / kClaimGranule * kClaimGranule;
      std::int64_t end = std::min(unit_end_[i], pos + n);
      // Rather than leave a sliver of this output for a separate claim, take it now.
      if (unit_end_[i] - end < n / 2) end = unit_end_[i];
      if (cursor_.compare_exchange_weak(pos, end, std::memory_order_relaxed)) {
        *out = i;
        *lo = pos - begin;
        *hi = end - begin;
        return true;
      }
    }
  }

 private:
  const OutPlan* plans_;
  int n_plans_;
  double total_, chunk_min_, chunk_max_, divisor_;
  std::int64_t unit_end_[8] = {};
  alignas(64) std::atomic<std::int64_t> cursor_{0};
};

float dot(const float* a, const float* b, std::int64_t n, bool simd) {
  if (simd) return parley::avx2::dot_f32(a, b, n);
  float s = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Rows [row0, row0 + n) of one out the slow, general way; `rows` holds 16 GGUF rows and `f` one
// dequantized row of this thread.
void fallback_rows(const OutPlan& plan, std::int64_t row0, std::int64_t n, const float* x, std::int64_t n_tokens,
                   std::byte* rows, float* f, bool simd) {
  const WeightView& w = plan.out->w;
  const std::byte* src = static_cast<const std::byte*>(w.data) + row0 * static_cast<std::int64_t>(w.row_bytes);
  if (plan.format != nullptr) {
    // Panel-packed weight: panel row0 / 16 back to GGUF rows first.
    const std::byte* panel = static_cast<const std::byte*>(w.data) + (row0 / kPanelRows) * panel_bytes(*plan.format, w.n_in);
    unpack_panel(*plan.format, panel, w.n_in, n, rows, w.row_bytes);
    src = rows;
  }
  for (std::int64_t r = 0; r < n; ++r) {
    dequantize_row(w.type, src + r * static_cast<std::int64_t>(w.row_bytes), f, w.n_in);
    const float b = plan.out->bias != nullptr ? plan.out->bias[row0 + r] : 0.0f;
    for (std::int64_t t = 0; t < n_tokens; ++t) plan.out->y[t * w.n_out + row0 + r] = dot(f, x + t * w.n_in, w.n_in, simd) + b;
  }
}

}  // namespace

// ---- Instruction-set selection ----------------------------------------------------------------

MatmulIsa detected_matmul_isa() {
  static const MatmulIsa isa = [] {
    const CpuFeatures& f = cpu_features();
    if (f.has_avx512_vnni_kernels()) return MatmulIsa::kAvx512;
    if (f.has_avx2_kernels()) return MatmulIsa::kAvx2;
    return MatmulIsa::kScalar;
  }();
  return isa;
}

MatmulIsa matmul_isa() {
  return static_cast<MatmulIsa>(std::min(static_cast<int>(detected_matmul_isa()), g_isa_limit.load(std::memory_order_relaxed)));
}

void set_matmul_isa_limit(MatmulIsa limit) { g_isa_limit.store(static_cast<int>(limit), std::memory_order_relaxed); }

const char* matmul_isa_name(MatmulIsa isa) {
  switch (isa) {
    case MatmulIsa::kScalar: return "scalar";
    case MatmulIsa::kAvx2: return "avx2";
    case MatmulIsa::kAvx512: return "avx512-vnni";
  }
  return "?";
}

// ---- Scratch, support, preparation --------------------------------------------------------------

void MatmulScratch::Free::operator()(std::byte* p) const { std::free(p); }

std::byte* MatmulScratch::get(std::size_t bytes) {
  if (bytes > size_) {
    const std::size_t size = (bytes + 63) / 64 * 64;
    data_.reset(static_cast<std::byte*>(std::aligned_alloc(64, size)));
    CHECK(data_ != nullptr, "out of memory for {} bytes of matmul scratch", size);
    size_ = size;
  }
  return data_.get();
}

bool matmul_supports(TensorType type) { return tensor_type_info(type).computable; }

Result<WeightView> prepare_matmul_weight(const WeightView& w, std::vector<std::unique_ptr<std::byte[]>>* owned) {
  if (!matmul_supports(w.type)) return unimplemented_error("the CPU backend cannot compute with {} weights", tensor_type_name(w.type));
  const PanelFormat* f = panel_format(w.type);
  // Panels only pay off with the SIMD kernels; the scalar path reads GGUF rows directly.
  if (w.layout != 0 || f == nullptr || owned == nullptr || detected_matmul_isa() == MatmulIsa::kScalar || w.n_in % f->block_k != 0) {
    return w;
  }
  const std::int64_t n_panels = (w.n_out + kPanelRows - 1) / kPanelRows;
  const std::size_t bytes = panel_bytes(*f, w.n_in);
  auto storage = std::make_unique<std::byte[]>(static_cast<std::size_t>(n_panels) * bytes + kAlign);
  auto* base = reinterpret_cast<std::byte*>(align_up(reinterpret_cast<std::uintptr_t>(storage.get())));
  for (std::int64_t p = 0; p < n_panels; ++p) pack_panel(*f, w, p * kPanelRows, base + p * bytes);
  owned->push_back(std::move(storage));
  WeightView packed = w;
  packed.data = base;
  packed.layout = kLayoutPanel16;
  return packed;
}

// ---- matmul -------------------------------------------------------------------------------------

void matmul(ThreadPool& pool, MatmulScratch& scratch, std::span<const MatmulOut> outs, const float* x,
            std::int64_t n_tokens) {
  if (outs.empty() || n_tokens <= 0) return;
  const MatmulIsa isa = matmul_isa();
  const std::int64_t n_in = outs[0].w.n_in;
  const int n_threads = pool.size();

  // Plan: per out its kernel (or the fallback) and its units of work; per activation kind its
  // packed groups.
  constexpr std::size_t kMaxOuts = 8;
  CHECK(outs.size() <= kMaxOuts, "a matmul group has at most {} outputs, got {}", kMaxOuts, outs.size());
  OutPlan plans[kMaxOuts];
  ActPlan acts[3];
  double total = 0;
  std::size_t fallback_row_bytes = 0;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const MatmulOut& o = outs[i];
    CHECK(o.w.n_in == n_in, "all outputs of a matmul group share n_in");
    OutPlan& p = plans[i];
    p.out = &o;
    const bool packed = o.w.layout == kLayoutPanel16;
    if (packed) p.format = panel_format(o.w.type);
    CHECK(!packed || p.format != nullptr, "weight layout {} of type {} is unknown", o.w.layout, tensor_type_name(o.w.type));
    p.fn = packed ? kernel_for(isa, o.w.type) : nullptr;
    p.n_units = (o.w.n_out + kPanelRows - 1) / kPanelRows;
    p.unit_cost = static_cast<double>(kPanelRows) * static_cast<double>(o.w.row_bytes) * (p.fn != nullptr ? 1.0 : kFallbackCost);
    p.cost_begin = total;
    total += p.unit_cost * static_cast<double>(p.n_units);
    if (p.fn != nullptr) {
      p.kind = act_kind(o.w.type);
      acts[static_cast<int>(p.kind)].used = true;
    } else {
      fallback_row_bytes = std::max(fallback_row_bytes, o.w.row_bytes);
    }
  }

  // Scratch: packed activations of every kind in use, then per-thread fallback rows.
  std::size_t bytes = 0;
  std::int64_t n_pack_items = 0;
  for (ActPlan& a : acts) {
    if (!a.used) continue;
    const auto kind = static_cast<ActKind>(&a - acts);
    a.tile = tile_for(isa, kind);
    a.n_groups = (n_tokens + a.tile - 1) / a.tile;
    a.group_bytes = act_group_bytes(kind, n_in, a.tile);
    bytes += static_cast<std::size_t>(a.n_groups) * a.group_bytes;
    n_pack_items += a.n_groups;
  }
  const std::size_t fallback_bytes = align_up(fallback_row_bytes * kPanelRows) + align_up(static_cast<std::size_t>(n_in) * sizeof(float));
  const std::size_t acts_bytes = bytes;
  if (fallback_row_bytes > 0) bytes += fallback_bytes * static_cast<std::size_t>(n_threads);
  std::byte* mem = scratch.get(std::max<std::size_t>(bytes, kAlign));
  std::size_t at = 0;
  for (ActPlan& a : acts) {
    if (!a.used) continue;
    a.base = mem + at;
    at += static_cast<std::size_t>(a.n_groups) * a.group_bytes;
  }

  const auto pack_item = [&](std::int64_t item) {
    for (ActPlan& a : acts) {
      if (!a.used) continue;
      if (item < a.n_groups) {
        const auto kind = static_cast<ActKind>(&a - acts);
        const std::int64_t t0 = item * a.tile;
        const int n = static_cast<int>(std::min<std::int64_t>(a.tile, n_tokens - t0));
        avx2::pack_act(kind, x + t0 * n_in, n_in, n_in, n, a.base + item * a.group_bytes, a.tile);
        return;
      }
      item -= a.n_groups;
    }
  };
  // One group per kind (decode, small batches) is packed before waking the team: no barrier.
  const bool pack_in_team = n_pack_items > static_cast<std::int64_t>(std::count_if(acts, acts + 3, [](const ActPlan& a) { return a.used; }));
  if (!pack_in_team)
    for (std::int64_t i = 0; i < n_pack_items; ++i) pack_item(i);

  SpinBarrier barrier;
  const bool simd_dot = isa != MatmulIsa::kScalar;
  const bool decode = std::all_of(acts, acts + 3, [](const ActPlan& a) { return !a.used || a.n_groups == 1; });
  WorkQueue queue(plans, static_cast<int>(outs.size()), total, decode ? kDecodeChunkMin : kBatchChunkMin,
                  decode ? kDecodeChunkMax : static_cast<double>(kChunkBytes), n_threads);
  pool.run([&](int t) {
    if (pack_in_team) {
      for (std::int64_t i = t; i < n_pack_items; i += n_threads) pack_item(i);
      barrier.arrive_and_wait(n_threads);
    }
    std::byte* fb_rows = mem + acts_bytes + fallback_bytes * static_cast<std::size_t>(t);
    auto* fb_row = reinterpret_cast<float*>(fb_rows + align_up(fallback_row_bytes * kPanelRows));
    // Units [lo, hi) of output i: the fallback's 16-row blocks, or panels that every token group
    // passes over in L2-sized chunks.
    const auto work = [&](int i, std::int64_t lo, std::int64_t hi) {
      const OutPlan& p = plans[i];
      const WeightView& w = p.out->w;
      if (p.fn == nullptr) {
        for (std::int64_t u = lo; u < hi; ++u) {
          const std::int64_t row0 = u * kFallbackRows;
          fallback_rows(p, row0, std::min(kFallbackRows, w.n_out - row0), x, n_tokens, fb_rows, fb_row, simd_dot);
        }
        return;
      }
      const ActPlan& a = acts[static_cast<int>(p.kind)];
      const std::size_t pb = panel_bytes(*p.format, n_in);
      const std::int64_t chunk = a.n_groups == 1 ? hi - lo : std::max<std::int64_t>(2, static_cast<std::int64_t>(kChunkBytes / pb) & ~std::int64_t{1});
      GemmArgs args;
      args.panel_bytes = pb;
      args.n_in = n_in;
      args.ldy = w.n_out;
      for (std::int64_t c = lo; c < hi; c += chunk) {
        const std::int64_t c_end = std::min(hi, c + chunk);
        args.w = static_cast<const std::byte*>(w.data) + c * static_cast<std::int64_t>(pb);
        args.n_panels = c_end - c;
        args.rows_last = c_end == p.n_units ? static_cast<int>(w.n_out - (p.n_units - 1) * kPanelRows) : kPanelRows;
        args.bias = p.out->bias != nullptr ? p.out->bias + c * kPanelRows : nullptr;
        for (std::int64_t g = 0; g < a.n_groups; ++g) {
          const std::int64_t t0 = g * a.tile;
          args.n_tokens = static_cast<int>(std::min<std::int64_t>(a.tile, n_tokens - t0));
          args.act = act_group_at(p.kind, a.base + g * a.group_bytes, n_in, a.tile, args.n_tokens);
          args.y = p.out->y + t0 * w.n_out + c * kPanelRows;
          p.fn(args);
        }
      }
    };
    int i = 0;
    std::int64_t lo = 0, hi = 0;
    while (queue.claim(&i, &lo, &hi)) work(i, lo, hi);
  });
}

}  // namespace parley::cpu
