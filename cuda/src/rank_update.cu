// Kernel 4: rank update (docs/method.md, Ranks and the selection rule). Per document,
// rank the N relevances ascending with mean ranks for ties, p = rank / (N - 1); then per neuron
// rank_max = max(rank_max, p), rank_hist[bin(p)] += 1, relevance_sum += rel (exact 128-bit
// fixed point, kernel_args.h's exact_add, the same text as the CPU's).
//   1_naive        one thread per neuron: for each document counts the values
//                  below / equal to its own (O(N) per document), then updates
//                  its own outputs in document order (no atomics).
//   2_cub_segsort  CUB segmented radix sort of (value, index) per document, mean
//                  ranks of tie runs by binary search in the sorted values, ranks
//                  scattered to a scratch n_docs x N array, then one thread per
//                  neuron folds the documents in order (deterministic, no atomics).
// Percentiles and bins are computed in double, then p is stored as float. Relevance outside
// [0, 2^62) is refused (device scan, refuse_out_of_range) before either variant runs.
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>

#include "common.cuh"

namespace cusprun_cuda {
namespace {

// Folds one document's rank into neuron k's outputs.
__device__ __forceinline__ void fold(double rank, int64_t N, int64_t k, double rel, int32_t *hist,
                                     int64_t n_bins, float &mx, int64_t *sum) {
    const double p = N > 1 ? rank / (double)(N - 1) : 0.0;
    const float pf = (float)p;
    mx = fmaxf(mx, pf);
    int64_t bin = (int64_t)floor(p * (double)n_bins);
    if (bin > n_bins - 1) bin = n_bins - 1;
    if (bin < 0) bin = 0;
    hist[k * n_bins + bin] += 1;
    cusprun_args::exact_add(sum, k, rel);
}

// ------------------------------------------------------------ 1_naive

template <typename R>
__global__ void rank_naive_kernel(const R *__restrict__ rel, int64_t n_docs, int64_t N,
                                  float *__restrict__ rank_max, int32_t *__restrict__ hist,
                                  int64_t n_bins, int64_t *__restrict__ rel_sum) {
    const int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= N) return;
    float mx = rank_max[k];
    for (int64_t doc = 0; doc < n_docs; ++doc) {
        const R *row = rel + doc * N;
        const R v = row[k];
        int64_t less = 0, equal = 0;
        for (int64_t j = 0; j < N; ++j) {
            const R x = row[j];
            less += x < v;
            equal += x == v;
        }
        // Mean of ranks less .. less+equal-1 (equal >= 1 unless v is NaN).
        const double rank = (double)less + (equal > 0 ? (double)(equal - 1) * 0.5 : 0.0);
        fold(rank, N, k, (double)v, hist, n_bins, mx, rel_sum);
    }
    rank_max[k] = mx;
}

// ------------------------------------------------------- 2_cub_segsort

__global__ void iota_segments_kernel(int32_t *__restrict__ idx, int *__restrict__ seg_off,
                                     int64_t n_docs, int64_t N) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n_docs * N) idx[i] = (int32_t)(i % N);
    if (i <= n_docs) seg_off[i] = (int)(i * N);
}

// One thread per sorted position: mean rank of its tie run, scattered to the neuron.
template <typename R>
__global__ void tie_rank_kernel(const R *__restrict__ sorted, const int32_t *__restrict__ idx,
                                int64_t n_docs, int64_t N, float *__restrict__ ranks) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_docs * N) return;
    const int64_t doc = i / N;
    const R *seg = sorted + doc * N;
    const R v = sorted[i];
    // lower_bound: first position with seg[p] >= v; upper_bound: first with seg[p] > v.
    int64_t lo = 0, hi = N;
    while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (seg[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    int64_t lo2 = lo, hi2 = N;
    while (lo2 < hi2) {
        const int64_t mid = (lo2 + hi2) / 2;
        if (seg[mid] <= v) lo2 = mid + 1;
        else hi2 = mid;
    }
    const int64_t pos = i - doc * N;
    // NaN compares false everywhere: keep its own position as its rank.
    const double rank = lo2 > lo ? 0.5 * (double)(lo + lo2 - 1) : (double)pos;
    ranks[doc * N + idx[i]] = (float)rank;  // multiples of 0.5 below 2^23: exact
}

template <typename R>
__global__ void fold_kernel(const R *__restrict__ rel, const float *__restrict__ ranks,
                            int64_t n_docs, int64_t N, float *__restrict__ rank_max,
                            int32_t *__restrict__ hist, int64_t n_bins,
                            int64_t *__restrict__ rel_sum) {
    const int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= N) return;
    float mx = rank_max[k];
    for (int64_t doc = 0; doc < n_docs; ++doc)
        fold((double)ranks[doc * N + k], N, k, (double)rel[doc * N + k], hist, n_bins, mx, rel_sum);
    rank_max[k] = mx;
}

