// The C API of cusprun.h: argument checks, the variant registry, and dispatch to a
// CPU variant (device < 0) or to the CUDA back end through cuda_api() (device >= 0).
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <iterator>
#include <new>

#include "cuda_loader.h"
#include "internal.h"
#include "kernel_args.h"

using namespace cusprun;

namespace {

const char *const kKernels[] = {"ffn_swiglu", "head_gram", "qk_neuron", "rank_update"};
enum { K_FFN, K_GRAM, K_QK, K_RANK, K_COUNT };

// One typed table per kernel: the variants are declared through the kernel's type.
template <typename Fn>
struct Variant {
    const char *name;
    Fn *fn;
};
const Variant<cusprun_ffn_swiglu_fn> kFfn[] = {{"1_naive", &ffn_naive},
                                               {"2_omp_simd", &ffn_omp_simd}};
const Variant<cusprun_head_gram_fn> kGram[] = {{"1_naive", &gram_naive},
                                               {"2_omp_simd", &gram_omp_simd},
                                               {"3_blocked", &gram_blocked}};
const Variant<cusprun_qk_neuron_fn> kQk[] = {{"1_naive", &qk_naive}, {"2_omp_simd", &qk_omp_simd}};
const Variant<cusprun_rank_update_fn> kRank[] = {{"1_naive", &rank_naive},
                                                 {"2_omp_simd", &rank_omp_simd}};

// What the registry needs of a table, whatever its kernel type.
struct VariantList {
    int n;
    int def;  // the fastest on CPUs measured (benchmarks/README.md)
    const char *(*name)(int);
};
template <const auto &table>
constexpr VariantList listing(int def) {
    return {(int)std::size(table), def, [](int i) { return table[i].name; }};
}
const VariantList kCpu[K_COUNT] = {listing<kFfn>(1), listing<kGram>(2), listing<kQk>(1),
                                   listing<kRank>(1)};

int kernel_index(const char *kernel) {
    if (!kernel) return -1;
    for (int i = 0; i < K_COUNT; ++i)
        if (strcmp(kernel, kKernels[i]) == 0) return i;
    return -1;
}

// Each failure is one line naming the function and value. The kernels' own checks are
// kernel_args.h's, shared with the CUDA back end.
#define REQUIRE(cond, ...)                                           \
    do {                                                             \
        if (!(cond)) return fail(CUSPRUN_ERR_ARGUMENT, __VA_ARGS__); \
    } while (0)

// Resolves `variant` for the back end; on CUDA also loads the table and checks the device.
int resolve(const char *fn, int device, int kernel, int *variant, const CudaApi **api) {
    int n, def;
    if (device < 0) {
        n = kCpu[kernel].n;
        def = kCpu[kernel].def;
    } else {
        *api = cuda_api();
        if (!*api) return CUSPRUN_ERR_NO_CUDA;  // message set by cuda_api()
        int count = (*api)->devices;
        if (device >= count)
            return fail(CUSPRUN_ERR_NO_CUDA, "%s: CUDA device %d not present (%d usable)", fn,
                        device, count);
        n = (*api)->variant_count(kKernels[kernel]);
        def = (*api)->variant_default(kKernels[kernel]);
    }
    if (*variant == CUSPRUN_DEFAULT_VARIANT) *variant = def;
    REQUIRE(*variant >= 0 && *variant < n, "%s: unknown variant %d (%s back end has %d)", fn,
            *variant, device < 0 ? "CPU" : "CUDA", n);
    return CUSPRUN_OK;
}

int from_cuda(int rc, const CudaApi *api) {
    if (rc != CUSPRUN_OK) set_error_text(api->last_error());
    return rc;
}

// CPU variants may allocate with std::vector outside their OpenMP regions.
template <typename F>
int guarded(const char *fn, F &&f) {
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return fail(CUSPRUN_ERR_MEMORY, "%s: out of memory", fn);
    } catch (...) {
        return fail(CUSPRUN_ERR_ARGUMENT, "%s: unexpected internal error", fn);
    }
}

}  // namespace

