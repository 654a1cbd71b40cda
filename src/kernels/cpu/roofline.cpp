#include "kernels/cpu/roofline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "kernels/cpu/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace parley::cpu {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBandwidthBytes = std::size_t{512} << 20;
constexpr int kMaxStreams = 8;
constexpr int kComputeRuns = 3;
// Inner iterations of the compute loops per run: ~30 ms per thread at 3-4 GHz.
constexpr std::int64_t kComputeIters = 8'000'000;

// Results of the compute loops land here so the compiler cannot drop the loops.
volatile float g_float_sink = 0;
volatile int g_int_sink = 0;

// The SIMD loops are compiled for their instruction sets with target attributes (this file is
// built for the baseline) and only called after cpu_features() says so.
#if defined(__x86_64__)
// Reads [p, p + n) as kStreams interleaved sequential streams: one stream per core leaves the
// memory system idle between a core's prefetches, several (as a matmul kernel reads panels and
// their scales) reach the machine's real read bandwidth.
__attribute__((target("avx2"))) std::uint64_t read_avx2(const std::byte* p, std::size_t n, int streams) {
  const std::size_t part = n / static_cast<std::size_t>(streams) / 4096 * 4096;
  __m256i acc[kMaxStreams];
  for (int s = 0; s < kMaxStreams; ++s) acc[s] = _mm256_setzero_si256();
  for (std::size_t i = 0; i < part; i += 64) {
    for (int s = 0; s < streams; ++s) {
      const std::byte* q = p + static_cast<std::size_t>(s) * part + i;
      acc[s] = _mm256_xor_si256(acc[s], _mm256_load_si256(reinterpret_cast<const __m256i*>(q)));
      acc[s] = _mm256_xor_si256(acc[s], _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 32)));
    }
  }
  __m256i a = acc[0];
  for (int s = 1; s < kMaxStreams; ++s) a = _mm256_xor_si256(a, acc[s]);
  return static_cast<std::uint64_t>(_mm256_extract_epi64(a, 0) ^ _mm256_extract_epi64(a, 3));
}

__attribute__((target("avx512f"))) double fma_avx512(std::int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(0.01f * static_cast<float>(i));
  __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
  __asm__ volatile("" : "+v"(b), "+v"(c));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  g_float_sink = lanes[0];
  return static_cast<double>(iters) * 12 * 16 * 2;
}

__attribute__((target("avx2,fma"))) double fma_avx2(std::int64_t iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(0.01f * static_cast<float>(i));
  __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  __asm__ volatile("" : "+x"(b), "+x"(c));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  g_float_sink = _mm256_cvtss_f32(s);
  return static_cast<double>(iters) * 12 * 8 * 2;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double int8_vnni(std::int64_t iters) {
  __m512i a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_epi32(i);
  __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(5);
  __asm__ volatile("" : "+v"(u), "+v"(v));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_dpbusd_epi32(a[i], u, v);
  }
  __m512i s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_epi32(s, a[i]);
  alignas(64) int lanes[16];
  _mm512_store_si512(lanes, s);
  g_int_sink = lanes[0];
  return static_cast<double>(iters) * 12 * 64 * 2;
}

__attribute__((target("avx2"))) double int8_avx2(std::int64_t iters) {
  __m256i a[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm256_set1_epi32(i);
  __m256i u = _mm256_set1_epi8(3), v = _mm256_set1_epi8(5), ones = _mm256_set1_epi16(1);
  __asm__ volatile("" : "+x"(u), "+x"(v), "+x"(ones));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(_mm256_maddubs_epi16(u, v), ones));
  }
  __m256i s = a[0];
  for (int i = 1; i < 8; ++i) s = _mm256_add_epi32(s, a[i]);
  g_int_sink = _mm256_extract_epi32(s, 0);
  return static_cast<double>(iters) * 8 * 32 * 2;
}
#endif

std::uint64_t read_scalar(const std::byte* p, std::size_t n) {
  std::uint64_t a0 = 0, a1 = 0;
  for (std::size_t i = 0; i + 16 <= n; i += 16) {
    std::uint64_t v0, v1;
    std::memcpy(&v0, p + i, 8);
    std::memcpy(&v1, p + i + 8, 8);
    a0 ^= v0;
    a1 ^= v1;
  }
  return a0 ^ a1;
}

