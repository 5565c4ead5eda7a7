// Host helpers shared by the CUDA test and benchmark programs.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cusprun.h"
#include "cusprun_cuda.h"

// CUSPRUN_TEST_HOST_MOCK: a host-only build of the test harness (g++, no GPU) in
// which the CPU back end's variants stand in for the CUDA ones and "device"
// memory is host memory. It checks the harness itself (inputs, offsets, the
// comparisons, the tolerances) on machines without a GPU; see cuda/README.md.
#ifdef CUSPRUN_TEST_HOST_MOCK
#define cusprun_cuda_variant_count(k) cusprun_variant_count(CUSPRUN_BACKEND_CPU, k)
#define cusprun_cuda_variant_name(k, v) cusprun_variant_name(CUSPRUN_BACKEND_CPU, k, v)
#define cusprun_cuda_variant_default(k) cusprun_variant_default(CUSPRUN_BACKEND_CPU, k)
#define cusprun_cuda_last_error cusprun_last_error
#define cusprun_cuda_device_count_impl() 1
#define cusprun_cuda_ffn_swiglu(dev, ...) cusprun_ffn_swiglu(-1, __VA_ARGS__)
#define cusprun_cuda_head_gram(dev, ...) cusprun_head_gram(-1, __VA_ARGS__)
#define cusprun_cuda_qk_neuron(dev, ...) cusprun_qk_neuron(-1, __VA_ARGS__)
#define cusprun_cuda_rank_update(dev, ...) cusprun_rank_update(-1, __VA_ARGS__)
#endif

#define CHECK_CUDA(call)                                                       \
    do {                                                                       \
        cudaError_t e_ = (call);                                               \
        if (e_ != cudaSuccess) {                                               \
            std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, \
                         cudaGetErrorString(e_));                              \
            std::exit(2);                                                      \
        }                                                                      \
    } while (0)

namespace tu {

constexpr int kSkip = 77;

// Exits 77 (ctest: skipped) when no CUDA device is usable.
inline void require_device(const char *program) {
#ifdef CUSPRUN_TEST_HOST_MOCK
    std::printf("%s: HOST MOCK build: CPU variants stand in for CUDA ones\n", program);
    return;
#endif
    int n = cusprun_cuda_device_count_impl();
    if (n <= 0) {
        std::printf("%s: no CUDA device found, SKIP\n", program);
        std::fflush(stdout);
        std::exit(kSkip);
    }
    cudaDeviceProp p{};
    CHECK_CUDA(cudaGetDeviceProperties(&p, 0));
    std::printf("%s: device 0 = %s (sm_%d%d, %d SMs, %.1f GiB)\n", program, p.name, p.major,
                p.minor, p.multiProcessorCount, p.totalGlobalMem / 1073741824.0);
}

// Rounding allowance of an accumulator of this dtype (relative to its value):
// up to ~64 rounding steps of its precision.
inline double acc_eps(cusprun_dtype t) { return t == CUSPRUN_F64 ? 1e-13 : 64 * 1.2e-7; }

inline const char *dtype_name(cusprun_dtype t) {
    switch (t) {
    case CUSPRUN_F32: return "f32";
    case CUSPRUN_BF16: return "bf16";
    case CUSPRUN_F16: return "f16";
    case CUSPRUN_F64: return "f64";
    }
    return "?";
}
inline size_t dtype_size(cusprun_dtype t) {
    return t == CUSPRUN_F64 ? 8 : (t == CUSPRUN_F32 ? 4 : 2);
}

// Host array of one dtype, kept as raw bytes, with float/double views.
struct HostArray {
    cusprun_dtype dtype = CUSPRUN_F32;
    size_t n = 0;
    std::vector<unsigned char> bytes;

    HostArray() = default;
    HostArray(cusprun_dtype t, size_t count) : dtype(t), n(count), bytes(count * dtype_size(t)) {}
    void *data() { return bytes.data(); }
    const void *data() const { return bytes.data(); }
    size_t size_bytes() const { return bytes.size(); }

