// One source, three compiled variants (AVX-512, AVX2+FMA, baseline x86-64) picked at run
// time, so the extension runs on every x86-64 without -march=native.
#include "kernels.h"

#include <cstdlib>
#include <cstring>

namespace a2i {

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt,f16c")
namespace k_avx512 {
#define A2I_HAVE_RCP14 1
#include "kernels_impl.h"
#undef A2I_HAVE_RCP14
}
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt,f16c")
namespace k_avx2 {
#include "kernels_impl.h"
}
#pragma GCC pop_options
#endif

namespace k_generic {
#include "kernels_impl.h"
}

static Kernels pick() {
  const char* force = std::getenv("A2I_ISA");
  auto want = [&](const char* name) { return force == nullptr || std::strcmp(force, name) == 0; };
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (want("avx512") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return {"avx512", k_avx512::pix_rows, k_avx512::gemm_tiles};
  if (want("avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2", k_avx2::pix_rows, k_avx2::gemm_tiles};
#endif
  return {"generic", k_generic::pix_rows, k_generic::gemm_tiles};
}

const Kernels& kernels() {
  static const Kernels k = pick();
  return k;
}

}  // namespace a2i
