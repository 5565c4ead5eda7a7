// Errors, the devices (queried once per process) and the variant registry of
// libcusprun_cuda (built once per process from typed tables; a variant whose device code
// this build cannot run on a visible device is not registered).
#include "common.cuh"
#include "cusprun_cuda_archs.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <vector>

namespace cusprun_cuda {

namespace {
thread_local char g_last_error[512] = "";

// ------------------------------------------------------------ devices

struct DeviceInfo {
    cudaError_t error = cudaSuccess;  // of the attribute queries
    int arch = 0;                     // compute capability, major * 10 + minor
    int sm_count = 1;
    int max_smem_optin = 48 * 1024;
};

struct Devices {
    cudaError_t error = cudaSuccess;  // of cudaGetDeviceCount
    std::vector<DeviceInfo> info;
};

// The visible devices and their attributes, queried on first use: CUDA fixes them for
// the life of the process. No context is created here.
const Devices &devices() {
    static const Devices all = [] {
        Devices d;
        int count = 0;
        d.error = cudaGetDeviceCount(&count);
        if (d.error != cudaSuccess) {
            cudaGetLastError();  // not sticky: clear it
            return d;
        }
        d.info.resize(count);
        for (int i = 0; i < count; ++i) {
            DeviceInfo &x = d.info[i];
            int major = 0, minor = 0;
            cudaError_t e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, i);
            if (e == cudaSuccess)
                e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, i);
            if (e == cudaSuccess)
                e = cudaDeviceGetAttribute(&x.sm_count, cudaDevAttrMultiProcessorCount, i);
            if (e == cudaSuccess)
                e = cudaDeviceGetAttribute(&x.max_smem_optin,
                                           cudaDevAttrMaxSharedMemoryPerBlockOptin, i);
            x.error = e;
            x.arch = major * 10 + minor;
            if (e != cudaSuccess) cudaGetLastError();
        }
        return d;
    }();
    return all;
}

// ------------------------------------------------------------ registry

// The architectures this library was built for (CMake passes CMAKE_CUDA_ARCHITECTURES;
// the leading 0 only keeps an empty list valid C++).
#ifdef CUSPRUN_CUDA_REAL_ARCHS
const int kRealArchs[] = {0, CUSPRUN_CUDA_REAL_ARCHS};
const int kVirtualArchs[] = {0, CUSPRUN_CUDA_VIRTUAL_ARCHS};
#endif

// The __CUDA_ARCH__ this library's device code runs at on a device of compute capability
// `arch`: the newest real architecture built that the device runs (same major, not newer),
// else the newest PTX built that it can compile (not newer); 0 when there is none. A build
// whose architecture list CMake could not parse ("native", "all") is taken to cover the
// device.
int built_arch_for(int arch) {
#ifdef CUSPRUN_CUDA_REAL_ARCHS
    int best = 0;
    for (int a : kRealArchs)
        if (a > 0 && a / 10 == arch / 10 && a <= arch && a > best) best = a;
    if (best > 0) return best;
    for (int a : kVirtualArchs)
        if (a > 0 && a <= arch && a > best) best = a;
    return best;
#else
    return arch;
#endif
}

// The newest architecture built, for a process that sees no device.
int newest_built_arch() {
#ifdef CUSPRUN_CUDA_REAL_ARCHS
    int best = 0;
    for (int a : kRealArchs) best = a > best ? a : best;
    for (int a : kVirtualArchs) best = a > best ? a : best;
    return best;
#else
    return 1000;
#endif
}

// One variant: its name, the oldest __CUDA_ARCH__ its device code needs (0: any), and its
// rank as the default (the registered variant with the highest is the default).
struct VariantSpec {
    const char *name;
    int min_arch;
    int preference;
};

struct KernelTable {
    const char *kernel;
    const VariantSpec *variants;
    int count;
};
template <size_t N>
constexpr KernelTable table(const char *kernel, const VariantSpec (&variants)[N]) {
    return {kernel, variants, (int)N};
}

// Reference first, then the variants that were measured faster (cuda/README.md).
using namespace variant;
const VariantSpec kFfn[] = {{kNaive, 0, 0}, {kVecRows, 0, 1}};
const VariantSpec kHeadGram[] = {{kNaive, 0, 0}, {kTiledSmem, 0, 1}, {kWmma, 80, 2}};
const VariantSpec kQk[] = {{kNaive, 0, 0}, {kBlockRow, 0, 2}, {kGlobalScratch, 0, 1}};
const VariantSpec kRank[] = {{kNaive, 0, 0}, {kCubSegsort, 0, 1}};
const KernelTable kTables[] = {table("ffn_swiglu", kFfn), table("head_gram", kHeadGram),
                               table("qk_neuron", kQk), table("rank_update", kRank)};
