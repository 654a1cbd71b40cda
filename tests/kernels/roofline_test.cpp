// The machine-limit probes return plausible figures (they are benchmarks: only sanity here).
#include "kernels/cpu/roofline.h"

#include <gtest/gtest.h>

#include <cmath>

namespace parley::cpu {
namespace {

TEST(RooflineTest, ProbesReturnPlausibleFigures) {
  ThreadPool pool(2);
  const double bw = measure_memory_bandwidth_gbs(pool);
  EXPECT_GT(bw, 0.1);
  EXPECT_LT(bw, 10000.0);
  const double fma = measure_fma_gflops(pool);
  EXPECT_GT(fma, 0.1);
  EXPECT_TRUE(std::isfinite(fma));
  const double int8 = measure_int8_gops(pool);
  EXPECT_GE(int8, 0.0);
  EXPECT_TRUE(std::isfinite(int8));
}

}  // namespace
}  // namespace parley::cpu
