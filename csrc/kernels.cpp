// One source (kernels_impl.h), one compiled variant per instruction set, picked at run time,
// so the extension runs on every machine torch does without -march=native:
//
//   x86-64:  avx512 (16-float vectors, 32 registers), avx2 (8 floats, 16 registers),
//            generic (the x86-64 baseline, SSE2: 4 floats, 16 registers); and, for tests only
//            (A2I_SIM_VARIANTS=1), avx512sim: the avx512 code compiled for AVX2
//   aarch64: neon (4 floats, 32 registers; NEON is part of the aarch64 baseline)
//   other:   generic (4-float GCC vectors, lowered to whatever the target has)
#include "kernels.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace a2i {

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt,f16c")
namespace k_avx512 {
#define A2I_VBYTES 64
#define A2I_NREGS 32
#define A2I_RCP14 1
#include "kernels_impl.h"
#undef A2I_RCP14
#undef A2I_NREGS
#undef A2I_VBYTES
}  // namespace k_avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,popcnt,f16c")
namespace k_avx2 {
#define A2I_VBYTES 32
#define A2I_NREGS 16
#define A2I_AVX2 1
#include "kernels_impl.h"
#undef A2I_AVX2
#undef A2I_NREGS
#undef A2I_VBYTES
}  // namespace k_avx2

// avx512sim (test-only): the avx512 variant's code and tile shapes (16-float vectors, tiles for 32
// registers) compiled for AVX2, each vector lowered to two ymm registers and rcp14 emulated. It lets an
// AVX2-only machine check the code paths an AVX-512 machine takes, the op's tiling included
// (tests/test_ops.py). Slow (it spills); listed only when A2I_SIM_VARIANTS=1 is set, never picked alone.
// 64-byte vectors without AVX-512 change the calling convention; every function here is internal.
// (Not popped: GCC reports it at the end of the file.)
#pragma GCC diagnostic ignored "-Wpsabi"
namespace k_avx512sim {
#define A2I_VBYTES 64
#define A2I_NREGS 32
#define A2I_SIM 1
#include "kernels_impl.h"
#undef A2I_SIM
#undef A2I_NREGS
#undef A2I_VBYTES
}  // namespace k_avx512sim
#pragma GCC pop_options
#endif

#if defined(__aarch64__)
namespace k_neon {
#define A2I_VBYTES 16
#define A2I_NREGS 32
#include "kernels_impl.h"
#undef A2I_NREGS
#undef A2I_VBYTES
}  // namespace k_neon
#else
namespace k_generic {
#if defined(__x86_64__) || defined(__SSE2__)
#define A2I_SSE2 1
#endif
#define A2I_VBYTES 16
#define A2I_NREGS 16
#include "kernels_impl.h"
#undef A2I_SSE2
#undef A2I_NREGS
#undef A2I_VBYTES
}  // namespace k_generic
#endif

#define A2I_VARIANT(ns, name) \
  Kernels { name, ns::VL, ns::NREGS, ns::GEMM_NV_MAX, ns::gemm_mr_max, ns::pix_rows, ns::gemm_tiles }

namespace {

// Every variant compiled into this build, best first.
const std::vector<Kernels>& compiled() {
  static const std::vector<Kernels> all = {
#if defined(__x86_64__) && defined(__GNUC__)
      A2I_VARIANT(k_avx512, "avx512"),
      A2I_VARIANT(k_avx2, "avx2"),
      A2I_VARIANT(k_avx512sim, "avx512sim"),  // after avx2: never the best of a machine that lists it
#endif
#if defined(__aarch64__)
      A2I_VARIANT(k_neon, "neon"),
#else
      A2I_VARIANT(k_generic, "generic"),
#endif
  };
  return all;
}

bool cpu_runs(const Kernels& k) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (std::strcmp(k.isa, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (std::strcmp(k.isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(k.isa, "avx512sim") == 0) {
    const char* sim = std::getenv("A2I_SIM_VARIANTS");
    return sim != nullptr && std::strcmp(sim, "1") == 0 && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
  }
#endif
  (void)k;
  return true;  // the baseline of the target
}

const Kernels* initial() {
  const std::vector<const Kernels*> ok = supported_kernels();
  const char* force = std::getenv("A2I_ISA");
  if (force != nullptr)
    for (const Kernels* k : ok)
      if (std::strcmp(k->isa, force) == 0) return k;
  return ok.front();  // the best this CPU runs (an A2I_ISA it cannot run is ignored; ops.py says so)
}

std::atomic<const Kernels*>& current() {
  static std::atomic<const Kernels*> k{initial()};
  return k;
}

}  // namespace

std::vector<const Kernels*> supported_kernels() {
  std::vector<const Kernels*> out;
  for (const Kernels& k : compiled())
    if (cpu_runs(k)) out.push_back(&k);
  return out;
}

const Kernels& kernels() { return *current().load(std::memory_order_acquire); }

bool set_kernels(const std::string& name) {
  for (const Kernels* k : supported_kernels())
    if (name == k->isa) {
      current().store(k, std::memory_order_release);
      return true;
    }
  return false;
}

}  // namespace a2i
