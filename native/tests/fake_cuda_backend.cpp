// A stand-in for libcusprun_cuda.so (no GPU involved): exports the CUDA table so that
// test_cuda_forwarding can check how libcusprun loads it and forwards calls. Each kernel
// writes what it received into its first output so the test can see the arguments
// arrived; T == 13 makes a kernel fail. Built four times: FAKE_BROKEN leaves a kernel out,
// FAKE_API_VERSION reports another version, FAKE_NO_VERSION leaves the version out.
#include <stdio.h>
#include <string.h>

#include "cusprun_cuda.h"

static thread_local char g_err[128] = "";

static int fake_fail(const char *what) {
    snprintf(g_err, sizeof g_err, "fake CUDA back end: %s failed on purpose", what);
    return CUSPRUN_ERR_CUDA;
}

#ifndef FAKE_API_VERSION
#define FAKE_API_VERSION CUSPRUN_API_VERSION
#endif

extern "C" {
#ifndef FAKE_NO_VERSION
int cusprun_cuda_api_version(void) { return FAKE_API_VERSION; }
#endif
const char *cusprun_cuda_last_error(void) { return g_err; }
int cusprun_cuda_device_count_impl(void) { return 1; }
int cusprun_cuda_variant_count(const char *kernel) {
    return strcmp(kernel, "ffn_swiglu") == 0 ? 3 : 1;
}
const char *cusprun_cuda_variant_name(const char *kernel, int v) {
    static const char *names[3] = {"1_naive", "2_fake", "3_fake"};
    return v >= 0 && v < cusprun_cuda_variant_count(kernel) ? names[v] : nullptr;
}
int cusprun_cuda_variant_default(const char *kernel) {
    return strcmp(kernel, "ffn_swiglu") == 0 ? 2 : 0;
}

int cusprun_cuda_ffn_swiglu(int device, int variant, void *stream, cusprun_dtype act_dtype,
                            const void *, const void *, int64_t in_stride, void *, int64_t T,
                            int64_t F, const int64_t *, int64_t n_docs, cusprun_dtype acc_dtype,
                            void *acc) {
    if (T == 13) return fake_fail("ffn_swiglu");
    double *a = (double *)acc;  // the test passes a double[8] as "device memory"
    a[0] = device;
    a[1] = variant;
    a[2] = (double)(intptr_t)stream;
    a[3] = act_dtype;
    a[4] = (double)in_stride;
    a[5] = (double)(T * 1000 + F);
    a[6] = (double)n_docs;
    a[7] = acc_dtype;
    return CUSPRUN_OK;
}
int cusprun_cuda_head_gram(int, int variant, void *, cusprun_dtype, const void *, int64_t T,
                           int64_t H, int64_t d, int64_t gs, const int64_t *, int64_t,
                           cusprun_dtype, void *gram) {
    if (T == 13) return fake_fail("head_gram");
    ((double *)gram)[0] = (double)(variant * 10000 + H * 100 + d * 10 + gs);
    return CUSPRUN_OK;
}
int cusprun_cuda_qk_neuron(int, int, void *, cusprun_dtype, const void *, const void *, int64_t T,
                           int64_t H, int64_t Hkv, int64_t d, float scale, int rope_pairs,
                           const int64_t *, int64_t, cusprun_dtype, void *acc) {
    if (T == 13) return fake_fail("qk_neuron");
    ((double *)acc)[0] = (double)(H * 1000 + Hkv * 100 + d * 10 + rope_pairs) + scale;
    return CUSPRUN_OK;
}
#ifndef FAKE_BROKEN
int cusprun_cuda_rank_update(int, int, void *, cusprun_dtype, const void *, int64_t n_docs,
                             int64_t N, float *rank_max, int32_t *, int64_t n_bins, int64_t *) {
    if (n_docs == 13) return fake_fail("rank_update");
    rank_max[0] = (float)(N * 100 + n_bins);
    return CUSPRUN_OK;
}
#endif
}
