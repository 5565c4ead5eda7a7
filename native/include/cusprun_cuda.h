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

const char *cusprun_cuda_last_error(void);
int cusprun_cuda_device_count_impl(void);
int cusprun_cuda_variant_count(const char *kernel);
const char *cusprun_cuda_variant_name(const char *kernel, int variant);
int cusprun_cuda_variant_default(const char *kernel);

int cusprun_cuda_ffn_swiglu(int device, int variant, void *stream,
                            cusprun_dtype act_dtype,
                            const void *gate, const void *up, int64_t in_stride,
                            void *act_out, int64_t T, int64_t F,
                            const int64_t *doc_offsets, int64_t n_docs,
                            cusprun_dtype acc_dtype, void *acc);

int cusprun_cuda_head_gram(int device, int variant, void *stream,
                           cusprun_dtype act_dtype, const void *z,
                           int64_t T, int64_t H, int64_t d, int64_t group_size,
                           const int64_t *doc_offsets, int64_t n_docs,
                           cusprun_dtype acc_dtype, void *gram);

int cusprun_cuda_qk_neuron(int device, int variant, void *stream,
                           cusprun_dtype act_dtype, const void *q, const void *k,
                           int64_t T, int64_t H, int64_t Hkv, int64_t d,
                           float scale, int rope_pairs,
                           const int64_t *doc_offsets, int64_t n_docs,
                           cusprun_dtype acc_dtype, void *acc);

int cusprun_cuda_rank_update(int device, int variant, void *stream,
                             cusprun_dtype rel_dtype, const void *relevance,
                             int64_t n_docs, int64_t N,
                             float *rank_max, int32_t *rank_hist, int64_t n_bins,
                             double *relevance_sum);

#ifdef __cplusplus
}
#endif

#endif /* CUSPRUN_CUDA_H */
