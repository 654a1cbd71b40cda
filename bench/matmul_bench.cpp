// CPU matmul throughput on TinyLlama-1.1B shapes (n_in x n_out: 2048x2048 attention, 2048x5632
// gate/up, 5632x2048 down, 2048x32000 output) for decode (1 token), small batches (8) and
// prefill (128), with the machine's measured limits printed once in the context header.
//
// Counters (medians over the calls of the measured loop):
//   GB/s   weight bytes in GGUF size per second
//   bw     the memory read bandwidth, probed about every 100 ms between the timed calls (this
//          machine's bandwidth changes by 2x over minutes: a ratio needs a probe next to it)
//   vs_bw  per call, GB/s over the latest probe; the median of those
//   GOP/s  2 * n_in * n_out * n_tokens per second; vs_peak = GOP/s / the FMA peak (float weights)
//          or the int8 VNNI peak (quantized weights)
// matmul/ benchmarks read weights from memory, as a model does: each cycles through enough copies
// of the weight to overflow the L3 cache (>= 256 MiB). matmul_hot/ benchmarks reuse one small
// weight that stays in the L2 caches: the compute bound of the kernels' tiles.
//
// PARLEY_MATMUL_ISA=avx2|scalar caps the kernel path (default: the widest available);
// PARLEY_BENCH_THREADS sets the pool size (default 2).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "base/rng.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_pack.h"
#include "kernels/cpu/roofline.h"
#include "kernels/cpu/thread_pool.h"
#include "tensor/quantize.h"

