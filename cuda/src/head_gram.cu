// Kernel 2: per-document, per-KV-group Gram matrix of the attention output
// (docs/method.md, Relevance of a unit):
// gram[doc][g] += Y^T Y, Y = rows of the doc x (group_size*d).
//   1_naive       one thread per (doc, group, a, b), loops over the doc's rows.
//   2_tiled_smem  64x64 output tiles (upper triangle only, mirrored on write),
//                 16-row slabs staged in shared memory as fp32, 4x4 per thread;
//                 rows split into chunks across blocks, per-document partial
//                 tiles added with atomics (plain adds when one chunk covers T).
//   3_wmma        same tiling on tensor cores (WMMA 16x16x16, bf16/f16 inputs,
//                 fp32 accumulation); f32 inputs run 2_tiled_smem (TF32 would
//                 round the inputs).
#include <mma.h>

#include <cmath>
#include <type_traits>

#include "common.cuh"

namespace cusprun_cuda {
namespace {

// ------------------------------------------------------------ 1_naive

template <typename T, typename A>
__global__ void gram_naive_kernel(const T *__restrict__ z, int64_t T_rows, int64_t row_stride,
                                  int64_t M, int64_t n_groups, const int64_t *__restrict__ off,
                                  int64_t n_docs, A *__restrict__ gram) {
    const int64_t b = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t a = (int64_t)blockIdx.y * blockDim.y + threadIdx.y;
    if (a >= M || b >= M) return;
    for (int64_t dg = blockIdx.z; dg < n_docs * n_groups; dg += gridDim.z) {
        const int64_t doc = dg / n_groups, g = dg % n_groups;
        const int64_t r0 = doc_off(off, doc, T_rows), r1 = doc_off(off, doc + 1, T_rows);
        const T *base = z + g * M;
        A s = 0;
        for (int64_t t = r0; t < r1; ++t)
            s += (A)(to_f(base[t * row_stride + a]) * to_f(base[t * row_stride + b]));
        gram[(dg * M + a) * M + b] += s;
    }
}

// --------------------------------------------------- shared tiling logic

constexpr int kTile = 64;

// Tile pair p (0 <= p < nt(nt+1)/2) -> (ta, tb) with ta <= tb.
__device__ __forceinline__ void tile_pair(int p, int nt, int &ta, int &tb) {
    ta = 0;
    while (p >= nt - ta) {
        p -= nt - ta;
        ++ta;
    }
    tb = ta + p;
}

template <typename A>
__device__ __forceinline__ void add_out(A *p, float v, bool atomic) {
    if (atomic) atomicAdd(p, (A)v);
    else *p += (A)v;
}

// Adds a 64x64 fp32 tile held in shared memory (row stride ld) into gram, and
// its transpose into the mirrored tile when off the diagonal. Consecutive
// threads touch consecutive addresses in both passes, so the atomics coalesce.
template <typename A>
__device__ void add_tile_from_smem(const float *tile, int ld, A *out, int64_t M, int ta, int tb,
                                   bool atomic) {
    for (int e = threadIdx.x; e < kTile * kTile; e += blockDim.x) {
        const int i = e / kTile, j = e % kTile;
        const int64_t a = (int64_t)ta * kTile + i, b = (int64_t)tb * kTile + j;
        if (a < M && b < M) add_out(out + a * M + b, tile[i * ld + j], atomic);
    }
    if (ta == tb) return;
    for (int e = threadIdx.x; e < kTile * kTile; e += blockDim.x) {
        const int j = e / kTile, i = e % kTile;
        const int64_t a = (int64_t)ta * kTile + i, b = (int64_t)tb * kTile + j;
        if (a < M && b < M) add_out(out + b * M + a, tile[i * ld + j], atomic);
    }
}

constexpr int kCLd = kTile + 4;  // fp32 row stride of a staged output tile

// ------------------------------------------------------- 2_tiled_smem

constexpr int kBK = 16;
constexpr int kTiledThreads = 256;

// grid: x = tile pair, y = group, z = row chunk.
template <typename T, typename A>
__global__ void __launch_bounds__(kTiledThreads, 2)
    gram_tiled_kernel(const T *__restrict__ z, int64_t T_rows, int64_t row_stride, int64_t M,
                      const int64_t *__restrict__ off, int64_t n_docs, A *__restrict__ gram,
                      int64_t chunk_rows, bool atomic) {
    __shared__ __align__(16) float As[kBK][kTile];
    __shared__ __align__(16) float Bs[kBK][kTile];
    __shared__ __align__(16) float Cs[kTile][kCLd];
    const int nt = (int)((M + kTile - 1) / kTile);
    int ta, tb;
    tile_pair(blockIdx.x, nt, ta, tb);
    const int64_t g = blockIdx.y;
    const int64_t c0 = (int64_t)blockIdx.z * chunk_rows;
    const int64_t c1 = min(c0 + chunk_rows, T_rows);
    if (c0 >= c1) return;
    const T *base = z + g * M;
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;

    int64_t doc = find_doc(off, n_docs, c0, T_rows);
    int64_t seg0 = c0;
    while (seg0 < c1) {
        int64_t seg1 = min(doc_off(off, doc + 1, T_rows), c1);
        if (doc == n_docs - 1) seg1 = c1;
        float acc[4][4] = {};
        for (int64_t t0 = seg0; t0 < seg1; t0 += kBK) {
            // Stage rows [t0, t0+kBK) of the two column ranges as fp32.
#pragma unroll
            for (int r = 0; r < (kBK * kTile) / kTiledThreads; ++r) {
                const int e = tid + r * kTiledThreads;
                const int row = e / kTile, col = e % kTile;
                const int64_t t = t0 + row;
                const int64_t ca = (int64_t)ta * kTile + col, cb = (int64_t)tb * kTile + col;
                const bool ok = t < seg1;
                As[row][col] = (ok && ca < M) ? to_f(base[t * row_stride + ca]) : 0.f;
                Bs[row][col] = (ok && cb < M) ? to_f(base[t * row_stride + cb]) : 0.f;
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < kBK; ++kk) {
                const float4 av = *reinterpret_cast<const float4 *>(&As[kk][ty * 4]);
                const float4 bv = *reinterpret_cast<const float4 *>(&Bs[kk][tx * 4]);
                const float a4[4] = {av.x, av.y, av.z, av.w};
                const float b4[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a4[i], b4[j], acc[i][j]);
            }
            __syncthreads();
        }
        if (seg1 > seg0) {
#pragma unroll
            for (int i = 0; i < 4; ++i)
                *reinterpret_cast<float4 *>(&Cs[ty * 4 + i][tx * 4]) =
                    make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
            __syncthreads();
            add_tile_from_smem(&Cs[0][0], kCLd, gram + (doc * (int64_t)gridDim.y + g) * M * M, M,
                               ta, tb, atomic);
            __syncthreads();
        }
        seg0 = seg1;
        ++doc;
    }
}

// ------------------------------------------------------------- 3_wmma

constexpr int kWK = 32;            // rows per shared-memory slab
constexpr int kWLd = kTile + 8;    // bf16/f16 row stride in shared memory
constexpr int kWmmaThreads = 128;  // 4 warps, 2x2 of 32x32 sub-tiles

template <typename T>
struct WmmaSmem {
    __align__(32) T a[kWK][kWLd];
    __align__(32) T b[kWK][kWLd];
    __align__(32) float c[kTile][kCLd];
};

template <typename T, typename A, bool VEC>
__global__ void __launch_bounds__(kWmmaThreads)
    gram_wmma_kernel(const T *__restrict__ z, int64_t T_rows, int64_t row_stride, int64_t M,
                     const int64_t *__restrict__ off, int64_t n_docs, A *__restrict__ gram,
                     int64_t chunk_rows, bool atomic) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    using namespace nvcuda;
    __shared__ WmmaSmem<T> sm;
    const int nt = (int)((M + kTile - 1) / kTile);
    int ta, tb;
    tile_pair(blockIdx.x, nt, ta, tb);
    const int64_t g = blockIdx.y;
    const int64_t c0 = (int64_t)blockIdx.z * chunk_rows;
    const int64_t c1 = min(c0 + chunk_rows, T_rows);
    if (c0 >= c1) return;
    const T *base = z + g * M;
    const int tid = threadIdx.x, warp = tid / 32;
    const int wm = warp / 2, wn = warp % 2;
    const T zero = from_f<T>(0.f);

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> cf[2][2];
    int64_t doc = find_doc(off, n_docs, c0, T_rows);
    int64_t seg0 = c0;
    while (seg0 < c1) {
        int64_t seg1 = min(doc_off(off, doc + 1, T_rows), c1);
        if (doc == n_docs - 1) seg1 = c1;
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::fill_fragment(cf[i][j], 0.f);
        for (int64_t t0 = seg0; t0 < seg1; t0 += kWK) {
            if constexpr (VEC) {
                // 8 elements (16 bytes) per load; M % 8 == 0 so a vector is all in or out.
                for (int e = tid; e < kWK * kTile / 8; e += kWmmaThreads) {
                    const int row = e / (kTile / 8), col = (e % (kTile / 8)) * 8;
                    const int64_t t = t0 + row;
                    const int64_t ca = (int64_t)ta * kTile + col, cb = (int64_t)tb * kTile + col;
                    uint4 va = make_uint4(0, 0, 0, 0), vb = va;
                    if (t < seg1 && ca < M)
                        va = *reinterpret_cast<const uint4 *>(base + t * row_stride + ca);
                    if (t < seg1 && cb < M)
                        vb = *reinterpret_cast<const uint4 *>(base + t * row_stride + cb);
                    *reinterpret_cast<uint4 *>(&sm.a[row][col]) = va;
                    *reinterpret_cast<uint4 *>(&sm.b[row][col]) = vb;
                }
            } else {
                for (int e = tid; e < kWK * kTile; e += kWmmaThreads) {
                    const int row = e / kTile, col = e % kTile;
                    const int64_t t = t0 + row;
                    const int64_t ca = (int64_t)ta * kTile + col, cb = (int64_t)tb * kTile + col;
                    sm.a[row][col] = (t < seg1 && ca < M) ? base[t * row_stride + ca] : zero;
                    sm.b[row][col] = (t < seg1 && cb < M) ? base[t * row_stride + cb] : zero;
                }
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < kWK; kk += 16) {
                // A = Y^T: element (m, k) at a[k][m] -> col_major with ld kWLd.
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::col_major> af[2];
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bf[2];
#pragma unroll
                for (int i = 0; i < 2; ++i)
                    wmma::load_matrix_sync(af[i], &sm.a[kk][wm * 32 + i * 16], kWLd);
#pragma unroll
                for (int j = 0; j < 2; ++j)
                    wmma::load_matrix_sync(bf[j], &sm.b[kk][wn * 32 + j * 16], kWLd);
#pragma unroll
                for (int i = 0; i < 2; ++i)
#pragma unroll
                    for (int j = 0; j < 2; ++j) wmma::mma_sync(cf[i][j], af[i], bf[j], cf[i][j]);
            }
            __syncthreads();
        }
        if (seg1 > seg0) {
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j)
                    wmma::store_matrix_sync(&sm.c[wm * 32 + i * 16][wn * 32 + j * 16], cf[i][j],
                                            kCLd, wmma::mem_row_major);
            __syncthreads();
            A *out = gram + (doc * (int64_t)gridDim.y + g) * M * M;
            add_tile_from_smem(&sm.c[0][0], kCLd, out, M, ta, tb, atomic);
            __syncthreads();
        }
        seg0 = seg1;
        ++doc;
    }
#endif
}

