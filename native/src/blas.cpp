// The process's CBLAS library (LibTorch's CPU build brings OpenBLAS): its thread count, and
// Linear layers run as tiles of single-threaded GEMMs on the OpenMP pool.
//
// Why: OpenBLAS keeps its own busy-waiting thread pool beside the OpenMP pool that runs
// everything else (LibTorch's elementwise ops, SDPA, our kernels). On cores shared with other
// processes the two pools thrash; with OpenBLAS on one thread the GEMMs, most of a forward
// pass, used one core. Tiling the GEMM on the OpenMP pool gives one pool that fills every core.
// The measurements are in benchmarks/README.md, "Threads".
#include <dlfcn.h>
#include <limits.h>
#include <omp.h>

#include <algorithm>
#include <atomic>

#include "cusprun.h"
#include "internal.h"

namespace {

// cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
using sgemm_fn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *,
                          int, float, float *, int);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

// The tile grid of cusprun_linear_f32: 512 x 512 tiles. Each tile is a GEMM call that packs
// its own panels of x and w, so smaller tiles cost more (the grids compared: benchmarks/README.md
// "Threads"); a 2048-token batch still gives 4 row tiles per 512 columns.
constexpr int64_t kTileRows = 512, kTileCols = 512;

// A symbol of a BLAS library already in the process (RTLD_NOLOAD: never loads one itself).
// OpenBLAS first (LibTorch's); the system's reference libblas.so.3 last (the ctest programs).
void *loaded_blas_symbol(const char *symbol) {
    const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblas_nolapack.so.0",
                           "libblas.so.3"};
    for (const char *name : names) {
        void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
        if (h == nullptr) {
            continue;
        }
        void *f = dlsym(h, symbol);
        dlclose(h);  // drops the reference RTLD_NOLOAD added; the library stays loaded
        if (f != nullptr) {
            return f;
        }
    }
    return nullptr;
}

// cblas_sgemm of the loaded BLAS: found once, then cached; not cached while absent (a BLAS
// may be loaded later).
sgemm_fn loaded_sgemm() {
    static std::atomic<sgemm_fn> found{nullptr};
    sgemm_fn sgemm = found.load(std::memory_order_acquire);
    if (sgemm == nullptr) {
        sgemm = reinterpret_cast<sgemm_fn>(loaded_blas_symbol("cblas_sgemm"));
        found.store(sgemm, std::memory_order_release);
    }
    return sgemm;
}

}  // namespace

extern "C" int cusprun_set_blas_threads(int threads) {
    if (threads < 1) {
        return -1;
    }
    auto set = reinterpret_cast<void (*)(int)>(loaded_blas_symbol("openblas_set_num_threads"));
    if (set == nullptr) {
        return 0;
    }
    set(threads);
    return 1;
}

extern "C" int cusprun_linear_f32(const float *x, int64_t ldx, const float *w, float *y,
                                  int64_t ldy, int64_t n, int64_t k, int64_t m) {
    using cusprun::fail;
    if (x == nullptr || w == nullptr || y == nullptr) {
        return fail(CUSPRUN_ERR_ARGUMENT, "linear_f32: null pointer");
    }
    if (n < 1 || k < 1 || m < 1 || ldx < k || ldy < m || n > INT_MAX || k > INT_MAX ||
        m > INT_MAX || ldx > INT_MAX || ldy > INT_MAX) {
        return fail(CUSPRUN_ERR_ARGUMENT,
                    "linear_f32: bad sizes n=%lld k=%lld m=%lld ldx=%lld ldy=%lld (need >= 1, ldx "
                    ">= k, ldy >= m, "
                    "each below 2^31)",
                    (long long)n, (long long)k, (long long)m, (long long)ldx, (long long)ldy);
    }
    sgemm_fn sgemm = loaded_sgemm();
    if (sgemm == nullptr) {
        return fail(CUSPRUN_ERR_UNSUPPORTED,
                    "linear_f32: no CBLAS library (cblas_sgemm) is loaded in this process");
    }
    // Tiles of y on a fixed grid (kTileRows x kTileCols), whatever the thread count: each
    // element of y comes from a GEMM call of the same shape, so y has the same bits on 1 thread
    // or 64 (a GEMM kernel's accumulation order can depend on the shape it is called with).
    // Small products run as one call, also a function of the shape only.
    const double flops = 2.0 * (double)n * (double)k * (double)m;
    if (flops < 4e6) {
        sgemm(kRowMajor, kNoTrans, kTrans, (int)n, (int)m, (int)k, 1.0f, x, (int)ldx, w, (int)k,
              0.0f, y, (int)ldy);
        return CUSPRUN_OK;
    }
    const int64_t colParts = (m + kTileCols - 1) / kTileCols;
    const int64_t rowParts = (n + kTileRows - 1) / kTileRows;
    const int64_t tiles = colParts * rowParts;
    // dynamic: on cores shared with other work, a thread that gets more CPU takes more tiles
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t tile = 0; tile < tiles; tile++) {
        const int64_t c0 = (tile % colParts) * kTileCols, r0 = (tile / colParts) * kTileRows;
        const int64_t cols = std::min(kTileCols, m - c0), rows = std::min(kTileRows, n - r0);
        sgemm(kRowMajor, kNoTrans, kTrans, (int)rows, (int)cols, (int)k, 1.0f, x + r0 * ldx,
              (int)ldx, w + c0 * k, (int)k, 0.0f, y + r0 * ldy + c0, (int)ldy);
    }
    return CUSPRUN_OK;
}

