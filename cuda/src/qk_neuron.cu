// Kernel 3: query/key neuron relevance (docs/method.md, Relevance of a unit;
// after PLND):
//   acc[doc][h][u] += sum_s || softmax(A_s) - softmax(A_s - D_{u,s}) ||^2
// over the causal rows s of each document. O(T) scratch per worker, never T x T.
//   1_naive      one thread per (doc, head, unit): recomputes scores on the fly,
//                evaluates both softmaxes directly in double (the definition).
//   2_block_row  one block per (query row, head): scores of the row into shared
//                memory (global scratch when T is too long for shared memory),
//                softmax once, then every unit in closed form (below), added to
//                acc with one atomic per (row, head, unit).
//   3_global_scratch  2_block_row's long-row path for every row length: a persistent
//                grid with 2*T floats of global scratch per block.
//
// Closed form used by 2_block_row. With P = softmax(A), removing unit u gives
// P'_t = P_t e^{-D_t} / sum_r P_r e^{-D_r}. Shifting by the P-weighted mean
// c = sum_t P_t D_t and writing F_t = expm1(c - D_t), w = sum_t P_t F_t:
//   P_t - P'_t = P_t (w - F_t) / (1 + w),  1 + w >= 1 (Jensen),
//   ||P - P'||^2 = (S3 - 2 w S2 + w^2 S0) / (1 + w)^2,
//   S0 = sum P^2, S2 = sum P^2 F, S3 = sum P^2 F^2.
// expm1 keeps small removals accurate (no difference of two nearly equal
// softmaxes); the mean shift keeps w small so the expansion does not cancel.
// If F overflows (a token gains > ~88 nats) the unit falls back to the direct
// two-softmax evaluation in double.
#include <cfloat>
#include <cmath>

#include "common.cuh"

namespace cusprun_cuda {
namespace {

template <typename T>
__device__ __forceinline__ float dot_row(const T *__restrict__ a, const T *__restrict__ b,
                                         int64_t d) {
    float s = 0.f;
    for (int64_t j = 0; j < d; ++j) s = fmaf(to_f(a[j]), to_f(b[j]), s);
    return s;
}

// ------------------------------------------------------------ 1_naive

template <typename T, typename A>
__global__ void qk_naive_kernel(const T *__restrict__ q, const T *__restrict__ k, int64_t T_rows,
                                int64_t H, int64_t Hkv, int64_t d, float scale, int rope,
                                const int64_t *__restrict__ off, int64_t n_docs,
                                A *__restrict__ acc) {
    const int64_t U = rope ? d / 2 : d;
    const int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= n_docs * H * U) return;
    const int64_t u = idx % U, h = (idx / U) % H, doc = idx / (U * H);
    const int64_t kh = h / (H / Hkv);
    const int64_t t0 = doc_off(off, doc, T_rows), t1 = doc_off(off, doc + 1, T_rows);
    const int64_t j1 = u, j2 = rope ? u + d / 2 : -1;
    double total = 0.0;
    for (int64_t s = t0; s < t1; ++s) {
        const T *qs = q + (s * H + h) * d;
        auto score = [&](int64_t t, double &a, double &a2) {
            const T *kt = k + (t * Hkv + kh) * d;
            const float full = scale * dot_row(qs, kt, d);
            float du = to_f(qs[j1]) * to_f(kt[j1]);
            if (j2 >= 0) du = fmaf(to_f(qs[j2]), to_f(kt[j2]), du);
            a = full;
            a2 = (double)full - (double)(scale * du);
        };
        double m = -DBL_MAX, m2 = -DBL_MAX;
        for (int64_t t = t0; t <= s; ++t) {
            double a, a2;
            score(t, a, a2);
            m = fmax(m, a);
            m2 = fmax(m2, a2);
        }
        double z = 0.0, z2 = 0.0;
        for (int64_t t = t0; t <= s; ++t) {
            double a, a2;
            score(t, a, a2);
            z += exp(a - m);
            z2 += exp(a2 - m2);
        }
        for (int64_t t = t0; t <= s; ++t) {
            double a, a2;
            score(t, a, a2);
            const double diff = exp(a - m) / z - exp(a2 - m2) / z2;
            total += diff * diff;
        }
    }
    acc[idx] += (A)total;
}

// ------------------------------------------------------- 2_block_row

constexpr int kQkThreads = 128;
constexpr int kLanesPerRow = 8;

template <int N>
__device__ __forceinline__ void block_sum(float (&v)[N], float *red /* [N][32] */) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
#pragma unroll
    for (int i = 0; i < N; ++i) v[i] = warp_sum(v[i]);
    __syncthreads();
    if (lane == 0)
#pragma unroll
        for (int i = 0; i < N; ++i) red[i * 32 + warp] = v[i];
    __syncthreads();
#pragma unroll
    for (int i = 0; i < N; ++i) {
        float s = 0.f;
        for (int w = 0; w < nw; ++w) s += red[i * 32 + w];
        v[i] = s;
    }
}

