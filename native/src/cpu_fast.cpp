// Variants 2_omp_simd (and 3_blocked for head_gram): OpenMP drivers that split the
// work into independent items and call the run-time selected SIMD microkernels.
// No exceptions may leave an OpenMP region: allocation failures are flagged.
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "internal.h"

namespace cusprun {
namespace {

struct Scratch {  // per-thread buffer, 64-byte aligned, freed on scope exit
    void *p = nullptr;
    explicit Scratch(size_t bytes) {
        if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) p = nullptr;
    }
    ~Scratch() { free(p); }
    template <typename T>
    T *as() const {
        return (T *)p;
    }
};

inline const char *cp(const void *p, int64_t elems, size_t es) {
    return (const char *)p + elems * (int64_t)es;
}

int oom(const char *what) {
    return fail(CUSPRUN_ERR_MEMORY, "%s: scratch allocation failed", what);
}

// Calls f(double *) or f(float *) on the accumulator: one body for both acc dtypes.
template <typename F>
inline void with_acc(cusprun_dtype acc_dtype, void *acc, F &&f) {
    if (acc_dtype == CUSPRUN_F64) f((double *)acc);
    else f((float *)acc);
}

}  // namespace

// ------------------------------------------------------------------ ffn_swiglu
int ffn_omp_simd(int, int, void *, cusprun_dtype dt, const void *gate, const void *up,
                 int64_t in_stride, void *act_out, int64_t T, int64_t F, const int64_t *offs,
                 int64_t n_docs, cusprun_dtype acc_dtype, void *acc) {
    const SimdKernels &K = simd();
    const size_t es = dtype_size(dt);
    const int64_t CB =
        2048;  // columns per work item: 8 KB row slices keep the prefetchers streaming
    const int64_t ncb = (F + CB - 1) / CB;
    char *act = (char *)act_out;
    if (!acc) {  // inference only: items are (32-row block, column block)
        const int64_t RB = 32, nrb = (T + RB - 1) / RB;
#pragma omp parallel for schedule(static)
        for (int64_t it = 0; it < nrb * ncb; ++it) {
            int64_t r0 = (it / ncb) * RB, c0 = (it % ncb) * CB;
            int64_t rows = std::min(RB, T - r0), n = std::min(CB, F - c0);
            K.ffn_tile(dt, cp(gate, r0 * in_stride + c0, es), cp(up, r0 * in_stride + c0, es),
                       in_stride, act + (r0 * F + c0) * (int64_t)es, F, rows, n, nullptr, nullptr);
        }
        return CUSPRUN_OK;
    }
    // items are (document, column block): each owns acc[doc][c0:c0+n], no atomics
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t it = 0; it < n_docs * ncb; ++it) {
        const int64_t doc = it / ncb, c0 = (it % ncb) * CB, n = std::min(CB, F - c0);
        const int64_t t0 = offs[doc], rows = offs[doc + 1] - t0;
        if (rows == 0) continue;
        with_acc(acc_dtype, acc, [&](auto *a) {
            using A = std::remove_pointer_t<decltype(a)>;
            alignas(64) A l[2048];  // this block's sums, in the accumulator's dtype
            memset(l, 0, sizeof(A) * n);
            float *lf = nullptr;
            double *ld = nullptr;
            if constexpr (std::is_same_v<A, double>) ld = l;
            else lf = l;
            K.ffn_tile(dt, cp(gate, t0 * in_stride + c0, es), cp(up, t0 * in_stride + c0, es),
                       in_stride, act ? act + (t0 * F + c0) * (int64_t)es : nullptr, F, rows, n, lf,
                       ld);
            a += doc * F + c0;
            for (int64_t c = 0; c < n; ++c) a[c] += l[c];
        });
    }
    return CUSPRUN_OK;
}

// ------------------------------------------------------------------ head_gram
namespace {
// out (n x n, both triangles) += upper triangle of M rows [i0, i0+nr), columns from i0
// (M row stride ldm, column c of M is column i0 + c of out). M is f32 or, to keep f64
// sums, f64; each value is rounded to the accumulator's dtype once, then added.
template <typename S>
void flush_gram(const S *M, int64_t ldm, int64_t i0, int64_t nr, int64_t n, cusprun_dtype acc_dtype,
                void *out) {
    with_acc(acc_dtype, out, [&](auto *o) {
        using A = std::remove_pointer_t<decltype(o)>;
        for (int64_t r = 0; r < nr; ++r) {
            const int64_t i = i0 + r;
            const S *m = M + r * ldm - i0;  // m[j] for column j of out
            for (int64_t j = i; j < n; ++j) {
                const A v = (A)m[j];
                o[i * n + j] += v;
                if (j != i) o[j * n + i] += v;
            }
        }
    });
}
}  // namespace

