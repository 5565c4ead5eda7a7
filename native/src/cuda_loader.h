// Internal: the CPU library (libcusprun.so) reaches the CUDA back end through this
// table, filled by dlopen()ing libcusprun_cuda.so on first use (cuda_loader.cpp).
// The CUDA library is never linked at build time, so libcusprun.so loads on
// machines without CUDA.
#pragma once
#include "cusprun_cuda.h"

namespace cusprun {

struct CudaApi {
    decltype(&cusprun_cuda_last_error) last_error;
    decltype(&cusprun_cuda_device_count_impl) device_count;
    decltype(&cusprun_cuda_variant_count) variant_count;
    decltype(&cusprun_cuda_variant_name) variant_name;
    decltype(&cusprun_cuda_variant_default) variant_default;
    cusprun_ffn_swiglu_fn *ffn_swiglu;
    cusprun_head_gram_fn *head_gram;
    cusprun_qk_neuron_fn *qk_neuron;
    cusprun_rank_update_fn *rank_update;
    int devices;  // device_count() when the library was loaded
};

// The loaded table, loading it (from beside libcusprun.so) on first call; nullptr
// when the back end is unavailable, with the reason stored as the thread's last error.
// Once loaded it is returned without taking a lock.
const CudaApi *cuda_api();

}  // namespace cusprun
