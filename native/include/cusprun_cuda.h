/*
 * The CUDA back end's exports (libcusprun_cuda.so). Applications call the
 * cusprun_* functions of cusprun.h, which forward here when device >= 0; the CUDA
 * test programs call these directly. Same arguments and meaning as cusprun.h;
 * every pointer is a device pointer and `device` selects the GPU.
 */
#ifndef CUSPRUN_CUDA_H
#define CUSPRUN_CUDA_H

#include "cusprun.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CUSPRUN_API_VERSION this library was built with; libcusprun refuses another. */
int cusprun_cuda_api_version(void);
const char *cusprun_cuda_last_error(void);
int cusprun_cuda_device_count_impl(void);
int cusprun_cuda_variant_count(const char *kernel);
const char *cusprun_cuda_variant_name(const char *kernel, int variant);
int cusprun_cuda_variant_default(const char *kernel);

/* Declared through the kernel function types of cusprun.h: one parameter list each. */
cusprun_ffn_swiglu_fn cusprun_cuda_ffn_swiglu;
cusprun_head_gram_fn cusprun_cuda_head_gram;
cusprun_qk_neuron_fn cusprun_cuda_qk_neuron;
cusprun_rank_update_fn cusprun_cuda_rank_update;

#ifdef __cplusplus
}
#endif

#endif /* CUSPRUN_CUDA_H */