// Rank-1 updates per token, items (document, group); f32 within 256-token chunks.
int gram_omp_simd(int, int, void *, cusprun_dtype dt, const void *z, int64_t, int64_t H, int64_t d,
                  int64_t gs, const int64_t *offs, int64_t n_docs, cusprun_dtype acc_dtype,
                  void *gram) {
    const SimdKernels &K = simd();
    const size_t es = dtype_size(dt), as = dtype_size(acc_dtype);
    const int64_t n = gs * d, ng = H / gs, CH = 256;
    int bad = 0;
#pragma omp parallel
    {
        Scratch sM(sizeof(float) * n * n), sy(sizeof(float) * n);
        float *M = sM.as<float>(), *y = sy.as<float>();
        if (!M || !y) {
#pragma omp atomic write
            bad = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < n_docs * ng; ++it) {
            if (!M || !y) continue;
            const int64_t doc = it / ng, g = it % ng;
            char *out = (char *)gram + it * n * n * (int64_t)as;
            memset(M, 0, sizeof(float) * n * n);
            for (int64_t t = offs[doc], cnt = 0; t < offs[doc + 1]; ++t) {
                K.to_f32_panel((int)dt, cp(z, t * H * d + g * n, es), 0, 1, n, y, n);
                K.gram_rank1(y, n, M);
                if (++cnt == CH || t + 1 == offs[doc + 1]) {
                    flush_gram(M, n, 0, n, n, acc_dtype, out);
                    memset(M, 0, sizeof(float) * n * n);
                    cnt = 0;
                }
            }
        }
    }
    return bad ? oom("head_gram 2_omp_simd") : CUSPRUN_OK;
}

// Register-blocked Y^T Y on f32 panels of up to 128 tokens. Items (document, group,
// 64-row strip of the upper triangle) so even one document keeps every core busy;
// strips write disjoint entries of the symmetric output (see flush_gram).
int gram_blocked(int, int, void *, cusprun_dtype dt, const void *z, int64_t, int64_t H, int64_t d,
                 int64_t gs, const int64_t *offs, int64_t n_docs, cusprun_dtype acc_dtype,
                 void *gram) {
    const SimdKernels &K = simd();
    const size_t es = dtype_size(dt), as = dtype_size(acc_dtype);
    const int64_t n = gs * d, ng = H / gs, SR = 64, TC = 128;
    const int64_t np = (n + 31) / 32 * 32, ns = (n + SR - 1) / SR;
    int bad = 0;
#pragma omp parallel
    {
        Scratch sP(sizeof(float) * TC * np), sM(sizeof(float) * SR * np),
            sA(sizeof(double) * SR * np);
        float *P = sP.as<float>(), *M = sM.as<float>();
        double *A = sA.as<double>();
        const bool ok = P && M && A;
        if (!ok) {
#pragma omp atomic write
            bad = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < n_docs * ng * ns; ++it) {
            if (!ok) continue;
            const int64_t doc = it / (ng * ns), g = (it / ns) % ng, i0 = (it % ns) * SR;
            const int64_t nr = std::min(SR, n - i0), nr4 = (nr + 3) / 4 * 4, nc = np - i0;
            memset(A, 0, sizeof(double) * nr4 * nc);
            for (int64_t t0 = offs[doc]; t0 < offs[doc + 1]; t0 += TC) {
                const int64_t tc = std::min(TC, offs[doc + 1] - t0);
                // only columns >= i0 are needed by this strip
                K.to_f32_panel((int)dt, cp(z, t0 * H * d + g * n + i0, es), H * d, tc, n - i0, P,
                               nc);
                memset(M, 0, sizeof(float) * nr4 * nc);
                K.gram_block(P, nc, tc, 0, nr4, 0, nc, M, nc);
#pragma omp simd
                for (int64_t e = 0; e < nr4 * nc; ++e) A[e] += M[e];
            }
            flush_gram(A, nc, i0, nr, n, acc_dtype,
                       (char *)gram + (doc * ng + g) * n * n * (int64_t)as);
        }
    }
    return bad ? oom("head_gram 3_blocked") : CUSPRUN_OK;
}

