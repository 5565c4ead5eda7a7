// Variant 1_naive of every kernel: plain loops in double precision, one thread.
// The reference the other variants (and the CUDA back end) are checked against.
#include <math.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

#include "internal.h"

namespace cusprun {
namespace {

template <int DT>
inline double ld(const void *p, int64_t i) {
    if constexpr (DT == 0) return ((const float *)p)[i];
    else if constexpr (DT == 1) return bf16_to_f32(((const uint16_t *)p)[i]);
    else return f16_to_f32(((const uint16_t *)p)[i]);
}

// Rounds to the activation dtype and stores (if out); returns the rounded value.
template <int DT>
inline double round_store(double v, void *out, int64_t i) {
    float f = (float)v;
    if constexpr (DT == 0) {
        if (out) ((float *)out)[i] = f;
        return f;
    } else if constexpr (DT == 1) {
        uint16_t h = f32_to_bf16(f);
        if (out) ((uint16_t *)out)[i] = h;
        return bf16_to_f32(h);
    } else {
        uint16_t h = f32_to_f16(f);
        if (out) ((uint16_t *)out)[i] = h;
        return f16_to_f32(h);
    }
}

inline void add_acc(cusprun_dtype acc_dtype, void *acc, int64_t i, double v) {
    if (acc_dtype == CUSPRUN_F64) ((double *)acc)[i] += v;
    else ((float *)acc)[i] += (float)v;
}

template <int DT>
int ffn_t(const void *gate, const void *up, int64_t in_stride, void *act_out, int64_t T, int64_t F,
          const int64_t *offs, int64_t n_docs, cusprun_dtype acc_dtype, void *acc) {
    std::vector<double> sum(acc ? (size_t)F : 0);
    int64_t n_seg = acc ? n_docs : 1;
    for (int64_t doc = 0; doc < n_seg; ++doc) {
        int64_t t0 = acc ? offs[doc] : 0, t1 = acc ? offs[doc + 1] : T;
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t t = t0; t < t1; ++t) {
            for (int64_t k = 0; k < F; ++k) {
                double g = ld<DT>(gate, t * in_stride + k);
                double u = ld<DT>(up, t * in_stride + k);
                double a = g / (1.0 + exp(-g)) * u;
                double ar = round_store<DT>(a, act_out, t * F + k);
                if (acc) sum[k] += ar * ar;
            }
        }
        if (acc)
            for (int64_t k = 0; k < F; ++k) add_acc(acc_dtype, acc, doc * F + k, sum[k]);
    }
    return CUSPRUN_OK;
}

template <int DT>
int gram_t(const void *z, int64_t H, int64_t d, int64_t gs, const int64_t *offs, int64_t n_docs,
           cusprun_dtype acc_dtype, void *gram) {
    const int64_t n = gs * d, ng = H / gs;
    std::vector<double> S((size_t)(n * n)), y((size_t)n);
    for (int64_t doc = 0; doc < n_docs; ++doc) {
        for (int64_t g = 0; g < ng; ++g) {
            std::fill(S.begin(), S.end(), 0.0);
            for (int64_t t = offs[doc]; t < offs[doc + 1]; ++t) {
                for (int64_t i = 0; i < n; ++i) y[i] = ld<DT>(z, t * H * d + g * n + i);
                for (int64_t i = 0; i < n; ++i)
                    for (int64_t j = 0; j < n; ++j) S[i * n + j] += y[i] * y[j];
            }
            int64_t base = (doc * ng + g) * n * n;
            for (int64_t i = 0; i < n * n; ++i) add_acc(acc_dtype, gram, base + i, S[i]);
        }
    }
    return CUSPRUN_OK;
}

template <int DT>
int qk_t(const void *q, const void *k, int64_t H, int64_t Hkv, int64_t d, float scale,
         int rope_pairs, const int64_t *offs, int64_t n_docs, cusprun_dtype acc_dtype, void *acc) {
    const int64_t units = rope_pairs ? d / 2 : d, half = d / 2, rep = H / Hkv;
    int64_t maxL = 0;
    for (int64_t i = 0; i < n_docs; ++i) maxL = std::max(maxL, offs[i + 1] - offs[i]);
    // O(T) per query row: scores, softmax, perturbed scores
    std::vector<double> sc((size_t)maxL), p((size_t)maxL), x((size_t)maxL), uacc((size_t)units);
    for (int64_t doc = 0; doc < n_docs; ++doc) {
        const int64_t s0 = offs[doc], L = offs[doc + 1] - s0;
        for (int64_t h = 0; h < H; ++h) {
            const int64_t kh = h / rep;
            std::fill(uacc.begin(), uacc.end(), 0.0);
            for (int64_t s = 0; s < L; ++s) {
                const int64_t qb = (s0 + s) * H * d + h * d;
                double m = -INFINITY;
                for (int64_t t = 0; t <= s; ++t) {
                    const int64_t kb = (s0 + t) * Hkv * d + kh * d;
                    double a = 0;
                    for (int64_t j = 0; j < d; ++j) a += ld<DT>(q, qb + j) * ld<DT>(k, kb + j);
                    sc[t] = a * scale;
                    m = std::max(m, sc[t]);
                }
                double Z = 0;
                for (int64_t t = 0; t <= s; ++t) Z += (p[t] = exp(sc[t] - m));
                for (int64_t t = 0; t <= s; ++t) p[t] /= Z;
                for (int64_t u = 0; u < units; ++u) {
                    double m2 = -INFINITY;
                    for (int64_t t = 0; t <= s; ++t) {
                        const int64_t kb = (s0 + t) * Hkv * d + kh * d;
                        double D = ld<DT>(q, qb + u) * ld<DT>(k, kb + u);
                        if (rope_pairs) D += ld<DT>(q, qb + u + half) * ld<DT>(k, kb + u + half);
                        x[t] = sc[t] - scale * D;
                        m2 = std::max(m2, x[t]);
                    }
                    double Z2 = 0;
                    for (int64_t t = 0; t <= s; ++t) Z2 += (x[t] = exp(x[t] - m2));
                    double sum = 0;
                    for (int64_t t = 0; t <= s; ++t) {
                        double df = p[t] - x[t] / Z2;
                        sum += df * df;
                    }
                    uacc[u] += sum;
                }
            }
            for (int64_t u = 0; u < units; ++u)
                add_acc(acc_dtype, acc, (doc * H + h) * units + u, uacc[u]);
        }
    }
    return CUSPRUN_OK;
}

template <typename R>
int rank_t(const R *rel, int64_t n_docs, int64_t N, float *rank_max, int32_t *rank_hist,
           int64_t n_bins, int64_t *relevance_sum) {
    std::vector<int64_t> idx((size_t)N);
    std::vector<double> pct((size_t)N);
    for (int64_t doc = 0; doc < n_docs; ++doc) {
        const R *v = rel + doc * N;
        for (int64_t i = 0; i < N; ++i) idx[i] = i;
        std::sort(idx.begin(), idx.end(), [v](int64_t a, int64_t b) { return v[a] < v[b]; });
        for (int64_t i = 0; i < N;) {
            int64_t j = i + 1;
            while (j < N && v[idx[j]] == v[idx[i]]) ++j;
            double mean_rank = (double)(i + j - 1) / 2.0;  // ties share their mean rank
            for (int64_t m = i; m < j; ++m) pct[idx[m]] = N > 1 ? mean_rank / (double)(N - 1) : 0.0;
            i = j;
        }
        for (int64_t kk = 0; kk < N; ++kk)
            rank_apply(pct[kk], kk, (double)v[kk], rank_max, rank_hist, n_bins, relevance_sum);
    }
    return CUSPRUN_OK;
}

}  // namespace