__device__ __forceinline__ float block_max(float v, float *red) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nw = blockDim.x / 32;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float m = -FLT_MAX;
    for (int w = 0; w < nw; ++w) m = fmaxf(m, red[w]);
    return m;
}

// Work item w -> (row s, head h); longest rows (largest s) first for load balance.
// buf: 2*T floats per block: [0, T) = A - max, [T, 2T) = P.
template <typename T, typename A>
__global__ void __launch_bounds__(kQkThreads)
    qk_row_kernel(const T *__restrict__ q, const T *__restrict__ k, int64_t T_rows, int64_t H,
                  int64_t Hkv, int64_t d, float scale, int rope, const int64_t *__restrict__ off,
                  int64_t n_docs, A *__restrict__ acc, float *__restrict__ gscratch) {
    extern __shared__ __align__(16) float dyn[];
    __shared__ float red[4 * 32];
    __shared__ float part[4][kQkThreads];
    __shared__ int overflow[kQkThreads];

    float *sq = dyn;  // d floats: q_s * scale
    float *sa = gscratch ? gscratch + (int64_t)blockIdx.x * 2 * T_rows : dyn + d;
    float *sp = sa + T_rows;
    const int tid = threadIdx.x;
    const int64_t U = rope ? d / 2 : d;
    const int64_t group = H / Hkv;

    for (int64_t w = blockIdx.x; w < T_rows * H; w += gridDim.x) {
        const int64_t s = T_rows - 1 - w / H, h = w % H, kh = h / group;
        const int64_t doc = find_doc(off, n_docs, s, T_rows);
        const int64_t t0 = doc_off(off, doc, T_rows);
        const int64_t L = s - t0 + 1;
        const T *qs = q + (s * H + h) * d;
        const T *kbase = k + kh * d;  // row t at kbase + t*Hkv*d
        const int64_t kstride = Hkv * d;

        __syncthreads();  // previous item done with the buffers
        for (int64_t j = tid; j < d; j += kQkThreads) sq[j] = to_f(qs[j]) * scale;
        __syncthreads();

        // Scores: 8 lanes per key row, strided over d, reduced with shuffles.
        float lmax = -FLT_MAX;
        const int sub = tid % kLanesPerRow, rowl = tid / kLanesPerRow;
        constexpr int kRowsPerPass = kQkThreads / kLanesPerRow;
        for (int64_t i0 = 0; i0 < L; i0 += kRowsPerPass) {
            const int64_t i = i0 + rowl;
            float dot = 0.f;
            if (i < L) {
                const T *kt = kbase + (t0 + i) * kstride;
                for (int64_t j = sub; j < d; j += kLanesPerRow) dot = fmaf(sq[j], to_f(kt[j]), dot);
            }
#pragma unroll
            for (int o = kLanesPerRow / 2; o > 0; o >>= 1)
                dot += __shfl_xor_sync(0xffffffffu, dot, o);
            if (i < L && sub == 0) {
                sa[i] = dot;
                lmax = fmaxf(lmax, dot);
            }
        }
        const float m = block_max(lmax, red);
        float zsum[1] = {0.f};
        for (int64_t i = tid; i < L; i += kQkThreads) {
            const float a = sa[i] - m;
            sa[i] = a;
            zsum[0] += expf(a);
        }
        block_sum(zsum, red);
        const float inv_z = 1.f / zsum[0];
        float s0[1] = {0.f};
        for (int64_t i = tid; i < L; i += kQkThreads) {
            const float p = expf(sa[i]) * inv_z;
            sp[i] = p;
            s0[0] += p * p;
        }
        block_sum(s0, red);
        const float S0 = s0[0];

        // Units in rounds of up to blockDim; `slices` threads share one unit.
        const int64_t per_round = U < kQkThreads ? U : kQkThreads;
        const int slices = (int)(kQkThreads / per_round);
        for (int64_t ub = 0; ub < U; ub += per_round) {
            const int64_t u = ub + tid % per_round;
            const int slice = tid / (int)per_round;
            const bool active = slice < slices && u < U;
            const int64_t j1 = u, j2 = rope ? u + d / 2 : -1;
            const float q1 = active ? sq[j1] : 0.f;
            const float q2 = (active && j2 >= 0) ? sq[j2] : 0.f;
            auto dval = [&](int64_t i) {
                const T *kt = kbase + (t0 + i) * kstride;
                float dv = q1 * to_f(kt[j1]);
                if (j2 >= 0) dv = fmaf(q2, to_f(kt[j2]), dv);
                return dv;
            };
            // Pass 1: c = sum P D.
            float c = 0.f;
            if (active)
                for (int64_t i = slice; i < L; i += slices) c = fmaf(sp[i], dval(i), c);
            part[0][tid] = c;
            __syncthreads();
            c = 0.f;
            if (active)
                for (int sl = 0; sl < slices; ++sl) c += part[0][sl * per_round + tid % per_round];
            // Pass 2: w, S2, S3 around c.
            float w1 = 0.f, s2 = 0.f, s3 = 0.f;
            int ovf = 0;
            if (active)
                for (int64_t i = slice; i < L; i += slices) {
                    const float f = expm1f(c - dval(i));
                    if (!(f <= FLT_MAX)) {
                        ovf = 1;
                        continue;
                    }
                    const float pf = sp[i] * f;
                    w1 += pf;
                    s2 = fmaf(sp[i], pf, s2);
                    s3 = fmaf(pf, pf, s3);
                }
            __syncthreads();  // part[0] reads done
            part[1][tid] = w1;
            part[2][tid] = s2;
            part[3][tid] = s3;
            overflow[tid] = ovf;
            __syncthreads();
            if (active && slice == 0) {
                float W = 0.f, S2 = 0.f, S3 = 0.f;
                int any = 0;
                for (int sl = 0; sl < slices; ++sl) {
                    const int o = sl * (int)per_round + tid;
                    W += part[1][o];
                    S2 += part[2][o];
                    S3 += part[3][o];
                    any |= overflow[o];
                }
                double r;
                if (!any) {
                    const double wd = W;
                    r = ((double)S3 - 2.0 * wd * S2 + wd * wd * S0) / ((1.0 + wd) * (1.0 + wd));
                    if (r < 0.0) r = 0.0;
                } else {
                    // Direct evaluation: log P'_t = (A_t - m) - D_t + const.
                    double m2 = -DBL_MAX;
                    for (int64_t i = 0; i < L; ++i) m2 = fmax(m2, (double)sa[i] - dval(i));
                    double z2 = 0.0;
                    for (int64_t i = 0; i < L; ++i) z2 += exp((double)sa[i] - dval(i) - m2);
                    r = 0.0;
                    for (int64_t i = 0; i < L; ++i) {
                        const double diff =
                            exp((double)sa[i]) / zsum[0] - exp((double)sa[i] - dval(i) - m2) / z2;
                        r += diff * diff;
                    }
                }
                atomicAdd(acc + (doc * H + h) * U + u, (A)r);
            }
            __syncthreads();  // part[] reused by the next round
        }
    }
}

}  // namespace
}  // namespace cusprun_cuda