// Number of row chunks (blocks per output tile). More chunks fill the GPU and
// even out the last wave, but each (chunk, document) adds its tile with atomics:
// take the fewest chunks (of >= 256 rows, at most 64) whose wave efficiency
// (blocks / slots over its ceiling) is within 5% of the best seen.
int64_t pick_chunks(int64_t tiles, int64_t T_rows, int64_t slots) {
    int64_t max_c = T_rows / 256;
    if (max_c > 64) max_c = 64;
    if (max_c < 1) max_c = 1;
    if (slots < 1) slots = 1;
    int64_t best = 1;
    double best_eff = 0.0;
    for (int64_t c = 1; c <= max_c; ++c) {
        const double waves = (double)(tiles * c) / (double)slots;
        const double eff = waves / std::ceil(waves);
        if (eff > best_eff * 1.05) {
            best_eff = eff;
            best = c;
        }
    }
    return best;
}

template <typename K>
int64_t slots_of(K kernel, int threads, const DeviceGuard &dev) {
    int occ = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, kernel, threads, 0) != cudaSuccess) {
        cudaGetLastError();
        occ = 1;
    }
    return (int64_t)(occ < 1 ? 1 : occ) * dev.sm_count();
}

}  // namespace
}  // namespace cusprun_cuda

using namespace cusprun_cuda;