// ------------------------------------------------------------------ qk_neuron
// Items (document, head, 32-query-row block), dynamic schedule. Per worker:
// keys transposed to f32 (d x L), the query row, 4 vectors of L floats and the
// unit sums: O(T*d) bytes, never T x T. Each item keeps its own unit sums; they are added
// up per (document, head) in row-block order afterwards, so the result does not depend on
// which thread finished first (or on the thread count).
int qk_omp_simd(int, int, void *, cusprun_dtype dt, const void *q, const void *k, int64_t,
                int64_t H, int64_t Hkv, int64_t d, float scale, int rope_pairs, const int64_t *offs,
                int64_t n_docs, cusprun_dtype acc_dtype, void *acc) {
    const SimdKernels &K = simd();
    const size_t es = dtype_size(dt);
    const int64_t units = rope_pairs ? d / 2 : d, rep = H / Hkv, RB = 32;
    std::vector<int64_t> item_doc, item_rb;       // (doc, row block); heads are the inner index
    std::vector<int64_t> first_item(n_docs + 1);  // the document's items: its last row block first
    int64_t maxL = 0;
    for (int64_t doc = 0; doc < n_docs; ++doc) {
        const int64_t L = offs[doc + 1] - offs[doc];
        maxL = std::max(maxL, L);
        first_item[doc] = (int64_t)item_doc.size();
        for (int64_t rb = (L + RB - 1) / RB - 1; rb >= 0; --rb) {  // costly (late) blocks first
            item_doc.push_back(doc);
            item_rb.push_back(rb);
        }
    }
    first_item[n_docs] = (int64_t)item_doc.size();
    const int64_t n_items = (int64_t)item_doc.size() * H;
    Scratch spart(sizeof(double) * n_items * units);  // each item's unit sums
    double *part = spart.as<double>();
    if (!part) return oom("qk_neuron 2_omp_simd");
    int bad = 0;
#pragma omp parallel
    {
        Scratch sK(sizeof(float) * d * maxL), sv(sizeof(float) * (4 * maxL + 2 * d));
        float *KT = sK.as<float>(), *v = sv.as<float>();
        const bool ok = KT && v;
        if (!ok) {
#pragma omp atomic write
            bad = 1;
        }
        float *s = v, *p = v + maxL, *em = v + 2 * maxL, *e = v + 3 * maxL;
        float *qf = v + 4 * maxL, *kf = qf + d;
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < n_items; ++it) {
            if (!ok) continue;
            const int64_t doc = item_doc[it / H], rb = item_rb[it / H], h = it % H;
            const int64_t s0 = offs[doc], L = offs[doc + 1] - s0, kh = h / rep;
            const int64_t r0 = rb * RB, r1 = std::min(L, r0 + RB), Lk = r1;
            for (int64_t t = 0; t < Lk; ++t) {  // keys 0..r1-1 of this doc, transposed
                K.to_f32_panel((int)dt, cp(k, (s0 + t) * Hkv * d + kh * d, es), 0, 1, d, kf, d);
                for (int64_t j = 0; j < d; ++j) KT[j * Lk + t] = kf[j];
            }
            double *uacc = part + it * units;
            memset(uacc, 0, sizeof(double) * units);
            for (int64_t r = r0; r < r1; ++r) {
                K.to_f32_panel((int)dt, cp(q, (s0 + r) * H * d + h * d, es), 0, 1, d, qf, d);
                K.qk_row(qf, KT, Lk, r + 1, d, rope_pairs, scale, s, p, em, e, uacc);
            }
        }
    }
    if (bad) return oom("qk_neuron 2_omp_simd");
        // (document, head) owns its accumulator row: row blocks 0, 1, ... added in that order
#pragma omp parallel for schedule(static)
    for (int64_t dh = 0; dh < n_docs * H; ++dh) {
        const int64_t doc = dh / H, h = dh % H;
        with_acc(acc_dtype, acc, [&](auto *a) {
            using A = std::remove_pointer_t<decltype(a)>;
            a += dh * units;
            for (int64_t u = 0; u < units; ++u) {
                double sum = 0;
                for (int64_t j = first_item[doc + 1] - 1; j >= first_item[doc]; --j) {
                    sum += part[(j * H + h) * units + u];
                }
                a[u] += (A)sum;
            }
        });
    }
    return CUSPRUN_OK;
}

