// Microkernels compiled for the avx2 target; chosen at run time (cpu_dispatch.cpp).
#include <stdint.h>

#include "internal.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define SIMD_NS isa_avx2
#define GRAM_CB 16
#include "simd_kernels.inc"
#undef GRAM_CB
#undef SIMD_NS
#pragma GCC pop_options

namespace cusprun {
const SimdKernels &simd_avx2() { return isa_avx2::table; }
}  // namespace cusprun