namespace parley::cpu {
namespace {

constexpr std::size_t kColdBytes = std::size_t{256} << 20;
constexpr int kHotOuts = 8;
// Rows of a hot weight: at most ~512 KiB, half of a core's L2.
std::int64_t hot_rows(TensorType type, std::int64_t n_in) {
  const std::size_t row_bytes = tensor_row_bytes(type, n_in).value();
  return std::clamp<std::int64_t>(static_cast<std::int64_t>((std::size_t{512} << 10) / row_bytes) / 32 * 32, 32, 1024);
}
// Threads of the pool: PARLEY_BENCH_THREADS, else 2 (the target machine's cores).
int bench_threads() {
  const char* env = std::getenv("PARLEY_BENCH_THREADS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 2;
}

struct Limits {
  double bandwidth_gbs = 0;
  double fma_gflops = 0;
  double int8_gops = 0;
};
Limits g_limits;

ThreadPool& pool() {
  static ThreadPool p(bench_threads());
  return p;
}

// Copies of one prepared weight, enough to overflow the caches.
struct WeightSet {
  std::vector<std::unique_ptr<std::byte[]>> owned;
  std::vector<WeightView> copies;
  std::size_t gguf_bytes = 0;
};

WeightSet& weights(TensorType type, std::int64_t n_in, std::int64_t n_out, bool hot) {
  static std::map<std::tuple<TensorType, std::int64_t, std::int64_t, bool>, std::unique_ptr<WeightSet>> cache;
  auto& slot = cache[{type, n_in, n_out, hot}];
  if (slot) return *slot;
  // Only one weight set lives at a time: they are large.
  cache.clear();
  auto& set = cache[{type, n_in, n_out, hot}];
  set = std::make_unique<WeightSet>();
  // Quantize 64 distinct rows (the reference K-quant quantizers are slow) and tile them.
  const std::size_t row_bytes = tensor_row_bytes(type, n_in).value();
  std::vector<std::uint64_t> gguf((row_bytes * static_cast<std::size_t>(n_out) + 7) / 8);
  auto* data = reinterpret_cast<std::byte*>(gguf.data());
  Rng rng(1);
  std::vector<float> row(static_cast<std::size_t>(n_in));
  for (std::int64_t r = 0; r < n_out; ++r) {
    if (r < 64) {
      for (auto& v : row) v = rng.normal() * 0.05f;
      quantize_row(type, row.data(), data + r * static_cast<std::int64_t>(row_bytes), n_in);
    } else {
      std::memcpy(data + r * static_cast<std::int64_t>(row_bytes), data + (r % 64) * static_cast<std::int64_t>(row_bytes), row_bytes);
    }
  }
  const WeightView view{type, data, n_in, n_out, row_bytes, 0};
  set->gguf_bytes = row_bytes * static_cast<std::size_t>(n_out);
  const WeightView first = prepare_matmul_weight(view, &set->owned).value();
  // Bytes the prepared view spans (panels round the rows up to 16).
  std::size_t prepared_bytes = set->gguf_bytes;
  if (first.layout != 0) prepared_bytes = static_cast<std::size_t>((n_out + kPanelRows - 1) / kPanelRows) * panel_bytes(*panel_format(type), n_in);
  const std::size_t n_copies = hot ? 1 : std::max<std::size_t>(1, (kColdBytes + set->gguf_bytes - 1) / set->gguf_bytes);
  set->copies.push_back(first);
  if (first.layout == 0) {
    // Unprepared (fallback) weights point into `gguf`: keep one copy alive per set.
    auto keep = std::make_unique<std::byte[]>(set->gguf_bytes);
    std::memcpy(keep.get(), data, set->gguf_bytes);
    set->copies[0].data = keep.get();
    set->owned.push_back(std::move(keep));
    return *set;
  }
  for (std::size_t c = 1; c < n_copies; ++c) {
    auto mem = std::make_unique<std::byte[]>(prepared_bytes + 64);
    auto* base = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(mem.get()) + 63) / 64 * 64);
    std::memcpy(base, first.data, prepared_bytes);
    WeightView v = first;
    v.data = base;
    set->copies.push_back(v);
    set->owned.push_back(std::move(mem));
  }
  return *set;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void BM_Matmul(benchmark::State& state, TensorType type, bool hot) {
  const std::int64_t n_in = state.range(0);
  const std::int64_t n_out = state.range(1);
  const std::int64_t n_tokens = state.range(2);
  WeightSet& set = weights(type, n_in, n_out, hot);
  Rng rng(2);
  std::vector<float> x(static_cast<std::size_t>(n_tokens * n_in));
  for (auto& v : x) v = rng.normal();
  // Hot: a group of kHotOuts outputs of the same weight (one activation packing for all, as for
  // q/k/v), each thread computing whole outputs over a weight that stays in its L2.
  const int n_outs = hot ? kHotOuts : 1;
  std::vector<float> y(static_cast<std::size_t>(n_tokens * n_out * n_outs));
  MatmulScratch scratch;
  std::size_t next = 0;
  const auto step = [&] {
    MatmulOut outs[kHotOuts];
    for (int i = 0; i < n_outs; ++i) outs[i] = MatmulOut{y.data() + i * n_tokens * n_out, set.copies[next], nullptr};
    next = next + 1 == set.copies.size() ? 0 : next + 1;
    matmul(pool(), scratch, {outs, static_cast<std::size_t>(n_outs)}, x.data(), n_tokens);
  };
  step();  // warm-up: scratch allocation
  const double bytes = static_cast<double>(set.gguf_bytes) * n_outs;
  const double ops = 2.0 * static_cast<double>(n_in * n_out * n_tokens) * n_outs;
  // Per call its seconds and the bandwidth probed last before it. A probe takes ~30 ms, so probes
  // are spaced ~100 ms of calls apart; cold benchmarks only (hot ones never touch memory).
  std::vector<double> times, ratios, probes;
  times.reserve(static_cast<std::size_t>(state.max_iterations));
  double probe = 0, since_probe = 1e9;
  for (auto _ : state) {
    if (!hot && since_probe > 0.1) {
      state.PauseTiming();
      probe = measure_memory_bandwidth_gbs(pool(), 2);
      probes.push_back(probe);
      since_probe = 0;
      state.ResumeTiming();
    }
    const auto t0 = std::chrono::steady_clock::now();
    step();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times.push_back(s);
    since_probe += s;
    if (probe > 0) ratios.push_back(bytes / s / 1e9 / probe);
    benchmark::DoNotOptimize(y.data());
  }
  // Medians: on a shared machine a call now and then loses a scheduler tick (4 ms) to another
  // process, which would swamp the mean of short calls.
  const double seconds = median(times);
  const double gbs = bytes / seconds / 1e9;
  const double gops = ops / seconds / 1e9;
  const bool quantized = tensor_type_info(type).quantized;
  const double peak = quantized ? g_limits.int8_gops : g_limits.fma_gflops;
  state.counters["GB/s"] = gbs;
  if (!hot) {
    state.counters["bw"] = median(probes);
    state.counters["vs_bw"] = median(ratios);
  }
  state.counters["GOP/s"] = gops;
  state.counters["vs_peak"] = peak > 0 ? gops / peak : 0;
}

// The matmuls of a TinyLlama forward pass in model order: per layer the q/k/v group, o, the
// gate/up group and down, over 22 layers of distinct (cold) weights. Counters as above, for the
// whole pass (the output projection is left out: it is one call, benchmarked above).
void BM_Layers(benchmark::State& state, TensorType type) {
  constexpr int kLayers = 22;
  const std::int64_t n_tokens = state.range(0);
  struct Shape {
    std::int64_t n_in, n_out;
  };
  const Shape shapes[] = {{2048, 2048}, {2048, 256}, {2048, 256}, {2048, 2048}, {2048, 5632}, {2048, 5632}, {5632, 2048}};
  // Layer weights: prepared once per shape, then copied per layer (the same bytes, distinct memory).
  static std::map<TensorType, std::vector<std::unique_ptr<std::byte[]>>> storage;
  static std::map<TensorType, std::vector<WeightView>> views;  // [layer * 7 + i]
  if (!views.count(type)) {
    storage.clear();
    views.clear();
    auto& own = storage[type];
    auto& v = views[type];
    v.resize(kLayers * 7);
    for (int i = 0; i < 7; ++i) {
      WeightSet& set = weights(type, shapes[i].n_in, shapes[i].n_out, true);
      const WeightView& first = set.copies[0];
      const std::size_t bytes = first.layout != 0 ? static_cast<std::size_t>((first.n_out + kPanelRows - 1) / kPanelRows) *
                                                        panel_bytes(*panel_format(type), first.n_in)
                                                  : set.gguf_bytes;
      for (int l = 0; l < kLayers; ++l) {
        auto mem = std::unique_ptr<std::byte[]>(new std::byte[bytes + 64]);
        auto* base = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(mem.get()) + 63) / 64 * 64);
        std::memcpy(base, first.data, bytes);
        v[l * 7 + i] = first;
        v[l * 7 + i].data = base;
        own.push_back(std::move(mem));
      }
    }
  }
  const std::vector<WeightView>& w = views[type];
  Rng rng(3);
  std::vector<float> x(static_cast<std::size_t>(n_tokens * 5632));
  for (auto& e : x) e = rng.normal();
  std::vector<float> y(static_cast<std::size_t>(n_tokens * 5632 * 2));
  MatmulScratch scratch;
  double bytes = 0, ops = 0;
  for (int i = 0; i < 7; ++i) {
    bytes += static_cast<double>(tensor_row_bytes(type, shapes[i].n_in).value() * static_cast<std::size_t>(shapes[i].n_out)) * kLayers;
    ops += 2.0 * static_cast<double>(shapes[i].n_in * shapes[i].n_out * n_tokens) * kLayers;
  }
  const auto pass = [&] {
    for (int l = 0; l < kLayers; ++l) {
      const WeightView* lw = &w[static_cast<std::size_t>(l) * 7];
      float* y0 = y.data();
      float* y1 = y.data() + n_tokens * 5632;
      const MatmulOut qkv[3] = {{y0, lw[0], nullptr}, {y1, lw[1], nullptr}, {y1 + n_tokens * 256, lw[2], nullptr}};
      matmul(pool(), scratch, qkv, x.data(), n_tokens);
      const MatmulOut o{y1, lw[3], nullptr};
      matmul(pool(), scratch, {&o, 1}, x.data(), n_tokens);
      const MatmulOut gu[2] = {{y0, lw[4], nullptr}, {y1, lw[5], nullptr}};
      matmul(pool(), scratch, gu, x.data(), n_tokens);
      const MatmulOut d{y1, lw[6], nullptr};
      matmul(pool(), scratch, {&d, 1}, x.data(), n_tokens);
    }
  };
  pass();
  std::vector<double> times, ratios, probes;
  for (auto _ : state) {
    state.PauseTiming();
    const double probe = measure_memory_bandwidth_gbs(pool(), 2);
    probes.push_back(probe);
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times.push_back(sec);
    ratios.push_back(bytes / sec / 1e9 / probe);
  }
  const double seconds = median(times);
  const bool quantized = tensor_type_info(type).quantized;
  const double peak = quantized ? g_limits.int8_gops : g_limits.fma_gflops;
  state.counters["GB/s"] = bytes / seconds / 1e9;
  state.counters["bw"] = median(probes);
  state.counters["vs_bw"] = median(ratios);
  state.counters["GOP/s"] = ops / seconds / 1e9;
  state.counters["vs_peak"] = peak > 0 ? ops / seconds / 1e9 / peak : 0;
}

