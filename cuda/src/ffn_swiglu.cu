// Kernel 1: FFN SwiGLU activation + per-document sum of squares (docs/method.md,
// Relevance of a unit).
//   1_naive     one thread per (document, neuron): walks the document's rows.
//   2_vec_rows  one thread per V consecutive neurons (128-bit loads where aligned)
//               and a chunk of rows; partial sums per document in registers, added
//               with atomics when the document (or the chunk) ends.
#include "common.cuh"

namespace cusprun_cuda {
namespace {

__device__ __forceinline__ float silu_mul(float g, float u) { return g / (1.0f + expf(-g)) * u; }

// Fast form for the bandwidth-bound variant: ex2.approx and rcp.approx (a few ulp
// of fp32, far below bf16/f16 rounding; the test bounds f32 to 1e-5). The clamp
// keeps 1 + e below 2^126, where __fdividef is exact enough (silu(g) ~ 0 there).
__device__ __forceinline__ float silu_mul_fast(float g, float u) {
    return __fdividef(g, 1.0f + __expf(fminf(-g, 80.0f))) * u;
}

template <typename T, typename A>
__global__ void ffn_naive_kernel(const T *__restrict__ gate, const T *__restrict__ up,
                                 int64_t in_stride, T *__restrict__ act, int64_t T_rows, int64_t F,
                                 const int64_t *__restrict__ off, int64_t n_docs,
                                 A *__restrict__ acc) {
    const int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= F) return;
    const int64_t docs = acc ? n_docs : 1;
    for (int64_t doc = blockIdx.y; doc < docs; doc += gridDim.y) {
        const int64_t r0 = acc ? doc_off(off, doc, T_rows) : 0;
        const int64_t r1 = acc ? doc_off(off, doc + 1, T_rows) : T_rows;
        A s = 0;
        for (int64_t t = r0; t < r1; ++t) {
            const float a = silu_mul(to_f(gate[t * in_stride + k]), to_f(up[t * in_stride + k]));
            const T ar = from_f<T>(a);
            if (act) act[t * F + k] = ar;
            const A af = (A)to_f(ar);
            s += af * af;
        }
        if (acc) acc[doc * F + k] += s;
    }
}

template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
    T v[V];
};

template <int V, typename A>
__device__ __forceinline__ void flush(A *__restrict__ dst, const float (&s)[V]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if constexpr (sizeof(A) == 4 && V % 4 == 0) {
        // sm_90 has vector float atomics: one request per 4 neurons (needs 16B alignment).
        if ((reinterpret_cast<uintptr_t>(dst) & 15u) == 0) {
#pragma unroll
            for (int i = 0; i < V; i += 4)
                atomicAdd(reinterpret_cast<float4 *>(dst + i),
                          make_float4(s[i], s[i + 1], s[i + 2], s[i + 3]));
            return;
        }
    }
#endif
#pragma unroll
    for (int i = 0; i < V; ++i) atomicAdd(dst + i, (A)s[i]);
}

constexpr int kFfnThreads = 256;

// grid.x: column tiles of kFfnThreads*V neurons; grid.y: chunks of `rows` rows.
template <typename T, int V, typename A>
__global__ void __launch_bounds__(kFfnThreads, 4)
    ffn_vec_kernel(const T *__restrict__ gate, const T *__restrict__ up, int64_t in_stride,
                   T *__restrict__ act, int64_t T_rows, int64_t F, const int64_t *__restrict__ off,
                   int64_t n_docs, A *__restrict__ acc, int64_t rows) {
    using P = Pack<T, V>;
    // Rows whose loads are issued together (8-wide 16-bit vectors need more registers).
    constexpr int kFfnUnroll = V >= 8 ? 2 : 4;
    const int64_t col = ((int64_t)blockIdx.x * kFfnThreads + threadIdx.x) * V;
    if (col >= F) return;
    const int64_t r0 = (int64_t)blockIdx.y * rows;
    const int64_t r1 = min(r0 + rows, T_rows);
    if (r0 >= r1) return;

    int64_t doc = 0, doc_end = r1;
    if (acc) {
        doc = find_doc(off, n_docs, r0, T_rows);
        doc_end = doc_off(off, doc + 1, T_rows);
    }
    float s[V];
#pragma unroll
    for (int i = 0; i < V; ++i) s[i] = 0.f;

    for (int64_t t0 = r0; t0 < r1; t0 += kFfnUnroll) {
        P g[kFfnUnroll], u[kFfnUnroll];
        // Issue all loads of the unrolled rows before any compute or store.
#pragma unroll
        for (int r = 0; r < kFfnUnroll; ++r) {
            if (t0 + r < r1) {
                g[r] = *reinterpret_cast<const P *>(gate + (t0 + r) * in_stride + col);
                u[r] = *reinterpret_cast<const P *>(up + (t0 + r) * in_stride + col);
            }
        }
#pragma unroll
        for (int r = 0; r < kFfnUnroll; ++r) {
            const int64_t t = t0 + r;
            if (t >= r1) break;
            if (acc && t >= doc_end && doc + 1 < n_docs) {
                flush<V>(acc + doc * F + col, s);
#pragma unroll
                for (int i = 0; i < V; ++i) s[i] = 0.f;
                do {
                    ++doc;
                    doc_end = doc_off(off, doc + 1, T_rows);
                } while (doc_end <= t && doc + 1 < n_docs);
            }
            P a;
#pragma unroll
            for (int i = 0; i < V; ++i) {
                a.v[i] = from_f<T>(silu_mul_fast(to_f(g[r].v[i]), to_f(u[r].v[i])));
                const float af = to_f(a.v[i]);
                s[i] = fmaf(af, af, s[i]);
            }
            if (act) *reinterpret_cast<P *>(act + t * F + col) = a;
        }
    }
    if (acc) flush<V>(acc + doc * F + col, s);
}

