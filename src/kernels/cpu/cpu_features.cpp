#include "kernels/cpu/cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace parley {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c & (1u << 27)) != 0;
  f.fma = (c & (1u << 12)) != 0;
  f.f16c = (c & (1u << 29)) != 0;
  const bool avx = (c & (1u << 28)) != 0;
  if (!osxsave || !avx) return f;
  // The OS must save the YMM (and for AVX-512 the ZMM/opmask) state.
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm = (xcr0_lo & 0x6) == 0x6;
  const bool zmm = (xcr0_lo & 0xE6) == 0xE6;
  if (!ymm) return CpuFeatures{};
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = (b & (1u << 5)) != 0;
    if (zmm) {
      f.avx512f = (b & (1u << 16)) != 0;
      f.avx512bw = (b & (1u << 30)) != 0;
      f.avx512vl = (b & (1u << 31)) != 0;
      f.avx512vnni = (c & (1u << 11)) != 0;
    }
    __cpuid_count(7, 1, a, b, c, d);
    f.avx_vnni = (a & (1u << 4)) != 0;
    if (zmm) f.avx512bf16 = (a & (1u << 5)) != 0;
  }
#endif
  return f;
}

}  // namespace

std::string CpuFeatures::to_string() const {
  std::string s;
  const auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avx_vnni, "avx-vnni");
  return s.empty() ? "none" : s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace parley
