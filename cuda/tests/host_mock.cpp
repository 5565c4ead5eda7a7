// The CUDA test harness built for the host only (no GPU, no nvcc): the CPU back
// end's variants stand in for the CUDA ones, so the harness itself (inputs,
// document offsets, comparisons, tolerances) is exercised on every machine.
#define CUSPRUN_TEST_HOST_MOCK 1
#include "test_kernels.cu"
