// Shared plumbing of the CUDA back end: errors, device selection, the variant
// registry, dtype conversion and small device helpers. Internal to libcusprun_cuda.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cusprun_cuda.h"
#include "kernel_args.h"

namespace cusprun_cuda {

// ------------------------------------------------------------------ errors

// Stores a printf-style message as this thread's last error and returns `code`.
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// CUSPRUN_ERR_CUDA (or CUSPRUN_ERR_MEMORY for cudaErrorMemoryAllocation) with the
// CUDA message; `what` names the failing call.
int cuda_fail(cudaError_t err, const char *what);
void clear_error();

#define CUSPRUN_CU(call)                                                                    \
    do {                                                                                    \
        cudaError_t cusprun_e_ = (call);                                                    \
        if (cusprun_e_ != cudaSuccess) return ::cusprun_cuda::cuda_fail(cusprun_e_, #call); \
    } while (0)

// After a kernel launch: turns a launch error into CUSPRUN_ERR_CUDA.
#define CUSPRUN_LAUNCHED(what)                                                             \
    do {                                                                                   \
        cudaError_t cusprun_e_ = cudaGetLastError();                                       \
        if (cusprun_e_ != cudaSuccess) return ::cusprun_cuda::cuda_fail(cusprun_e_, what); \
    } while (0)

#define CUSPRUN_TRY(expr)                                \
    do {                                                 \
        int cusprun_s_ = (expr);                         \
        if (cusprun_s_ != CUSPRUN_OK) return cusprun_s_; \
    } while (0)

// ------------------------------------------------------- device selection

// Makes `device` current for the lifetime of the guard and restores the
// previously current device afterwards. The devices and their attributes are queried
// once per process (common.cu); a guard only switches the current device.
class DeviceGuard {
public:
    DeviceGuard() = default;
    DeviceGuard(const DeviceGuard &) = delete;
    DeviceGuard &operator=(const DeviceGuard &) = delete;
    ~DeviceGuard();
    // Validates `device` and selects it. Returns a cusprun status.
    int enter(int device);
    int device() const { return device_; }
    int sm_count() const { return sm_count_; }
    int max_smem_optin() const { return max_smem_optin_; }

private:
    int prev_ = -1;
    int device_ = -1;
    int sm_count_ = 1;
    int max_smem_optin_ = 48 * 1024;
    bool switched_ = false;
};

// -------------------------------------------------------------- registry

enum Kernel { K_FFN = 0, K_HEAD_GRAM = 1, K_QK = 2, K_RANK = 3, K_COUNT = 4 };

// Variant names, shared by the registry (common.cu) and each kernel's dispatch, which
// selects by name (same_variant), never by index.
namespace variant {
inline constexpr char kNaive[] = "1_naive";
inline constexpr char kVecRows[] = "2_vec_rows";              // ffn_swiglu
inline constexpr char kTiledSmem[] = "2_tiled_smem";          // head_gram
inline constexpr char kWmma[] = "3_wmma";                     // head_gram, needs sm_80
inline constexpr char kBlockRow[] = "2_block_row";            // qk_neuron
inline constexpr char kGlobalScratch[] = "3_global_scratch";  // qk_neuron
inline constexpr char kCubSegsort[] = "2_cub_segsort";        // rank_update
}  // namespace variant

// Resolves `variant` (CUSPRUN_DEFAULT_VARIANT, or an index into the kernel's registered
// variants) to the variant's name; CUSPRUN_ERR_ARGUMENT when out of range.
int resolve_variant(Kernel kernel, int variant, const char **name);
bool same_variant(const char *a, const char *b);

// ------------------------------------------------------- dtypes
// (The argument checks are kernel_args.h's, shared with the CPU back end.)

const char *dtype_name(cusprun_dtype t);
inline int64_t dtype_size(cusprun_dtype t) {
    return t == CUSPRUN_F64 ? 8 : (t == CUSPRUN_F32 ? 4 : 2);
}

// Runs `f(ActTag)` with ActTag one of float, __nv_bfloat16, __half.
template <class Fn>
int with_act_type(cusprun_dtype t, Fn &&f) {
    switch (t) {
    case CUSPRUN_F32: return f(float{});
    case CUSPRUN_BF16: return f(__nv_bfloat16{});
    case CUSPRUN_F16: return f(__half{});
    default: return fail(CUSPRUN_ERR_ARGUMENT, "unsupported activation dtype %d", (int)t);
    }
}
// Runs `f(AccTag)` with AccTag one of float, double.
template <class Fn>
int with_acc_type(cusprun_dtype t, Fn &&f) {
    switch (t) {
    case CUSPRUN_F32: return f(float{});
    case CUSPRUN_F64: return f(double{});
    default: return fail(CUSPRUN_ERR_ARGUMENT, "unsupported accumulator dtype %d", (int)t);
    }
}

inline cudaStream_t as_stream(void *s) { return static_cast<cudaStream_t>(s); }
inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ------------------------------------------------------- device helpers

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) {
    return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half from_f<__half>(float x) {
    return __float2half_rn(x);
}

// Document offsets are trusted to be ascending (they live on the device and are
// not checked); clamping keeps a bad table from reading or writing out of bounds.
__device__ __forceinline__ int64_t doc_off(const int64_t *off, int64_t i, int64_t T) {
    int64_t v = off[i];
    return v < 0 ? 0 : (v > T ? T : v);
}

// Largest i in [0, n_docs) with off[i] <= t: the document that owns row t.
__device__ __forceinline__ int64_t find_doc(const int64_t *off, int64_t n_docs, int64_t t,
                                            int64_t T) {
    int64_t lo = 0, hi = n_docs - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (doc_off(off, mid, T) <= t) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

}  // namespace cusprun_cuda