extern "C" {

int cusprun_api_version(void) { return CUSPRUN_API_VERSION; }

int cusprun_kernel_count(void) { return K_COUNT; }

const char *cusprun_kernel_name(int kernel) {
    return kernel >= 0 && kernel < K_COUNT ? kKernels[kernel] : nullptr;
}

int cusprun_variant_count(int backend, const char *kernel) {
    int k = kernel_index(kernel);
    if (k < 0) return 0;
    if (backend == CUSPRUN_BACKEND_CPU) return kCpu[k].n;
    if (backend == CUSPRUN_BACKEND_CUDA) {
        const CudaApi *api = cuda_api();
        return api ? api->variant_count(kernel) : 0;
    }
    return 0;
}

const char *cusprun_variant_name(int backend, const char *kernel, int variant) {
    int k = kernel_index(kernel);
    if (k < 0 || variant < 0) return nullptr;
    if (backend == CUSPRUN_BACKEND_CPU)
        return variant < kCpu[k].n ? kCpu[k].name(variant) : nullptr;
    if (backend == CUSPRUN_BACKEND_CUDA) {
        const CudaApi *api = cuda_api();
        return api ? api->variant_name(kernel, variant) : nullptr;
    }
    return nullptr;
}

int cusprun_variant_find(int backend, const char *kernel, const char *name) {
    if (!name || !*name) return -1;
    bool digits = true;
    for (const char *c = name; *c; ++c) digits = digits && isdigit((unsigned char)*c);
    const size_t len = strlen(name);
    int n = cusprun_variant_count(backend, kernel);
    for (int i = 0; i < n; ++i) {
        const char *v = cusprun_variant_name(backend, kernel, i);
        if (!v) continue;
        if (strcmp(v, name) == 0) return i;
        if (digits && strncmp(v, name, len) == 0 && v[len] == '_') return i;  // "2" -> "2_..."
    }
    return -1;
}

int cusprun_variant_default(int backend, const char *kernel) {
    int k = kernel_index(kernel);
    if (k < 0) return -1;
    if (backend == CUSPRUN_BACKEND_CPU) return kCpu[k].def;
    if (backend == CUSPRUN_BACKEND_CUDA) {
        const CudaApi *api = cuda_api();
        return api ? api->variant_default(kernel) : -1;
    }
    return -1;
}

int cusprun_ffn_swiglu(int device, int variant, void *stream, cusprun_dtype act_dtype,
                       const void *gate, const void *up, int64_t in_stride, void *act_out,
                       int64_t T, int64_t F, const int64_t *doc_offsets, int64_t n_docs,
                       cusprun_dtype acc_dtype, void *acc) {
    const char *fn = "cusprun_ffn_swiglu";
    if (int rc = cusprun_args::ffn_swiglu(fail, fn, act_dtype, gate, up, in_stride, act_out, T, F,
                                          doc_offsets, n_docs, acc_dtype, acc))
        return rc;
    const CudaApi *api = nullptr;
    int rc = resolve(fn, device, K_FFN, &variant, &api);
    if (rc) return rc;
    if (device >= 0)
        return from_cuda(api->ffn_swiglu(device, variant, stream, act_dtype, gate, up, in_stride,
                                         act_out, T, F, doc_offsets, n_docs, acc_dtype, acc),
                         api);
    if (acc && (rc = cusprun_args::check_doc_offsets(fail, fn, doc_offsets, n_docs, T))) return rc;
    if (T == 0 || F == 0) return CUSPRUN_OK;
    auto *f = kFfn[variant].fn;
    return guarded(fn, [&] {
        return f(device, variant, stream, act_dtype, gate, up, in_stride, act_out, T, F,
                 doc_offsets, n_docs, acc_dtype, acc);
    });
}

int cusprun_head_gram(int device, int variant, void *stream, cusprun_dtype act_dtype, const void *z,
                      int64_t T, int64_t H, int64_t d, int64_t group_size,
                      const int64_t *doc_offsets, int64_t n_docs, cusprun_dtype acc_dtype,
                      void *gram) {
    const char *fn = "cusprun_head_gram";
    if (int rc = cusprun_args::head_gram(fail, fn, act_dtype, z, T, H, d, group_size, doc_offsets,
                                         n_docs, acc_dtype, gram))
        return rc;
    const CudaApi *api = nullptr;
    int rc = resolve(fn, device, K_GRAM, &variant, &api);
    if (rc) return rc;
    if (device >= 0)
        return from_cuda(api->head_gram(device, variant, stream, act_dtype, z, T, H, d, group_size,
                                        doc_offsets, n_docs, acc_dtype, gram),
                         api);
    if ((rc = cusprun_args::check_doc_offsets(fail, fn, doc_offsets, n_docs, T))) return rc;
    if (T == 0) return CUSPRUN_OK;
    auto *f = kGram[variant].fn;
    return guarded(fn, [&] {
        return f(device, variant, stream, act_dtype, z, T, H, d, group_size, doc_offsets, n_docs,
                 acc_dtype, gram);
    });
}

int cusprun_qk_neuron(int device, int variant, void *stream, cusprun_dtype act_dtype, const void *q,
                      const void *k, int64_t T, int64_t H, int64_t Hkv, int64_t d, float scale,
                      int rope_pairs, const int64_t *doc_offsets, int64_t n_docs,
                      cusprun_dtype acc_dtype, void *acc) {
    const char *fn = "cusprun_qk_neuron";
    if (int rc = cusprun_args::qk_neuron(fail, fn, act_dtype, q, k, T, H, Hkv, d, scale, rope_pairs,
                                         doc_offsets, n_docs, acc_dtype, acc))
        return rc;
    const CudaApi *api = nullptr;
    int rc = resolve(fn, device, K_QK, &variant, &api);
    if (rc) return rc;
    if (device >= 0)
        return from_cuda(api->qk_neuron(device, variant, stream, act_dtype, q, k, T, H, Hkv, d,
                                        scale, rope_pairs, doc_offsets, n_docs, acc_dtype, acc),
                         api);
    if ((rc = cusprun_args::check_doc_offsets(fail, fn, doc_offsets, n_docs, T))) return rc;
    if (T == 0) return CUSPRUN_OK;
    auto *f = kQk[variant].fn;
    return guarded(fn, [&] {
        return f(device, variant, stream, act_dtype, q, k, T, H, Hkv, d, scale, rope_pairs,
                 doc_offsets, n_docs, acc_dtype, acc);
    });
}

int cusprun_rank_update(int device, int variant, void *stream, cusprun_dtype rel_dtype,
                        const void *relevance, int64_t n_docs, int64_t N, float *rank_max,
                        int32_t *rank_hist, int64_t n_bins, int64_t *relevance_sum) {
    const char *fn = "cusprun_rank_update";
    if (int rc = cusprun_args::rank_update(fail, fn, rel_dtype, relevance, n_docs, N, rank_max,
                                           rank_hist, n_bins, relevance_sum))
        return rc;
    const CudaApi *api = nullptr;
    int rc = resolve(fn, device, K_RANK, &variant, &api);
    if (rc) return rc;
    if (device >= 0)
        return from_cuda(api->rank_update(device, variant, stream, rel_dtype, relevance, n_docs, N,
                                          rank_max, rank_hist, n_bins, relevance_sum),
                         api);
    if ((rc = cusprun_args::check_relevance_range(fail, fn, rel_dtype, relevance, n_docs, N)))
        return rc;
    if (n_docs == 0 || N == 0) return CUSPRUN_OK;
    auto *f = kRank[variant].fn;
    return guarded(fn, [&] {
        return f(device, variant, stream, rel_dtype, relevance, n_docs, N, rank_max, rank_hist,
                 n_bins, relevance_sum);
    });
}

}  // extern "C"
