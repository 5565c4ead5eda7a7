// Finds and opens libcusprun_cuda.so at run time (never linked), so libcusprun.so
// loads on machines without CUDA. Default location: beside libcusprun.so itself.
#include "cuda_loader.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <string>

#include "internal.h"

namespace cusprun {
namespace {

// Loading happens once, under g_mu; afterwards every kernel call reads g_ready without a lock.
std::mutex g_mu;
CudaApi g_api;
std::atomic<const CudaApi *> g_ready{nullptr};
bool g_loaded = false;
bool g_default_tried = false;
std::string g_default_failure;  // why the default location did not work
std::string g_loaded_from;

std::string default_path() {
    Dl_info info;
    if (dladdr((void *)&cusprun_cuda_load, &info) && info.dli_fname) {
        std::string self = info.dli_fname;
        size_t slash = self.rfind('/');
        return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) +
               "/libcusprun_cuda.so";
    }
    return "libcusprun_cuda.so";
}

// Opens `path` and resolves every entry of the table; on failure says why.
bool load_from(const std::string &path, std::string &why) {
    void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        why = "cannot open " + path + ": " + (e ? e : "unknown error");
        return false;
    }
    // The version first: a library of another version may lack or change any other symbol.
    auto version = (decltype(&cusprun_cuda_api_version))dlsym(h, "cusprun_cuda_api_version");
    if (!version) {
        why = "libcusprun_cuda.so at " + path +
              " has no API version (missing symbol cusprun_cuda_api_version), libcusprun.so has " +
              std::to_string(CUSPRUN_API_VERSION);
        dlclose(h);
        return false;
    }
    if (int v = version(); v != CUSPRUN_API_VERSION) {
        why = "libcusprun_cuda.so at " + path + " has API version " + std::to_string(v) +
              ", libcusprun.so has " + std::to_string(CUSPRUN_API_VERSION);
        dlclose(h);
        return false;
    }
    CudaApi api;
#define CP_SYM(field, name)                          \
    api.field = (decltype(api.field))dlsym(h, name); \
    if (!api.field) {                                \
        why = path + ": missing symbol " name;       \
        dlclose(h);                                  \
        return false;                                \
    }
    CP_SYM(last_error, "cusprun_cuda_last_error")
    CP_SYM(device_count, "cusprun_cuda_device_count_impl")
    CP_SYM(variant_count, "cusprun_cuda_variant_count")
    CP_SYM(variant_name, "cusprun_cuda_variant_name")
    CP_SYM(variant_default, "cusprun_cuda_variant_default")
    CP_SYM(ffn_swiglu, "cusprun_cuda_ffn_swiglu")
    CP_SYM(head_gram, "cusprun_cuda_head_gram")
    CP_SYM(qk_neuron, "cusprun_cuda_qk_neuron")
    CP_SYM(rank_update, "cusprun_cuda_rank_update")
#undef CP_SYM
    // CUDA fixes the visible devices for the life of the process: counted once, here.
    api.devices = api.device_count();
    g_api = api;
    g_loaded = true;
    g_loaded_from = path;
    g_ready.store(&g_api, std::memory_order_release);
    return true;  // the handle stays open for the life of the process
}

// Caller holds g_mu.
bool load_default_locked() {
    if (g_loaded) return true;
    if (!g_default_tried) {
        g_default_tried = true;
        std::string why;
        if (!load_from(default_path(), why)) g_default_failure = why;
    }
    return g_loaded;
}

}  // namespace

const CudaApi *cuda_api() {
    if (const CudaApi *api = g_ready.load(std::memory_order_acquire)) return api;
    std::lock_guard<std::mutex> lock(g_mu);
    if (load_default_locked()) return &g_api;
    fail(CUSPRUN_ERR_NO_CUDA, "CUDA back end not available: %s", g_default_failure.c_str());
    return nullptr;
}

}  // namespace cusprun

using namespace cusprun;

extern "C" int cusprun_cuda_load(const char *library_path) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_loaded) {
        if (library_path) {
            std::string why;
            if (!load_from(library_path, why))
                return fail(CUSPRUN_ERR_NO_CUDA, "CUDA back end not available: %s", why.c_str());
        } else if (!load_default_locked()) {
            return fail(CUSPRUN_ERR_NO_CUDA, "CUDA back end not available: %s",
                        g_default_failure.c_str());
        }
    }
    int n = g_api.devices;
    if (n <= 0)
        return fail(CUSPRUN_ERR_NO_CUDA,
                    "CUDA back end loaded from %s but no CUDA device is usable%s%s",
                    g_loaded_from.c_str(), g_api.last_error() && *g_api.last_error() ? ": " : "",
                    g_api.last_error() ? g_api.last_error() : "");
    return CUSPRUN_OK;
}

extern "C" int cusprun_cuda_device_count(void) {
    const CudaApi *api = g_ready.load(std::memory_order_acquire);
    if (!api) {
        std::lock_guard<std::mutex> lock(g_mu);
        if (!load_default_locked()) return 0;
        api = &g_api;
    }
    return api->devices > 0 ? api->devices : 0;
}
