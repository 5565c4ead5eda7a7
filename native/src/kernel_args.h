// The argument check of each kernel, one per kernel for both back ends: api.cpp runs it
// before dispatching to a CPU variant or forwarding to the CUDA back end, and each CUDA
// entry (cusprun_cuda_*, cuda/src/*.cu) runs it again, since the CUDA test programs call
// those directly. Header-only so that g++ and nvcc compile the same text.
//
// What is checked where: these functions read only what the host can see whatever the
// back end (dtypes, sizes, scalars, which pointers are NULL). Array contents are host
// memory only on the CPU: there api.cpp also runs check_doc_offsets and
// check_relevance_range. On CUDA they are device memory and are not read by the host:
// the kernels clamp doc_offsets, so a bad table cannot read or write out of bounds (it
// gives wrong sums, not a crash), and rank_update scans relevance for values outside
// [0, 2^62) on the device before it touches the accumulators, refusing with the same
// message as the CPU.
#pragma once

#include <math.h>
#include <stdint.h>

#include "cusprun.h"

#ifdef __CUDACC__
#define CUSPRUN_HD __host__ __device__
#else
#define CUSPRUN_HD
#endif

namespace cusprun_args {

// ---- the exact relevance sum of rank_update (cusprun.h), shared by every variant ----

// Relevance rank_update accepts: [0, 2^62) (NaN compares false).
CUSPRUN_HD inline bool relevance_in_range(double v) { return v >= 0.0 && v < 0x1p62; }

// sum[2k] (integer part), sum[2k+1] (fraction, units of 2^-64) += v, exactly; v in range.
// v - trunc(v) and its scaling by 2^64 are exact; the cast cuts what lies below 2^-64.
CUSPRUN_HD inline void exact_add(int64_t *sum, int64_t k, double v) {
    const int64_t ip = (int64_t)v;
    const uint64_t frac = (uint64_t)((v - (double)ip) * 0x1p64);
    const uint64_t lo = (uint64_t)sum[2 * k + 1] + frac;
    sum[2 * k + 1] = (int64_t)lo;
    sum[2 * k] += ip + (lo < frac ? 1 : 0);
}

// Stores a printf-style one-line message as the calling thread's last error and returns
// `code`: cusprun::fail in libcusprun, cusprun_cuda::fail in libcusprun_cuda.
using Fail = int (*)(int code, const char *fmt, ...);

#define CUSPRUN_REQUIRE(cond, ...)                                   \
    do {                                                             \
        if (!(cond)) return fail(CUSPRUN_ERR_ARGUMENT, __VA_ARGS__); \
    } while (0)

inline bool is_act(cusprun_dtype t) {
    return t == CUSPRUN_F32 || t == CUSPRUN_BF16 || t == CUSPRUN_F16;
}
inline bool is_acc(cusprun_dtype t) { return t == CUSPRUN_F32 || t == CUSPRUN_F64; }

// Rows without documents: doc_offsets[0] = 0 = doc_offsets[n_docs] must equal T.
inline int rows_need_docs(Fail fail, const char *fn, int64_t T, int64_t n_docs) {
    CUSPRUN_REQUIRE(n_docs > 0 || T == 0, "%s: n_docs = 0 but T = %lld rows", fn, (long long)T);
    return CUSPRUN_OK;
}

inline int ffn_swiglu(Fail fail, const char *fn, cusprun_dtype act_dtype, const void *gate,
                      const void *up, int64_t in_stride, const void *act_out, int64_t T, int64_t F,
                      const int64_t *doc_offsets, int64_t n_docs, cusprun_dtype acc_dtype,
                      const void *acc) {
    CUSPRUN_REQUIRE(is_act(act_dtype), "%s: act_dtype %d is not F32, BF16 or F16", fn,
                    (int)act_dtype);
    CUSPRUN_REQUIRE(T >= 0 && F >= 0, "%s: negative size (T = %lld, F = %lld)", fn, (long long)T,
                    (long long)F);
    CUSPRUN_REQUIRE(in_stride >= F, "%s: in_stride (%lld) < F (%lld)", fn, (long long)in_stride,
                    (long long)F);
    CUSPRUN_REQUIRE(gate && up, "%s: gate or up is NULL", fn);
    CUSPRUN_REQUIRE(act_out || acc, "%s: act_out and acc are both NULL (nothing to do)", fn);
    if (acc) {
        CUSPRUN_REQUIRE(is_acc(acc_dtype), "%s: acc_dtype %d is not F32 or F64", fn,
                        (int)acc_dtype);
        CUSPRUN_REQUIRE(n_docs >= 0, "%s: n_docs = %lld < 0", fn, (long long)n_docs);
        CUSPRUN_REQUIRE(doc_offsets, "%s: doc_offsets is NULL", fn);
        return rows_need_docs(fail, fn, T, n_docs);
    }
    return CUSPRUN_OK;
}

inline int head_gram(Fail fail, const char *fn, cusprun_dtype act_dtype, const void *z, int64_t T,
                     int64_t H, int64_t d, int64_t group_size, const int64_t *doc_offsets,
                     int64_t n_docs, cusprun_dtype acc_dtype, const void *gram) {
    CUSPRUN_REQUIRE(is_act(act_dtype), "%s: act_dtype %d is not F32, BF16 or F16", fn,
                    (int)act_dtype);
    CUSPRUN_REQUIRE(is_acc(acc_dtype), "%s: acc_dtype %d is not F32 or F64", fn, (int)acc_dtype);
    CUSPRUN_REQUIRE(T >= 0 && n_docs >= 0, "%s: negative size (T = %lld, n_docs = %lld)", fn,
                    (long long)T, (long long)n_docs);
    CUSPRUN_REQUIRE(H > 0 && d > 0 && group_size > 0,
                    "%s: H (%lld), d (%lld), group_size (%lld) must be > 0", fn, (long long)H,
                    (long long)d, (long long)group_size);
    CUSPRUN_REQUIRE(H % group_size == 0, "%s: H (%lld) is not a multiple of group_size (%lld)", fn,
                    (long long)H, (long long)group_size);
    CUSPRUN_REQUIRE(z && gram && doc_offsets, "%s: z, gram or doc_offsets is NULL", fn);
    return rows_need_docs(fail, fn, T, n_docs);
}

inline int qk_neuron(Fail fail, const char *fn, cusprun_dtype act_dtype, const void *q,
                     const void *k, int64_t T, int64_t H, int64_t Hkv, int64_t d, float scale,
                     int rope_pairs, const int64_t *doc_offsets, int64_t n_docs,
                     cusprun_dtype acc_dtype, const void *acc) {
    CUSPRUN_REQUIRE(is_act(act_dtype), "%s: act_dtype %d is not F32, BF16 or F16", fn,
                    (int)act_dtype);
    CUSPRUN_REQUIRE(is_acc(acc_dtype), "%s: acc_dtype %d is not F32 or F64", fn, (int)acc_dtype);
    CUSPRUN_REQUIRE(T >= 0 && n_docs >= 0, "%s: negative size (T = %lld, n_docs = %lld)", fn,
                    (long long)T, (long long)n_docs);
    CUSPRUN_REQUIRE(H > 0 && Hkv > 0 && d > 0, "%s: H (%lld), Hkv (%lld), d (%lld) must be > 0", fn,
                    (long long)H, (long long)Hkv, (long long)d);
    CUSPRUN_REQUIRE(H % Hkv == 0, "%s: H (%lld) is not a multiple of Hkv (%lld)", fn, (long long)H,
                    (long long)Hkv);
    CUSPRUN_REQUIRE(!rope_pairs || d % 2 == 0, "%s: rope_pairs needs an even d (d = %lld)", fn,
                    (long long)d);
    CUSPRUN_REQUIRE(isfinite(scale), "%s: scale is not finite", fn);
    CUSPRUN_REQUIRE(q && k && acc && doc_offsets, "%s: q, k, acc or doc_offsets is NULL", fn);
    return rows_need_docs(fail, fn, T, n_docs);
}

inline int rank_update(Fail fail, const char *fn, cusprun_dtype rel_dtype, const void *relevance,
                       int64_t n_docs, int64_t N, const float *rank_max, const int32_t *rank_hist,
                       int64_t n_bins, const int64_t *relevance_sum) {
    CUSPRUN_REQUIRE(is_acc(rel_dtype), "%s: rel_dtype %d is not F32 or F64", fn, (int)rel_dtype);
    CUSPRUN_REQUIRE(n_docs >= 0 && N >= 0, "%s: negative size (n_docs = %lld, N = %lld)", fn,
                    (long long)n_docs, (long long)N);
    CUSPRUN_REQUIRE(n_bins > 0, "%s: n_bins = %lld, must be > 0", fn, (long long)n_bins);
    CUSPRUN_REQUIRE(relevance && rank_max && rank_hist && relevance_sum,
                    "%s: relevance, rank_max, rank_hist or relevance_sum is NULL", fn);
    return CUSPRUN_OK;
}

// ---- array contents: host memory only (the CPU back end) ----

// doc_offsets: starts at 0, ascending, ends at T.
inline int check_doc_offsets(Fail fail, const char *fn, const int64_t *offs, int64_t n_docs,
                             int64_t T) {
    CUSPRUN_REQUIRE(offs[0] == 0, "%s: doc_offsets[0] = %lld, must be 0", fn, (long long)offs[0]);
    for (int64_t i = 0; i < n_docs; ++i)
        CUSPRUN_REQUIRE(offs[i + 1] >= offs[i],
                        "%s: doc_offsets not ascending at %lld (%lld > %lld)", fn, (long long)i,
                        (long long)offs[i], (long long)offs[i + 1]);
    CUSPRUN_REQUIRE(offs[n_docs] == T, "%s: doc_offsets[n_docs] = %lld, must equal T = %lld", fn,
                    (long long)offs[n_docs], (long long)T);
    return CUSPRUN_OK;
}

// The range policy of rank_update, on both back ends: NaN has no rank (and would break the
// sort), and the exact sum holds only [0, 2^62), so a call with a value outside is refused
// before any accumulator changes. The message names the first such value in row-major order;
// the CUDA back end reports the same index from its device scan.
inline int relevance_out_of_range(Fail fail, const char *fn, int64_t index, int64_t N, double v) {
    const char *what = isnan(v) ? "NaN" : v < 0 ? "negative" : isinf(v) ? "infinite" : ">= 2^62";
    return fail(CUSPRUN_ERR_ARGUMENT, "%s: relevance[%lld][%lld] is %s (%g)", fn,
                (long long)(index / N), (long long)(index % N), what, v);
}

inline int check_relevance_range(Fail fail, const char *fn, cusprun_dtype rel_dtype,
                                 const void *relevance, int64_t n_docs, int64_t N) {
    for (int64_t i = 0; i < n_docs * N; ++i) {
        double x = rel_dtype == CUSPRUN_F64 ? ((const double *)relevance)[i]
                                            : ((const float *)relevance)[i];
        if (!relevance_in_range(x)) return relevance_out_of_range(fail, fn, i, N, x);
    }
    return CUSPRUN_OK;
}

#undef CUSPRUN_REQUIRE

}  // namespace cusprun_args
