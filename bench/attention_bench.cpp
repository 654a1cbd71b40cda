// CPU attention throughput over a paged KV cache, through the Backend interface as the model
// runner calls it, with the machine's measured limits printed once in the context header.
//
//   attention_prefill/  one sequence: `rows` new query rows after `past` cached tokens (a chunk of
//                       chunked prefill over a shared prefix)
//   attention_decode/   `batch` sequences of one query row each, `ctx` tokens in the cache
//
// Each call reads one of 22 layers of the cache in turn, as a forward pass does, so decode reads
// its keys and values from memory rather than from a warm cache. Block tables are shuffled: the
// blocks of a sequence are scattered, as in a long-running server.
//
// Counters (medians over the calls of the measured loop):
//   GFLOP/s  4 * head_dim per (query head, visible key): q.k and p.v, 2 flops per multiply-add
//   vs_peak  GFLOP/s over the FP32 FMA peak measured at start-up
//   GB/s     K and V bytes of the layer read per second (each visible key once per KV head)
//   vs_bw    GB/s over the read bandwidth measured at start-up
//
// PARLEY_BENCH_THREADS sets the backend's threads (default 2).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "base/rng.h"
#include "kernels/backend.h"
#include "tensor/quantize.h"

namespace parley {
namespace {

constexpr int kLayers = 22;
constexpr std::int64_t kBlock = 16;

int bench_threads() {
  const char* env = std::getenv("PARLEY_BENCH_THREADS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : 2;
}

Backend& backend() {
  static std::unique_ptr<Backend> b = std::move(*create_backend("cpu", {.n_threads = bench_threads()}));
  return *b;
}
MachineLimits g_limits;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct Shape {
  std::int64_t n_head, n_kv, head_dim;
  TensorType type;  // of the cache: F16, F32 or Q8_0
};

// n_seqs sequences, each with `n_rows` query rows starting at position `pos_begin`.
void run(benchmark::State& state, const Shape& sh, std::int64_t n_seqs, std::int64_t n_rows, std::int64_t pos_begin) {
  const std::int64_t ctx = pos_begin + n_rows;
  const std::int64_t blocks_per_seq = (ctx + kBlock - 1) / kBlock;
  const std::int64_t n_blocks = blocks_per_seq * n_seqs;
  const std::int64_t row = sh.n_kv * sh.head_dim;
  const KvCacheView shape_view{sh.type, n_blocks, kBlock, sh.n_kv, sh.head_dim, nullptr, nullptr};
  const auto slot_bytes = static_cast<std::size_t>(shape_view.slot_bytes());
  const std::size_t layer_bytes = static_cast<std::size_t>(n_blocks * kBlock) * slot_bytes;
  // Random keys and values, the same bytes in every layer (distinct memory, from the backend's
  // allocator as the model's cache is).
  std::vector<void*> ks(kLayers), vs(kLayers);
  Rng rng(1);
  {
    std::vector<std::byte> pattern(layer_bytes);
    std::vector<float> values(static_cast<std::size_t>(row));
    for (std::size_t at = 0; at < layer_bytes; at += slot_bytes) {
      for (auto& x : values) x = rng.normal();
      quantize_row(sh.type, values.data(), pattern.data() + at, row);
    }
    for (int l = 0; l < kLayers; ++l) {
      for (void** p : {&ks[static_cast<std::size_t>(l)], &vs[static_cast<std::size_t>(l)]}) {
        *p = backend().alloc(layer_bytes);
        std::memcpy(*p, pattern.data(), layer_bytes);
      }
    }
  }
  const KvCacheView kv{sh.type, n_blocks, kBlock, sh.n_kv, sh.head_dim, ks.data(), vs.data()};
  // Every block once, in a shuffled order, dealt out to the sequences.
  std::vector<std::int32_t> perm(static_cast<std::size_t>(n_blocks));
  std::iota(perm.begin(), perm.end(), 0);
  for (std::size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  std::vector<AttentionSeq> seqs;
  for (std::int64_t s = 0; s < n_seqs; ++s) {
    seqs.push_back({static_cast<std::int32_t>(s * n_rows), static_cast<std::int32_t>(n_rows),
                    static_cast<std::int32_t>(pos_begin), perm.data() + s * blocks_per_seq});
  }
  const std::int64_t q_size = n_seqs * n_rows * sh.n_head * sh.head_dim;
  std::vector<float> q(static_cast<std::size_t>(q_size)), out(static_cast<std::size_t>(q_size));
  for (auto& x : q) x = rng.normal();
  const AttentionParams p{sh.n_head, sh.n_kv, sh.head_dim, 1.0f / std::sqrt(static_cast<float>(sh.head_dim))};

  // Visible keys summed over the rows of one sequence: rows see pos_begin + 1 .. ctx keys.
  const double keys =
      static_cast<double>(n_rows) * static_cast<double>(pos_begin) + static_cast<double>(n_rows * (n_rows + 1) / 2);
  const double flops = 4.0 * static_cast<double>(sh.head_dim * sh.n_head) * keys * static_cast<double>(n_seqs);
  const double bytes = 2.0 * static_cast<double>(ctx * n_seqs) * static_cast<double>(slot_bytes);

  int layer = 0;
  const auto call = [&] {
    backend().attention(out.data(), q.data(), kv, layer, seqs, p);
    layer = layer + 1 == kLayers ? 0 : layer + 1;
  };
  for (int l = 0; l < kLayers; ++l) call();  // warm-up: scratch, page faults
  std::vector<double> times;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(out.data());
  }
  for (int l = 0; l < kLayers; ++l) {
    backend().free(ks[static_cast<std::size_t>(l)]);
    backend().free(vs[static_cast<std::size_t>(l)]);
  }
  // Medians: a call now and then loses a scheduler tick to another process.
  const double seconds = median(times);
  state.counters["GFLOP/s"] = flops / seconds / 1e9;
  state.counters["vs_peak"] = g_limits.fma_gflop_s > 0 ? flops / seconds / 1e9 / g_limits.fma_gflop_s : 0;
  state.counters["GB/s"] = bytes / seconds / 1e9;
  state.counters["vs_bw"] = g_limits.mem_bandwidth_gb_s > 0 ? bytes / seconds / 1e9 / g_limits.mem_bandwidth_gb_s : 0;
}

void register_all() {
  // TinyLlama-1.1B (32 heads, 4 KV heads, head_dim 64) and Llama-3-8B (32 heads, 8 KV heads,
  // head_dim 128) attention, F16 cache (the default), Q8_0 and F32.
  struct Named {
    const char* name;
    Shape shape;
  };
  const Named shapes[] = {{"tinyllama/f16", {32, 4, 64, TensorType::kF16}},
                          {"tinyllama/q8_0", {32, 4, 64, TensorType::kQ8_0}},
                          {"tinyllama/f32", {32, 4, 64, TensorType::kF32}},
                          {"llama3_8b/f16", {32, 8, 128, TensorType::kF16}},
                          {"llama3_8b/q8_0", {32, 8, 128, TensorType::kQ8_0}}};
  for (const auto& [name, sh] : shapes) {
    auto* b =
        benchmark::RegisterBenchmark((std::string("attention_prefill/") + name).c_str(),
                                     [sh = sh](benchmark::State& st) { run(st, sh, 1, st.range(0), st.range(1)); });
    b->ArgNames({"rows", "past"})->UseRealTime()->Unit(benchmark::kMillisecond);
    b->Args({128, 1024});
    if (sh.head_dim == 64 && sh.type != TensorType::kF32) b->Args({128, 0})->Args({512, 3584});
  }
  for (const auto& [name, sh] : shapes) {
    auto* b =
        benchmark::RegisterBenchmark((std::string("attention_decode/") + name).c_str(),
                                     [sh = sh](benchmark::State& st) { run(st, sh, st.range(0), 1, st.range(1) - 1); });
    b->ArgNames({"batch", "ctx"})->UseRealTime()->Unit(benchmark::kMicrosecond);
    b->Args({8, 1024});
    if (sh.head_dim == 64 && sh.type != TensorType::kF32)
      b->Args({1, 1024})->Args({1, 4096})->Args({32, 256})->Args({8, 2048})->Args({8, 4096});
  }
  // Decode tiles of one and two queries: 16 heads of 64 without GQA, and 2 heads per KV head.
  const Named narrow[] = {{"nogqa/f16", {16, 16, 64, TensorType::kF16}}, {"group2/f16", {16, 8, 64, TensorType::kF16}}};
  for (const auto& [name, sh] : narrow) {
    benchmark::RegisterBenchmark((std::string("attention_decode/") + name).c_str(),
                                 [sh = sh](benchmark::State& st) { run(st, sh, st.range(0), 1, st.range(1) - 1); })
        ->ArgNames({"batch", "ctx"})
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->Args({1, 1024})
        ->Args({8, 1024});
  }
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  using namespace parley;
  g_limits = backend().measure_limits();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", g_limits.mem_bandwidth_gb_s);
  benchmark::AddCustomContext("mem_read_GB/s", buf);
  std::snprintf(buf, sizeof buf, "%.1f", g_limits.fma_gflop_s);
  benchmark::AddCustomContext("fma_GFLOP/s", buf);
  benchmark::AddCustomContext("backend", backend().name());
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