void register_all() {
  const std::pair<TensorType, const char*> types[] = {
      {TensorType::kQ4_0, "q4_0"}, {TensorType::kQ8_0, "q8_0"}, {TensorType::kF16, "f16"},
      {TensorType::kBF16, "bf16"}, {TensorType::kQ4_K, "q4_k"}, {TensorType::kQ6_K, "q6_k"}};
  const std::pair<std::int64_t, std::int64_t> shapes[] = {{2048, 2048}, {2048, 5632}, {5632, 2048}, {2048, 32000}};
  for (const auto& [type, name] : types) {
    for (const auto& [n_in, n_out] : shapes) {
      auto* b = benchmark::RegisterBenchmark((std::string("matmul/") + name).c_str(), BM_Matmul, type, false);
      b->ArgNames({"in", "out", "tok"})->UseRealTime()->Unit(benchmark::kMicrosecond);
      b->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
      for (const std::int64_t n_tokens : {1, 8, 128}) b->Args({n_in, n_out, n_tokens});
    }
  }
  for (const auto& [type, name] : types) {
    if (type != TensorType::kQ4_0 && type != TensorType::kQ8_0 && type != TensorType::kF16) continue;
    auto* b = benchmark::RegisterBenchmark((std::string("matmul_layers/") + name).c_str(), BM_Layers, type);
    b->ArgNames({"tok"})->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(12);
    b->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
    for (const std::int64_t n_tokens : {1, 8}) b->Args({n_tokens});
  }
  for (const auto& [type, name] : types) {
    auto* b = benchmark::RegisterBenchmark((std::string("matmul_hot/") + name).c_str(), BM_Matmul, type, true);
    b->ArgNames({"in", "out", "tok"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    b->ComputeStatistics("max", [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); });
    for (const std::int64_t n_in : {2048, 5632})
      for (const std::int64_t n_tokens : {1, 4, 8, 16, 128}) b->Args({n_in, hot_rows(type, n_in), n_tokens});
  }
}

}  // namespace
}  // namespace parley::cpu

int main(int argc, char** argv) {
  using namespace parley::cpu;
  if (const char* isa = std::getenv("PARLEY_MATMUL_ISA")) {
    if (std::strcmp(isa, "avx2") == 0) set_matmul_isa_limit(MatmulIsa::kAvx2);
    if (std::strcmp(isa, "scalar") == 0) set_matmul_isa_limit(MatmulIsa::kScalar);
  }
  g_limits.bandwidth_gbs = measure_memory_bandwidth_gbs(pool());
  g_limits.fma_gflops = measure_fma_gflops(pool());
  g_limits.int8_gops = measure_int8_gops(pool());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", g_limits.bandwidth_gbs);
  benchmark::AddCustomContext("mem_read_GB/s", buf);
  std::snprintf(buf, sizeof buf, "%.1f", g_limits.fma_gflops);
  benchmark::AddCustomContext("fma_GFLOP/s", buf);
  std::snprintf(buf, sizeof buf, "%.1f", g_limits.int8_gops);
  benchmark::AddCustomContext("int8_GOP/s", buf);
  benchmark::AddCustomContext("matmul_isa", matmul_isa_name(matmul_isa()));
  benchmark::AddCustomContext("threads", std::to_string(bench_threads()));
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
