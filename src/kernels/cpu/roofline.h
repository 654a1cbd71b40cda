// Machine limits measured in-process, for the roofline figures `parley bench` prints next to a
// model's: decode is bound by memory bandwidth (every weight byte is read once per token),
// prefill by arithmetic (FP32 FMA for float weights, int8 dot products for quantized ones).
//
// Each function runs on all threads of the pool, takes well under a second, and returns the best
// of a few runs. Call them from the pool's owner thread while nothing else uses the pool.
#pragma once

#include "kernels/cpu/thread_pool.h"

namespace parley::cpu {

// Read bandwidth in GB/s (1e9 bytes): all threads stream disjoint parts of a 512 MiB buffer
// (16x a 32 MiB L3, allocated and touched once per process), each part as 4 or 8 interleaved
// sequential streams (one stream per core does not reach the memory system's peak).
// `runs` trades precision for time (each run reads the 512 MiB once: ~10-15 ms); benchmarks that
// track a bandwidth which changes over time take a short probe next to each measurement.
double measure_memory_bandwidth_gbs(ThreadPool& pool, int runs = 8);

// Peak FP32 FMA throughput in GFLOP/s (2 flops per lane per FMA): independent accumulators in the
// widest vectors the processor has (AVX-512, else AVX2, else scalar).
double measure_fma_gflops(ThreadPool& pool);

// Peak int8 multiply-accumulate throughput in GOP/s (2 ops per multiply-add): AVX-512 VNNI
// vpdpbusd, else AVX2 vpmaddubsw + vpmaddwd + vpaddd; 0 without AVX2.
double measure_int8_gops(ThreadPool& pool);

}  // namespace parley::cpu