// The Gram x x^T is symmetric: only the tiles on and above the diagonal of the same 512 x 512
// grid run a GEMM (about half the multiply-adds for many tiles), each exactly the call
// cusprun_linear_f32(x, x) makes for that tile; the tiles below are the transposes of those
// above. Compensation accumulates one such Gram per batch and layer, at F^2 multiply-adds per
// token: more than the layer's forward pass at F = 4 D.
extern "C" int cusprun_gram_f32(const float *x, int64_t ldx, float *g, int64_t ldg, int64_t n,
                                int64_t k) {
    using cusprun::fail;
    if (x == nullptr || g == nullptr) {
        return fail(CUSPRUN_ERR_ARGUMENT, "gram_f32: null pointer");
    }
    if (n < 1 || k < 1 || ldx < k || ldg < n || n > INT_MAX || k > INT_MAX || ldx > INT_MAX ||
        ldg > INT_MAX) {
        return fail(CUSPRUN_ERR_ARGUMENT,
                    "gram_f32: bad sizes n=%lld k=%lld ldx=%lld ldg=%lld (need >= 1, ldx >= k, "
                    "ldg >= n, each below 2^31)",
                    (long long)n, (long long)k, (long long)ldx, (long long)ldg);
    }
    sgemm_fn sgemm = loaded_sgemm();
    if (sgemm == nullptr) {
        return fail(CUSPRUN_ERR_UNSUPPORTED,
                    "gram_f32: no CBLAS library (cblas_sgemm) is loaded in this process");
    }
    const int64_t parts = (n + kTileCols - 1) / kTileCols;
    const double flops = 2.0 * (double)n * (double)k * (double)n;
    if (flops < 4e6 || parts == 1) {  // one tile: the whole product, as cusprun_linear_f32
        sgemm(kRowMajor, kNoTrans, kTrans, (int)n, (int)n, (int)k, 1.0f, x, (int)ldx, x, (int)ldx,
              0.0f, g, (int)ldg);
        return CUSPRUN_OK;
    }
    // the upper tiles (r <= c), numbered row by row
    const int64_t tiles = parts * (parts + 1) / 2;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t r = 0, first = 0;  // first: the number of the row's first tile
        while (first + (parts - r) <= t) {
            first += parts - r;
            r++;
        }
        const int64_t c = r + (t - first);
        const int64_t r0 = r * kTileRows, c0 = c * kTileCols;
        const int64_t rows = std::min(kTileRows, n - r0), cols = std::min(kTileCols, n - c0);
        sgemm(kRowMajor, kNoTrans, kTrans, (int)rows, (int)cols, (int)k, 1.0f, x + r0 * ldx,
              (int)ldx, x + c0 * ldx, (int)ldx, 0.0f, g + r0 * ldg + c0, (int)ldg);
    }
    // the lower tiles: row i below the diagonal tiles takes column i of the tiles above
#pragma omp parallel for schedule(static)
    for (int64_t i = kTileRows; i < n; i++) {
        const int64_t end = (i / kTileRows) * kTileCols;  // first column of i's diagonal tile
        float *row = g + i * ldg;
        for (int64_t j = 0; j < end; j++) {
            row[j] = g[j * ldg + i];
        }
    }
    return CUSPRUN_OK;
}