static_assert(std::size(kTables) == K_COUNT, "one table per kernel, in Kernel order");

// What the registry answers: per kernel, the variants whose code runs on every visible
// device (or, without a device, that some architecture built can run), and the default.
struct Registered {
    const char *kernel;
    std::vector<const char *> names;
    int default_variant = 0;
};

const std::vector<Registered> &registry() {
    static const std::vector<Registered> all = [] {
        const Devices &devs = devices();
        std::vector<Registered> out;
        for (const KernelTable &t : kTables) {
            Registered r{t.kernel, {}, 0};
            int best = -1;
            for (int i = 0; i < t.count; ++i) {
                const VariantSpec &v = t.variants[i];
                bool runs = devs.info.empty() ? newest_built_arch() >= v.min_arch : true;
                for (const DeviceInfo &d : devs.info)
                    runs = runs && built_arch_for(d.arch) >= v.min_arch;
                if (!runs) continue;
                if (v.preference > best) {
                    best = v.preference;
                    r.default_variant = (int)r.names.size();
                }
                r.names.push_back(v.name);
            }
            out.push_back(r);
        }
        return out;
    }();
    return all;
}

const Registered *find_kernel(const char *name) {
    if (name == nullptr) return nullptr;
    for (const Registered &k : registry())
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

int resolve_variant(Kernel kernel, int variant, const char **name) {
    const Registered &k = registry()[kernel];
    if (variant == CUSPRUN_DEFAULT_VARIANT) variant = k.default_variant;
    const int count = (int)k.names.size();
    if (variant < 0 || variant >= count)
        return fail(CUSPRUN_ERR_ARGUMENT, "%s: CUDA variant %d out of range [0, %d)", k.kernel,
                    variant, count);
    *name = k.names[variant];
    return CUSPRUN_OK;
}

bool same_variant(const char *a, const char *b) { return std::strcmp(a, b) == 0; }

DeviceGuard::~DeviceGuard() {
    if (switched_) cudaSetDevice(prev_);
}

int DeviceGuard::enter(int device) {
    if (device < 0)
        return fail(CUSPRUN_ERR_ARGUMENT, "CUDA back end called with device %d (< 0)", device);
    const Devices &all = devices();
    if (all.error != cudaSuccess)
        return fail(CUSPRUN_ERR_NO_CUDA, "no usable CUDA device: %s",
                    cudaGetErrorString(all.error));
    const int count = (int)all.info.size();
    if (count == 0) return fail(CUSPRUN_ERR_NO_CUDA, "no CUDA device present");
    if (device >= count)
        return fail(CUSPRUN_ERR_NO_CUDA, "CUDA device %d not present (%d usable)", device, count);
    const DeviceInfo &info = all.info[device];
    if (info.error != cudaSuccess) return cuda_fail(info.error, "cudaDeviceGetAttribute");
    CUSPRUN_CU(cudaGetDevice(&prev_));
    if (prev_ != device) {
        CUSPRUN_CU(cudaSetDevice(device));
        switched_ = true;
    }
    device_ = device;
    sm_count_ = info.sm_count;
    max_smem_optin_ = info.max_smem_optin;
    return CUSPRUN_OK;
}

}  // namespace cusprun_cuda

// ----------------------------------------------------------------- exports

using namespace cusprun_cuda;

extern "C" int cusprun_cuda_api_version(void) { return CUSPRUN_API_VERSION; }

extern "C" const char *cusprun_cuda_last_error(void) { return g_last_error; }

extern "C" int cusprun_cuda_device_count_impl(void) { return (int)devices().info.size(); }

extern "C" int cusprun_cuda_variant_count(const char *kernel) {
    const Registered *k = find_kernel(kernel);
    return k ? (int)k->names.size() : 0;
}

extern "C" const char *cusprun_cuda_variant_name(const char *kernel, int variant) {
    const Registered *k = find_kernel(kernel);
    if (k == nullptr || variant < 0 || variant >= (int)k->names.size()) return nullptr;
    return k->names[variant];
}

extern "C" int cusprun_cuda_variant_default(const char *kernel) {
    const Registered *k = find_kernel(kernel);
    return k ? k->default_variant : -1;
}