    double get(size_t i) const {
        switch (dtype) {
        case CUSPRUN_F32: {
            float v;
            std::memcpy(&v, &bytes[i * 4], 4);
            return v;
        }
        case CUSPRUN_F64: {
            double v;
            std::memcpy(&v, &bytes[i * 8], 8);
            return v;
        }
        case CUSPRUN_BF16: {
            __nv_bfloat16 v;
            std::memcpy(&v, &bytes[i * 2], 2);
            return (double)__bfloat162float(v);
        }
        case CUSPRUN_F16: {
            __half v;
            std::memcpy(&v, &bytes[i * 2], 2);
            return (double)__half2float(v);
        }
        }
        return 0.0;
    }
    void set(size_t i, double x) {
        switch (dtype) {
        case CUSPRUN_F32: {
            float v = (float)x;
            std::memcpy(&bytes[i * 4], &v, 4);
            break;
        }
        case CUSPRUN_F64: {
            std::memcpy(&bytes[i * 8], &x, 8);
            break;
        }
        case CUSPRUN_BF16: {
            __nv_bfloat16 v = __float2bfloat16_rn((float)x);
            std::memcpy(&bytes[i * 2], &v, 2);
            break;
        }
        case CUSPRUN_F16: {
            __half v = __float2half_rn((float)x);
            std::memcpy(&bytes[i * 2], &v, 2);
            break;
        }
        }
    }
    std::vector<double> to_double() const {
        std::vector<double> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = get(i);
        return v;
    }
};

// Device memory and stream operations (host memory in the mock build).
#ifdef CUSPRUN_TEST_HOST_MOCK
inline void *dev_alloc(size_t b) { return std::malloc(b ? b : 1); }
inline void dev_free(void *p) { std::free(p); }
inline void dev_memset(void *p, int v, size_t b) { std::memset(p, v, b); }
inline void h2d(void *d, const void *h, size_t b) { std::memcpy(d, h, b); }
inline void d2h(void *h, const void *d, size_t b) { std::memcpy(h, d, b); }
inline cudaStream_t stream_create() { return nullptr; }
inline void stream_destroy(cudaStream_t) {}
inline std::string stream_sync(cudaStream_t) { return ""; }
#else
inline void *dev_alloc(size_t b) {
    void *p = nullptr;
    CHECK_CUDA(cudaMalloc(&p, b ? b : 1));
    return p;
}
inline void dev_free(void *p) { cudaFree(p); }
inline void dev_memset(void *p, int v, size_t b) { CHECK_CUDA(cudaMemset(p, v, b)); }
inline void h2d(void *d, const void *h, size_t b) {
    CHECK_CUDA(cudaMemcpy(d, h, b, cudaMemcpyHostToDevice));
}
inline void d2h(void *h, const void *d, size_t b) {
    CHECK_CUDA(cudaMemcpy(h, d, b, cudaMemcpyDeviceToHost));
}
inline cudaStream_t stream_create() {
    cudaStream_t s = nullptr;
    CHECK_CUDA(cudaSetDevice(0));
    CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
}
inline void stream_destroy(cudaStream_t s) { CHECK_CUDA(cudaStreamDestroy(s)); }
// "" when the stream's work finished, else the CUDA error.
inline std::string stream_sync(cudaStream_t s) {
    cudaError_t e = cudaStreamSynchronize(s);
    return e == cudaSuccess ? "" : cudaGetErrorString(e);
}
#endif

// Device buffer (RAII).
struct DeviceBuffer {
    void *ptr = nullptr;
    size_t bytes = 0;
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t b) : ptr(dev_alloc(b)), bytes(b) {}
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer &operator=(const DeviceBuffer &) = delete;
    DeviceBuffer(DeviceBuffer &&o) noexcept : ptr(o.ptr), bytes(o.bytes) { o.ptr = nullptr; }
    ~DeviceBuffer() {
        if (ptr) dev_free(ptr);
    }
    template <typename T>
    T *as() const {
        return static_cast<T *>(ptr);
    }
    void upload(const void *src, size_t b) { h2d(ptr, src, b); }
    void download(void *dst, size_t b) const { d2h(dst, ptr, b); }
};