double fma_scalar(std::int64_t iters) {
  float a[8];
  for (int i = 0; i < 8; ++i) a[i] = 0.01f * static_cast<float>(i);
  volatile float vb = 0.999f, vc = 0.001f;  // opaque to the optimizer
  const float b = vb, c = vc;
  for (std::int64_t it = 0; it < iters / 8; ++it)
    for (float& x : a) x = x * b + c;
  float s = 0;
  for (float x : a) s += x;
  g_float_sink = s;
  return static_cast<double>(iters / 8) * 8 * 2;
}

// Runs work(thread, run) on every thread `runs` times; returns the best total-ops / wall-seconds.
template <typename Work>
double best_rate(ThreadPool& pool, int runs, Work&& work) {
  double best = 0;
  for (int r = 0; r < runs; ++r) {
    std::vector<double> ops(static_cast<std::size_t>(pool.size()));
    const auto t0 = Clock::now();
    pool.run([&](int t) { ops[static_cast<std::size_t>(t)] = work(t, r); });
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    double total = 0;
    for (double o : ops) total += o;
    best = std::max(best, total / s);
  }
  return best;
}

std::byte* bandwidth_buffer(ThreadPool& pool) {
  static std::byte* buffer = nullptr;
  if (buffer == nullptr) {
    buffer = static_cast<std::byte*>(std::aligned_alloc(4096, kBandwidthBytes));
    CHECK(buffer != nullptr, "out of memory for the bandwidth probe ({} bytes)", kBandwidthBytes);
    // Each thread touches the part it will read (first touch places the pages near it), with
    // distinct contents: pages of equal contents could be merged by the kernel or hypervisor and
    // then read from cache.
    const std::size_t part = kBandwidthBytes / static_cast<std::size_t>(pool.size()) / 8 * 8;
    pool.run([&](int t) {
      auto* words = reinterpret_cast<std::uint64_t*>(buffer + part * static_cast<std::size_t>(t));
      std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(t + 1);
      for (std::size_t i = 0; i < part / 8; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words[i] = x;
      }
    });
  }
  return buffer;
}

}  // namespace

double measure_memory_bandwidth_gbs(ThreadPool& pool, int runs) {
  std::byte* buffer = bandwidth_buffer(pool);
  const std::size_t part = kBandwidthBytes / static_cast<std::size_t>(pool.size()) / 4096 * 4096;
  std::atomic<std::uint64_t> sink{0};
  const bool avx2 = cpu_features().avx2;
  // Runs alternate between 4 and 8 streams per thread; the best run counts (on a shared machine
  // other processes' memory traffic only ever lowers a run).
  const double bytes_per_s = best_rate(pool, std::max(1, runs), [&](int t, int run) {
    const std::byte* p = buffer + part * static_cast<std::size_t>(t);
    const int streams = run % 2 == 0 ? 4 : 8;
#if defined(__x86_64__)
    sink.fetch_xor(avx2 ? read_avx2(p, part, streams) : read_scalar(p, part), std::memory_order_relaxed);
#else
    (void)streams;
    sink.fetch_xor(read_scalar(p, part), std::memory_order_relaxed);
#endif
    return static_cast<double>(part);
  });
  return bytes_per_s / 1e9;
}

double measure_fma_gflops(ThreadPool& pool) {
  const CpuFeatures& f = cpu_features();
  return best_rate(pool, kComputeRuns, [&](int, int) {
#if defined(__x86_64__)
                   if (f.avx512f) return fma_avx512(kComputeIters);
                   if (f.avx2 && f.fma) return fma_avx2(kComputeIters);
#endif
                   return fma_scalar(kComputeIters);
                 }) /
         1e9;
}

double measure_int8_gops(ThreadPool& pool) {
  const CpuFeatures& f = cpu_features();
  if (!f.avx2) return 0;
  return best_rate(pool, kComputeRuns, [&](int, int) {
#if defined(__x86_64__)
                   if (f.has_avx512_vnni_kernels()) return int8_vnni(kComputeIters);
                   return int8_avx2(kComputeIters);
#else
                   return 0.0;
#endif
                 }) /
         1e9;
}

}  // namespace parley::cpu