int ffn_naive(int, int, void *, cusprun_dtype dt, const void *gate, const void *up,
              int64_t in_stride, void *act_out, int64_t T, int64_t F, const int64_t *offs,
              int64_t n_docs, cusprun_dtype acc_dtype, void *acc) {
#define CALL(D) ffn_t<D>(gate, up, in_stride, act_out, T, F, offs, n_docs, acc_dtype, acc)
    switch (dt) {
    case CUSPRUN_F32: return CALL(0);
    case CUSPRUN_BF16: return CALL(1);
    default: return CALL(2);
    }
#undef CALL
}

int gram_naive(int, int, void *, cusprun_dtype dt, const void *z, int64_t, int64_t H, int64_t d,
               int64_t gs, const int64_t *offs, int64_t n_docs, cusprun_dtype acc_dtype,
               void *gram) {
#define CALL(D) gram_t<D>(z, H, d, gs, offs, n_docs, acc_dtype, gram)
    switch (dt) {
    case CUSPRUN_F32: return CALL(0);
    case CUSPRUN_BF16: return CALL(1);
    default: return CALL(2);
    }
#undef CALL
}

int qk_naive(int, int, void *, cusprun_dtype dt, const void *q, const void *k, int64_t, int64_t H,
             int64_t Hkv, int64_t d, float scale, int rope_pairs, const int64_t *offs,
             int64_t n_docs, cusprun_dtype acc_dtype, void *acc) {
#define CALL(D) qk_t<D>(q, k, H, Hkv, d, scale, rope_pairs, offs, n_docs, acc_dtype, acc)
    switch (dt) {
    case CUSPRUN_F32: return CALL(0);
    case CUSPRUN_BF16: return CALL(1);
    default: return CALL(2);
    }
#undef CALL
}

int rank_naive(int, int, void *, cusprun_dtype dt, const void *rel, int64_t n_docs, int64_t N,
               float *rank_max, int32_t *rank_hist, int64_t n_bins, int64_t *relevance_sum) {
    if (dt == CUSPRUN_F64)
        return rank_t((const double *)rel, n_docs, N, rank_max, rank_hist, n_bins, relevance_sum);
    return rank_t((const float *)rel, n_docs, N, rank_max, rank_hist, n_bins, relevance_sum);
}

}  // namespace cusprun