extern "C" int cusprun_cuda_head_gram(int device, int variant, void *stream,
                                      cusprun_dtype act_dtype, const void *z, int64_t T, int64_t H,
                                      int64_t d, int64_t group_size, const int64_t *doc_offsets,
                                      int64_t n_docs, cusprun_dtype acc_dtype, void *gram) {
    const char *v = nullptr;
    CUSPRUN_TRY(resolve_variant(K_HEAD_GRAM, variant, &v));
    CUSPRUN_TRY(cusprun_args::head_gram(fail, "cusprun_cuda_head_gram", act_dtype, z, T, H, d,
                                        group_size, doc_offsets, n_docs, acc_dtype, gram));
    DeviceGuard dev;
    CUSPRUN_TRY(dev.enter(device));
    if (T == 0) return CUSPRUN_OK;
    cudaStream_t s = as_stream(stream);
    const int64_t n_groups = H / group_size;
    const int64_t M = group_size * d;
    const int64_t row_stride = H * d;
    if (n_groups > 65535 || ceil_div(M, kTile) > 2048)
        return fail(CUSPRUN_ERR_UNSUPPORTED,
                    "head_gram: n_groups=%lld or group_size*d=%lld too large", (long long)n_groups,
                    (long long)M);

    return with_act_type(act_dtype, [&](auto act_tag) {
        using TT = decltype(act_tag);
        return with_acc_type(acc_dtype, [&](auto acc_tag) {
            using A = decltype(acc_tag);
            const TT *zz = static_cast<const TT *>(z);
            A *out = static_cast<A *>(gram);
            if (same_variant(v, variant::kNaive)) {
                dim3 block(32, 8);
                const int64_t dz = n_docs * n_groups;
                dim3 grid((unsigned)ceil_div(M, 32), (unsigned)ceil_div(M, 8),
                          (unsigned)(dz < 65535 ? dz : 65535));
                gram_naive_kernel<TT, A><<<grid, block, 0, s>>>(zz, T, row_stride, M, n_groups,
                                                                doc_offsets, n_docs, out);
                CUSPRUN_LAUNCHED("head_gram 1_naive launch");
                return (int)CUSPRUN_OK;
            }
            const int64_t nt = ceil_div(M, kTile);
            const int64_t pairs = nt * (nt + 1) / 2;
            const int64_t tiles = pairs * n_groups;
            const bool use_wmma =
                same_variant(v, variant::kWmma) && !std::is_same<TT, float>::value;
            if (use_wmma) {
                if constexpr (!std::is_same<TT, float>::value) {
                    const bool vec = M % 8 == 0 && row_stride % 8 == 0 &&
                                     reinterpret_cast<uintptr_t>(zz) % 16 == 0;
                    auto kernel =
                        vec ? gram_wmma_kernel<TT, A, true> : gram_wmma_kernel<TT, A, false>;
                    const int64_t chunks =
                        pick_chunks(tiles, T, slots_of(kernel, kWmmaThreads, dev));
                    const int64_t chunk_rows = ceil_div(T, chunks);
                    dim3 grid((unsigned)pairs, (unsigned)n_groups,
                              (unsigned)ceil_div(T, chunk_rows));
                    kernel<<<grid, kWmmaThreads, 0, s>>>(zz, T, row_stride, M, doc_offsets, n_docs,
                                                         out, chunk_rows, chunks > 1);
                    CUSPRUN_LAUNCHED("head_gram 3_wmma launch");
                }
                return (int)CUSPRUN_OK;
            }
            auto kernel = gram_tiled_kernel<TT, A>;
            const int64_t chunks = pick_chunks(tiles, T, slots_of(kernel, kTiledThreads, dev));
            const int64_t chunk_rows = ceil_div(T, chunks);
            dim3 grid((unsigned)pairs, (unsigned)n_groups, (unsigned)ceil_div(T, chunk_rows));
            kernel<<<grid, kTiledThreads, 0, s>>>(zz, T, row_stride, M, doc_offsets, n_docs, out,
                                                  chunk_rows, chunks > 1);
            CUSPRUN_LAUNCHED("head_gram 2_tiled_smem launch");
            return (int)CUSPRUN_OK;
        });
    });
}