bool aligned(const void *p, int64_t bytes) {
    return p == nullptr || reinterpret_cast<uintptr_t>(p) % (uintptr_t)bytes == 0;
}

template <typename T, int V, typename A>
int launch_vec(const DeviceGuard &dev, cudaStream_t stream, const T *gate, const T *up,
               int64_t in_stride, T *act, int64_t T_rows, int64_t F, const int64_t *off,
               int64_t n_docs, A *acc) {
    const int64_t col_threads = ceil_div(F, V);
    const int64_t blocks_x = ceil_div(col_threads, kFfnThreads);
    // Enough blocks for ~16 per SM, yet chunks of >= 8 rows to keep atomics rare.
    const int64_t target = (int64_t)dev.sm_count() * 16;
    int64_t rows = ceil_div(T_rows * blocks_x, target);
    rows = ceil_div(rows, 4) * 4;
    if (rows < 8) rows = 8;
    if (rows > 128) rows = 128;
    if (ceil_div(T_rows, rows) > 65535) rows = ceil_div(T_rows, 65535);
    if (blocks_x > 0x7fffffff)
        return fail(CUSPRUN_ERR_UNSUPPORTED, "ffn_swiglu: F=%lld too large", (long long)F);
    dim3 grid((unsigned)blocks_x, (unsigned)ceil_div(T_rows, rows));
    ffn_vec_kernel<T, V, A><<<grid, kFfnThreads, 0, stream>>>(gate, up, in_stride, act, T_rows, F,
                                                              off, n_docs, acc, rows);
    CUSPRUN_LAUNCHED("ffn_swiglu 2_vec_rows launch");
    return CUSPRUN_OK;
}

}  // namespace
}  // namespace cusprun_cuda

using namespace cusprun_cuda;

extern "C" int cusprun_cuda_ffn_swiglu(int device, int variant, void *stream,
                                       cusprun_dtype act_dtype, const void *gate, const void *up,
                                       int64_t in_stride, void *act_out, int64_t T, int64_t F,
                                       const int64_t *doc_offsets, int64_t n_docs,
                                       cusprun_dtype acc_dtype, void *acc) {
    const char *v = nullptr;
    CUSPRUN_TRY(resolve_variant(K_FFN, variant, &v));
    CUSPRUN_TRY(cusprun_args::ffn_swiglu(fail, "cusprun_cuda_ffn_swiglu", act_dtype, gate, up,
                                         in_stride, act_out, T, F, doc_offsets, n_docs, acc_dtype,
                                         acc));
    if (acc == nullptr) {
        acc_dtype = CUSPRUN_F32;  // ignored
        n_docs = 1;
    }
    DeviceGuard dev;
    CUSPRUN_TRY(dev.enter(device));
    if (T == 0 || F == 0) return CUSPRUN_OK;
    cudaStream_t s = as_stream(stream);

    return with_act_type(act_dtype, [&](auto act_tag) {
        using TT = decltype(act_tag);
        return with_acc_type(acc_dtype, [&](auto acc_tag) {
            using A = decltype(acc_tag);
            const TT *g = static_cast<const TT *>(gate);
            const TT *u = static_cast<const TT *>(up);
            TT *a = static_cast<TT *>(act_out);
            A *ac = static_cast<A *>(acc);
            if (same_variant(v, variant::kNaive)) {
                dim3 grid((unsigned)ceil_div(F, 128), (unsigned)(n_docs < 65535 ? n_docs : 65535));
                ffn_naive_kernel<TT, A>
                    <<<grid, 128, 0, s>>>(g, u, in_stride, a, T, F, doc_offsets, n_docs, ac);
                CUSPRUN_LAUNCHED("ffn_swiglu 1_naive launch");
                return (int)CUSPRUN_OK;
            }
            constexpr int VMAX = 16 / (int)sizeof(TT);
            const int64_t es = sizeof(TT);
            auto fits = [&](int64_t vw) {
                return F % vw == 0 && in_stride % vw == 0 && aligned(g, vw * es) &&
                       aligned(u, vw * es) && aligned(a, vw * es);
            };
            if (fits(VMAX))
                return launch_vec<TT, VMAX, A>(dev, s, g, u, in_stride, a, T, F, doc_offsets,
                                               n_docs, ac);
            if (fits(2))
                return launch_vec<TT, 2, A>(dev, s, g, u, in_stride, a, T, F, doc_offsets, n_docs,
                                            ac);
            return launch_vec<TT, 1, A>(dev, s, g, u, in_stride, a, T, F, doc_offsets, n_docs, ac);
        });
    });
}