// ------------------------------------------------------------------ rank_update
namespace {
// Order-preserving unsigned key of a float (-0 folded into +0 so they tie).
inline uint32_t fkey(float v) {
    uint32_t u = f32_to_bits(v + 0.0f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline uint64_t dkey(double v) {
    uint64_t u = __builtin_bit_cast(uint64_t, v + 0.0);
    return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

// Walks the N sorted entries (key(m), idx(m)): runs of equal keys share their mean rank,
// pct[idx] = rank / (N - 1).
template <typename Key, typename Idx>
void mean_rank_pct(int64_t N, Key key, Idx idx, double *pct) {
    for (int64_t i = 0; i < N;) {
        int64_t j = i + 1;
        while (j < N && key(j) == key(i)) ++j;
        const double mean_rank = (double)(i + j - 1) / 2.0;
        for (int64_t m = i; m < j; ++m) pct[idx(m)] = N > 1 ? mean_rank / (double)(N - 1) : 0.0;
        i = j;
    }
}

// Percentiles of one document: a, b are N-element scratch.
void rank_doc_f32(const float *x, int64_t N, double *pct, uint64_t *a, uint64_t *b) {
    for (int64_t i = 0; i < N; ++i) a[i] = ((uint64_t)fkey(x[i]) << 32) | (uint64_t)i;
    for (int pass = 0; pass < 4; ++pass) {  // LSD radix on the 32 key bits, stable
        const int sh = 32 + 8 * pass;
        int64_t cnt[257] = {0};
        for (int64_t i = 0; i < N; ++i) cnt[((a[i] >> sh) & 255) + 1]++;
        for (int c = 0; c < 256; ++c) cnt[c + 1] += cnt[c];
        for (int64_t i = 0; i < N; ++i) b[cnt[(a[i] >> sh) & 255]++] = a[i];
        std::swap(a, b);
    }
    // after 4 swaps the sorted data is back in the caller's a
    mean_rank_pct(
        N, [a](int64_t m) { return a[m] >> 32; },
        [a](int64_t m) { return (int64_t)(a[m] & 0xFFFFFFFFu); }, pct);
}

struct DKey {
    uint64_t key;
    int64_t idx;
};
void rank_doc_f64(const double *x, int64_t N, double *pct, DKey *a) {
    for (int64_t i = 0; i < N; ++i) a[i] = DKey{dkey(x[i]), i};
    std::sort(a, a + N, [](const DKey &l, const DKey &r) { return l.key < r.key; });
    mean_rank_pct(
        N, [a](int64_t m) { return a[m].key; }, [a](int64_t m) { return a[m].idx; }, pct);
}
}  // namespace

// Documents ranked in parallel (batches of 64), then neurons updated in parallel:
// each neuron's accumulators see the documents in order, as in 1_naive (same bits).
int rank_omp_simd(int, int, void *, cusprun_dtype dt, const void *rel, int64_t n_docs, int64_t N,
                  float *rank_max, int32_t *rank_hist, int64_t n_bins, int64_t *relevance_sum) {
    if (N > 0xFFFFFFFFll) return fail(CUSPRUN_ERR_UNSUPPORTED, "rank_update: N > 2^32");
    const int64_t B = std::min<int64_t>(n_docs, 64);
    Scratch spct(sizeof(double) * B * N);
    double *pct = spct.as<double>();
    if (!pct) return oom("rank_update 2_omp_simd");
    int bad = 0;
    for (int64_t b0 = 0; b0 < n_docs; b0 += B) {
        const int64_t nb = std::min(B, n_docs - b0);
#pragma omp parallel
        {
            Scratch sa(dt == CUSPRUN_F64 ? sizeof(DKey) * N : sizeof(uint64_t) * N),
                sb(dt == CUSPRUN_F64 ? 0 : sizeof(uint64_t) * N);
            const bool ok = sa.p && sb.p;
            if (!ok) {
#pragma omp atomic write
                bad = 1;
            }
#pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < nb; ++b) {
                if (!ok) continue;
                if (dt == CUSPRUN_F64)
                    rank_doc_f64((const double *)rel + (b0 + b) * N, N, pct + b * N, sa.as<DKey>());
                else
                    rank_doc_f32((const float *)rel + (b0 + b) * N, N, pct + b * N,
                                 sa.as<uint64_t>(), sb.as<uint64_t>());
            }
        }
        if (bad) return oom("rank_update 2_omp_simd");
#pragma omp parallel for schedule(static)
        for (int64_t kk = 0; kk < N; ++kk) {
            for (int64_t b = 0; b < nb; ++b) {
                const int64_t r = (b0 + b) * N + kk;
                const double x =
                    dt == CUSPRUN_F64 ? ((const double *)rel)[r] : (double)((const float *)rel)[r];
                rank_apply(pct[b * N + kk], kk, x, rank_max, rank_hist, n_bins, relevance_sum);
            }
        }
    }
    return CUSPRUN_OK;
}

}  // namespace cusprun
