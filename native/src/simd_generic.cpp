// Microkernels compiled for the generic target; chosen at run time (cpu_dispatch.cpp).
#include <stdint.h>

#include "internal.h"

#pragma GCC push_options

#define SIMD_NS isa_generic
#define GRAM_CB 8
#include "simd_kernels.inc"
#undef GRAM_CB
#undef SIMD_NS
#pragma GCC pop_options

namespace cusprun {
const SimdKernels &simd_generic() { return isa_generic::table; }
}  // namespace cusprun