inline DeviceBuffer to_device(const HostArray &h) {
    DeviceBuffer d(h.size_bytes());
    d.upload(h.data(), h.size_bytes());
    return d;
}
template <typename T>
inline DeviceBuffer to_device(const std::vector<T> &h) {
    DeviceBuffer d(h.size() * sizeof(T));
    d.upload(h.data(), h.size() * sizeof(T));
    return d;
}

// Fills with uniform values in [lo, hi), rounded to the array's dtype.
inline void fill_uniform(HostArray &a, std::mt19937_64 &rng, double lo, double hi) {
    std::uniform_real_distribution<double> u(lo, hi);
    for (size_t i = 0; i < a.n; ++i) a.set(i, u(rng));
}
inline void fill_normal(HostArray &a, std::mt19937_64 &rng, double mean, double sd) {
    std::normal_distribution<double> nd(mean, sd);
    for (size_t i = 0; i < a.n; ++i) a.set(i, nd(rng));
}

// Offsets of n_docs uneven documents covering T rows (each >= 1 row when T >= n_docs);
// with empty_doc, document n_docs/2 has no rows.
inline std::vector<int64_t> uneven_offsets(int64_t T, int64_t n_docs, std::mt19937_64 &rng,
                                           bool empty_doc = false) {
    if (empty_doc && n_docs >= 2) {
        std::vector<int64_t> off = uneven_offsets(T, n_docs - 1, rng);
        off.insert(off.begin() + n_docs / 2, off[n_docs / 2]);
        return off;
    }
    std::vector<int64_t> off(n_docs + 1, 0);
    std::vector<double> w(n_docs);
    std::uniform_real_distribution<double> u(0.1, 1.0);
    double sum = 0;
    for (auto &x : w) {
        x = u(rng);
        x = x * x * x;
        sum += x;
    }
    int64_t left = T - n_docs;  // one row each, the rest by weight
    for (int64_t i = 0; i < n_docs; ++i) {
        int64_t extra = (i == n_docs - 1) ? left : (int64_t)std::floor(w[i] / sum * (T - n_docs));
        if (extra > left) extra = left;
        left -= extra;
        off[i + 1] = off[i] + 1 + extra;
    }
    off[n_docs] = T;
    return off;
}

// Compares a GPU result with the CPU reference. Accumulators are compared on
// what was added: err_i = |gpu - cpu| / max(|cpu - init|, floor * max_j |cpu_j - init_j|),
// which must be <= rtol, except that a further `value_eps * |cpu_i|` of absolute
// difference is allowed for the rounding of the accumulator itself (each of the
// several adds into an f32 accumulator rounds to its precision).
struct CompareResult {
    bool ok = true;
    double max_err = 0.0;
    size_t worst = 0;
    size_t bad = 0;
};

inline CompareResult compare(const std::vector<double> &cpu, const std::vector<double> &gpu,
                             const std::vector<double> *init, double rtol, double floor_frac,
                             double value_eps = 0.0) {
    CompareResult r;
    double scale = 0.0;
    for (size_t i = 0; i < cpu.size(); ++i)
        scale = std::fmax(scale, std::fabs(cpu[i] - (init ? (*init)[i] : 0.0)));
    const double fl = std::fmax(floor_frac * scale, 1e-30);
    for (size_t i = 0; i < cpu.size(); ++i) {
        const double delta = std::fabs(cpu[i] - (init ? (*init)[i] : 0.0));
        const double diff = std::fabs(gpu[i] - cpu[i]);
        double err = diff / std::fmax(delta, fl);
        bool pass = diff <= rtol * std::fmax(delta, fl) + value_eps * std::fabs(cpu[i]);
        if (std::isnan(gpu[i]) != std::isnan(cpu[i])) {
            err = INFINITY;
            pass = false;
        } else if (std::isnan(gpu[i])) {
            err = 0.0;
            pass = true;
        }
        if (err > r.max_err || std::isinf(err)) {
            r.max_err = err;
            r.worst = i;
        }
        if (!pass) {
            r.ok = false;
            ++r.bad;
        }
    }
    return r;
}

}  // namespace tu
