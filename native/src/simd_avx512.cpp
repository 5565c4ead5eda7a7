// Microkernels compiled for the avx512 target; chosen at run time (cpu_dispatch.cpp).
#include <stdint.h>

#include "internal.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,prefer-vector-width=512")
#define SIMD_NS isa_avx512
#define GRAM_CB 32
#include "simd_kernels.inc"
#undef GRAM_CB
#undef SIMD_NS
#pragma GCC pop_options

namespace cusprun {
const SimdKernels &simd_avx512() { return isa_avx512::table; }
}  // namespace cusprun
