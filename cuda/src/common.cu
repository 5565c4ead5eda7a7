// Errors, device selection and the variant registry of libcusprun_cuda.
#include "common.cuh"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace cusprun_cuda {

namespace {
thread_local char g_last_error[512] = "";

struct KernelVariants {
    const char *kernel;
    const char *const *names;
    int count;
    int default_variant;
};

// Variant lists: index 0 is always the plain reference ("1_naive").
const char *const kFfn[] = {"1_naive", "2_vec_rows"};
const char *const kHeadGram[] = {"1_naive", "2_tiled_smem", "3_wmma"};
const char *const kQk[] = {"1_naive", "2_block_row"};
const char *const kRank[] = {"1_naive", "2_cub_segsort"};

const KernelVariants kRegistry[K_COUNT] = {
    {"ffn_swiglu", kFfn, 2, 1},
    {"head_gram", kHeadGram, 3, 2},
    {"qk_neuron", kQk, 2, 1},
    {"rank_update", kRank, 2, 1},
};

const KernelVariants *find_kernel(const char *name) {
    if (name == nullptr) return nullptr;
    for (const KernelVariants &k : kRegistry)
        if (std::strcmp(k.kernel, name) == 0) return &k;
    return nullptr;
}
}  // namespace

int fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    va_end(ap);
    return code;
}

int cuda_fail(cudaError_t err, const char *what) {
    int code = err == cudaErrorMemoryAllocation ? CUSPRUN_ERR_MEMORY : CUSPRUN_ERR_CUDA;
    return fail(code, "CUDA error in %s: %s (%s)", what, cudaGetErrorString(err),
                cudaGetErrorName(err));
}

void clear_error() { g_last_error[0] = '\0'; }

const char *dtype_name(cusprun_dtype t) {
    switch (t) {
    case CUSPRUN_F32: return "f32";
    case CUSPRUN_BF16: return "bf16";
    case CUSPRUN_F16: return "f16";
    case CUSPRUN_F64: return "f64";
    default: return "?";
    }
}

int resolve_variant(Kernel kernel, int variant, int *resolved) {
    const KernelVariants &k = kRegistry[kernel];
    if (variant == CUSPRUN_DEFAULT_VARIANT) {
        *resolved = k.default_variant;
        return CUSPRUN_OK;
    }
    if (variant < 0 || variant >= k.count)
        return fail(CUSPRUN_ERR_ARGUMENT, "%s: CUDA variant %d out of range [0, %d)", k.kernel,
                    variant, k.count);
    *resolved = variant;
    return CUSPRUN_OK;
}

DeviceGuard::~DeviceGuard() {
    if (switched_) cudaSetDevice(prev_);
}

int DeviceGuard::enter(int device) {
    if (device < 0)
        return fail(CUSPRUN_ERR_ARGUMENT, "CUDA back end called with device %d (< 0)", device);
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return fail(CUSPRUN_ERR_NO_CUDA, "no usable CUDA device: %s", cudaGetErrorString(e));
    }
    if (count == 0) return fail(CUSPRUN_ERR_NO_CUDA, "no CUDA device present");
    if (device >= count)
        return fail(CUSPRUN_ERR_NO_CUDA, "CUDA device %d not present (%d usable)", device, count);
    CUSPRUN_CU(cudaGetDevice(&prev_));
    if (prev_ != device) {
        CUSPRUN_CU(cudaSetDevice(device));
        switched_ = true;
    }
    device_ = device;
    CUSPRUN_CU(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device));
    CUSPRUN_CU(
        cudaDeviceGetAttribute(&max_smem_optin_, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    return CUSPRUN_OK;
}

}  // namespace cusprun_cuda

// ----------------------------------------------------------------- exports

using namespace cusprun_cuda;

extern "C" int cusprun_cuda_api_version(void) { return CUSPRUN_API_VERSION; }

extern "C" const char *cusprun_cuda_last_error(void) { return g_last_error; }

extern "C" int cusprun_cuda_device_count_impl(void) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // not sticky: clear it
        return 0;
    }
    return count;
}

extern "C" int cusprun_cuda_variant_count(const char *kernel) {
    const KernelVariants *k = find_kernel(kernel);
    return k ? k->count : 0;
}

extern "C" const char *cusprun_cuda_variant_name(const char *kernel, int variant) {
    const KernelVariants *k = find_kernel(kernel);
    if (k == nullptr || variant < 0 || variant >= k->count) return nullptr;
    return k->names[variant];
}

extern "C" int cusprun_cuda_variant_default(const char *kernel) {
    const KernelVariants *k = find_kernel(kernel);
    return k ? k->default_variant : -1;
}
