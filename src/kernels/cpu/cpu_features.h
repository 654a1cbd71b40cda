// What the processor we run on can do, detected once at run time (cpuid + xgetbv), so one
// binary runs everywhere and uses the widest kernels available.
#pragma once

#include <string>

namespace parley {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avx_vnni = false;

  // AVX2 + FMA + F16C: the baseline of the fast CPU kernels.
  bool has_avx2_kernels() const { return avx2 && fma && f16c; }
  // AVX-512 F/BW/VL + VNNI: the int8 dot-product kernels.
  bool has_avx512_vnni_kernels() const { return has_avx2_kernels() && avx512f && avx512bw && avx512vl && avx512vnni; }
  std::string to_string() const;
};

const CpuFeatures& cpu_features();

}  // namespace parley