template <typename R>
int rank_segsort(cudaStream_t s, const R *rel, int64_t n_docs, int64_t N, float *rank_max,
                 int32_t *hist, int64_t n_bins, int64_t *rel_sum) {
    // CUB takes int item counts: sort at most `batch` documents at a time.
    int64_t batch = (int64_t)(INT_MAX / 2) / N;
    if (batch < 1)
        return fail(CUSPRUN_ERR_UNSUPPORTED, "rank_update 2_cub_segsort: N=%lld too large",
                    (long long)N);
    if (batch > n_docs) batch = n_docs;
    const int64_t items = batch * N;

    size_t temp_bytes = 0;
    CUSPRUN_CU(cub::DeviceSegmentedRadixSort::SortPairs(
        nullptr, temp_bytes, rel, (R *)nullptr, (const int32_t *)nullptr, (int32_t *)nullptr,
        (int)items, (int)batch, (const int *)nullptr, (const int *)nullptr, 0, (int)sizeof(R) * 8,
        s));
    // One allocation: sorted keys | idx in | idx out | ranks | offsets | CUB temp.
    auto up16 = [](size_t b) { return (b + 255) & ~size_t(255); };
    const size_t b_keys = up16(items * sizeof(R)), b_idx = up16(items * sizeof(int32_t)),
                 b_rank = up16(items * sizeof(float)), b_off = up16((batch + 1) * sizeof(int));
    const size_t total = b_keys + 2 * b_idx + b_rank + b_off + up16(temp_bytes);
    char *mem = nullptr;
    CUSPRUN_CU(cudaMallocAsync((void **)&mem, total, s));
    R *keys_out = (R *)mem;
    int32_t *idx_in = (int32_t *)(mem + b_keys);
    int32_t *idx_out = (int32_t *)(mem + b_keys + b_idx);
    float *ranks = (float *)(mem + b_keys + 2 * b_idx);
    int *seg_off = (int *)(mem + b_keys + 2 * b_idx + b_rank);
    void *temp = mem + b_keys + 2 * b_idx + b_rank + b_off;

    int status = CUSPRUN_OK;
    for (int64_t d0 = 0; d0 < n_docs && status == CUSPRUN_OK; d0 += batch) {
        const int64_t nb = (n_docs - d0) < batch ? (n_docs - d0) : batch;
        const int64_t n = nb * N;
        const R *keys_in = rel + d0 * N;
        const unsigned blocks = (unsigned)ceil_div(n + 1, 256);
        iota_segments_kernel<<<blocks, 256, 0, s>>>(idx_in, seg_off, nb, N);
        cudaError_t e = cudaGetLastError();
        size_t tb = temp_bytes;
        if (e == cudaSuccess)
            e = cub::DeviceSegmentedRadixSort::SortPairs(temp, tb, keys_in, keys_out, idx_in,
                                                         idx_out, (int)n, (int)nb, seg_off,
                                                         seg_off + 1, 0, (int)sizeof(R) * 8, s);
        if (e == cudaSuccess) {
            tie_rank_kernel<R>
                <<<(unsigned)ceil_div(n, 256), 256, 0, s>>>(keys_out, idx_out, nb, N, ranks);
            e = cudaGetLastError();
        }
        if (e == cudaSuccess) {
            fold_kernel<R><<<(unsigned)ceil_div(N, 256), 256, 0, s>>>(
                keys_in, ranks, nb, N, rank_max, hist, n_bins, rel_sum);
            e = cudaGetLastError();
        }
        if (e != cudaSuccess) status = cuda_fail(e, "rank_update 2_cub_segsort");
    }
    cudaError_t fe = cudaFreeAsync(mem, s);
    if (status == CUSPRUN_OK && fe != cudaSuccess) status = cuda_fail(fe, "cudaFreeAsync");
    return status;
}