using namespace cusprun_cuda;

extern "C" int cusprun_cuda_qk_neuron(int device, int variant, void *stream,
                                      cusprun_dtype act_dtype, const void *q, const void *k,
                                      int64_t T, int64_t H, int64_t Hkv, int64_t d, float scale,
                                      int rope_pairs, const int64_t *doc_offsets, int64_t n_docs,
                                      cusprun_dtype acc_dtype, void *acc) {
    const char *v = nullptr;
    CUSPRUN_TRY(resolve_variant(K_QK, variant, &v));
    CUSPRUN_TRY(cusprun_args::qk_neuron(fail, "cusprun_cuda_qk_neuron", act_dtype, q, k, T, H, Hkv,
                                        d, scale, rope_pairs, doc_offsets, n_docs, acc_dtype, acc));
    DeviceGuard dev;
    CUSPRUN_TRY(dev.enter(device));
    if (T == 0) return CUSPRUN_OK;
    cudaStream_t s = as_stream(stream);
    const int64_t U = rope_pairs ? d / 2 : d;

    return with_act_type(act_dtype, [&](auto act_tag) {
        using TT = decltype(act_tag);
        return with_acc_type(acc_dtype, [&](auto acc_tag) {
            using A = decltype(acc_tag);
            const TT *qq = static_cast<const TT *>(q);
            const TT *kk = static_cast<const TT *>(k);
            A *out = static_cast<A *>(acc);
            if (same_variant(v, variant::kNaive)) {
                const int64_t n = n_docs * H * U;
                qk_naive_kernel<TT, A><<<(unsigned)ceil_div(n, 64), 64, 0, s>>>(
                    qq, kk, T, H, Hkv, d, scale, rope_pairs, doc_offsets, n_docs, out);
                CUSPRUN_LAUNCHED("qk_neuron 1_naive launch");
                return (int)CUSPRUN_OK;
            }
            auto kernel = qk_row_kernel<TT, A>;
            const int64_t items = T * H;
            const int64_t smem_full = (d + 2 * T) * (int64_t)sizeof(float);
            // 3_global_scratch takes the long-row path whatever the row length (a variant of its
            // own so that the tests and benchmarks run it on short rows too).
            const bool global =
                same_variant(v, variant::kGlobalScratch) || smem_full > dev.max_smem_optin();
            if (!global) {
                if (smem_full > 48 * 1024)
                    CUSPRUN_CU(cudaFuncSetAttribute(
                        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem_full));
                const int64_t grid = items < 0x7fffffff ? items : 0x7fffffff;
                kernel<<<(unsigned)grid, kQkThreads, (size_t)smem_full, s>>>(
                    qq, kk, T, H, Hkv, d, scale, rope_pairs, doc_offsets, n_docs, out, nullptr);
                CUSPRUN_LAUNCHED("qk_neuron 2_block_row launch");
                return (int)CUSPRUN_OK;
            }
            // Long rows: a persistent grid with 2*T floats of global scratch per block.
            int64_t grid = (int64_t)dev.sm_count() * 8;
            if (grid > items) grid = items;
            float *scratch = nullptr;
            CUSPRUN_CU(
                cudaMallocAsync((void **)&scratch, (size_t)(grid * 2 * T) * sizeof(float), s));
            kernel<<<(unsigned)grid, kQkThreads, (size_t)d * sizeof(float), s>>>(
                qq, kk, T, H, Hkv, d, scale, rope_pairs, doc_offsets, n_docs, out, scratch);
            cudaError_t le = cudaGetLastError();
            cudaError_t fe = cudaFreeAsync(scratch, s);
            if (le != cudaSuccess) return cuda_fail(le, "qk_neuron 2_block_row launch");
            if (fe != cudaSuccess) return cuda_fail(fe, "cudaFreeAsync");
            return (int)CUSPRUN_OK;
        });
    });
}
