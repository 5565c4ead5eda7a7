// Run-time choice of the microkernel table: the best ISA the CPU supports, or the
// one named by CUSPRUN_ISA (generic|avx2|avx512) so tests can cover every path.
#include <stdlib.h>
#include <string.h>

#include "internal.h"

namespace cusprun {
namespace {

bool has_avx2() {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
}
bool has_avx512() {
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

const SimdKernels *pick() {
    __builtin_cpu_init();
    const char *want = getenv("CUSPRUN_ISA");
    if (want && strcmp(want, "generic") == 0) return &simd_generic();
    if (want && strcmp(want, "avx2") == 0 && has_avx2()) return &simd_avx2();
    // unknown or unsupported request: fall through to the best available
    if (has_avx512()) return &simd_avx512();
    if (has_avx2()) return &simd_avx2();
    return &simd_generic();
}

}  // namespace

const SimdKernels &simd() {
    static const SimdKernels *chosen = pick();
    return *chosen;
}

}  // namespace cusprun

// Not in cusprun.h: lets tests and benchmarks report which microkernels ran.
extern "C" __attribute__((visibility("default"))) const char *cusprun_internal_cpu_isa(void) {
    return cusprun::simd().isa;
}