// Index of the first value of rel outside [0, 2^62) (row-major) into *first, which starts at
// ULLONG_MAX.
template <typename R>
__global__ void first_out_of_range_kernel(const R *__restrict__ rel, int64_t n,
                                          unsigned long long *first) {
    const int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        if (!cusprun_args::relevance_in_range((double)rel[i]))
            atomicMin(first, (unsigned long long)i);
}

// The range policy of both back ends (kernel_args.h): relevance outside [0, 2^62) is refused
// before any accumulator changes, naming the first such value. relevance is device memory,
// so the scan runs on the stream and the host waits for its 8-byte answer (one stream
// synchronisation per call; a refusal copies the offending value too).
template <typename R>
int refuse_out_of_range(cudaStream_t s, const char *fn, const R *rel, int64_t n_docs, int64_t N) {
    const int64_t n = n_docs * N;
    unsigned long long *d_first = nullptr;
    CUSPRUN_CU(cudaMallocAsync((void **)&d_first, sizeof *d_first, s));
    unsigned long long first = ULLONG_MAX;
    cudaError_t e = cudaMemsetAsync(d_first, 0xFF, sizeof *d_first, s);
    if (e == cudaSuccess) {
        const int64_t blocks = ceil_div(n, 256) < 4096 ? ceil_div(n, 256) : 4096;
        first_out_of_range_kernel<R><<<(unsigned)blocks, 256, 0, s>>>(rel, n, d_first);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(&first, d_first, sizeof first, cudaMemcpyDeviceToHost, s);
    cudaError_t fe = cudaFreeAsync(d_first, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    if (e != cudaSuccess) return cuda_fail(e, "rank_update range scan");
    if (fe != cudaSuccess) return cuda_fail(fe, "cudaFreeAsync");
    if (first == ULLONG_MAX) return CUSPRUN_OK;
    R bad{};
    CUSPRUN_CU(cudaMemcpyAsync(&bad, rel + first, sizeof bad, cudaMemcpyDeviceToHost, s));
    CUSPRUN_CU(cudaStreamSynchronize(s));
    return cusprun_args::relevance_out_of_range(fail, fn, (int64_t)first, N, (double)bad);
}

}  // namespace
}  // namespace cusprun_cuda

using namespace cusprun_cuda;

extern "C" int cusprun_cuda_rank_update(int device, int variant, void *stream,
                                        cusprun_dtype rel_dtype, const void *relevance,
                                        int64_t n_docs, int64_t N, float *rank_max,
                                        int32_t *rank_hist, int64_t n_bins,
                                        int64_t *relevance_sum) {
    const char *v = nullptr;
    CUSPRUN_TRY(resolve_variant(K_RANK, variant, &v));
    const char *fn = "cusprun_cuda_rank_update";
    CUSPRUN_TRY(cusprun_args::rank_update(fail, fn, rel_dtype, relevance, n_docs, N, rank_max,
                                          rank_hist, n_bins, relevance_sum));
    if (N > INT32_MAX)
        return fail(CUSPRUN_ERR_UNSUPPORTED, "rank_update: N=%lld exceeds int32 indices",
                    (long long)N);
    DeviceGuard dev;
    CUSPRUN_TRY(dev.enter(device));
    if (n_docs == 0 || N == 0) return CUSPRUN_OK;
    cudaStream_t s = as_stream(stream);
    auto run = [&](auto tag) -> int {
        using R = decltype(tag);
        const R *rel = static_cast<const R *>(relevance);
        CUSPRUN_TRY(refuse_out_of_range<R>(s, fn, rel, n_docs, N));
        if (same_variant(v, variant::kNaive)) {
            rank_naive_kernel<R><<<(unsigned)ceil_div(N, 128), 128, 0, s>>>(
                rel, n_docs, N, rank_max, rank_hist, n_bins, relevance_sum);
            CUSPRUN_LAUNCHED("rank_update 1_naive launch");
            return CUSPRUN_OK;
        }
        return rank_segsort<R>(s, rel, n_docs, N, rank_max, rank_hist, n_bins, relevance_sum);
    };
    return rel_dtype == CUSPRUN_F32 ? run(float{}) : run(double{});
}
