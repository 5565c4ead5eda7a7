// cusprun_linear_f32 (tiles of single-threaded GEMMs on the OpenMP pool) against a double
// reference, on random shapes, strides and thread counts; the BLAS is the system's reference
// libblas.so.3, loaded here the way LibTorch brings OpenBLAS into the JVM. Without one only the
// argument and "no BLAS loaded" errors are checked.
#include <dlfcn.h>
#include <omp.h>

#include "test_util.h"

static void check_shape(std::mt19937_64 &rng, int64_t n, int64_t k, int64_t m, int64_t padX,
                        int64_t padY, int threads) {
    const int64_t ldx = k + padX, ldy = m + padY;
    Buf x(CUSPRUN_F32, (size_t)(n * ldx)), w(CUSPRUN_F32, (size_t)(m * k)),
        y(CUSPRUN_F32, (size_t)(n * ldy));
    fill_normal(x, rng);
    fill_normal(w, rng);
    fill_nan(y);  // poison: every element of y must be written, the padding must stay NaN
    omp_set_num_threads(threads);
    int rc = cusprun_linear_f32((const float *)x.data(), ldx, (const float *)w.data(),
                                (float *)y.data(), ldy, n, k, m);
    CHECK(rc == CUSPRUN_OK, "n=%lld k=%lld m=%lld: rc %d (%s)", (long long)n, (long long)k,
          (long long)m, rc, cusprun_last_error());
    int64_t bad = 0, padTouched = 0;
    for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < ldy; ++c) {
            double got = y.get((size_t)(r * ldy + c));
            if (c >= m) {
                padTouched += !isnan(got);
                continue;
            }
            double ref = 0, mag = 0;
            for (int64_t j = 0; j < k; ++j) {
                double p = x.get((size_t)(r * ldx + j)) * w.get((size_t)(c * k + j));
                ref += p;
                mag += fabs(p);
            }
            bad += !(fabs(got - ref) <= 1e-5 * mag + 1e-30);  // NaN fails too
        }
    }
    CHECK(bad == 0, "n=%lld k=%lld m=%lld ldx=%lld ldy=%lld threads=%d: %lld wrong elements",
          (long long)n, (long long)k, (long long)m, (long long)ldx, (long long)ldy, threads,
          (long long)bad);
    CHECK(padTouched == 0, "row padding written (%lld elements)", (long long)padTouched);
}

int main() {
    float one = 1.0f, out = 0.0f;
    CHECK(cusprun_linear_f32(nullptr, 1, &one, &out, 1, 1, 1, 1) == CUSPRUN_ERR_ARGUMENT,
          "null x accepted");
    CHECK(cusprun_linear_f32(&one, 0, &one, &out, 1, 1, 1, 1) == CUSPRUN_ERR_ARGUMENT,
          "ldx < k accepted");
    CHECK(strstr(cusprun_last_error(), "ldx") != nullptr, "message: %s", cusprun_last_error());
    CHECK(cusprun_linear_f32(&one, 1, &one, &out, 1, 1, 1, 0) == CUSPRUN_ERR_ARGUMENT,
          "m = 0 accepted");

    void *blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_NOLOAD);
    CHECK(blas == nullptr, "libblas.so.3 loaded before the test loaded it");
    int rc = cusprun_linear_f32(&one, 1, &one, &out, 1, 1, 1, 1);
    CHECK(rc == CUSPRUN_ERR_UNSUPPORTED, "without a BLAS: rc %d", rc);
    CHECK(strstr(cusprun_last_error(), "cblas_sgemm") != nullptr, "message: %s",
          cusprun_last_error());

    blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_GLOBAL);
    if (blas == nullptr || dlsym(blas, "cblas_sgemm") == nullptr) {
        printf("test_linear: no libblas.so.3 with cblas_sgemm here, GEMM checks skipped\n");
        return finish("test_linear");
    }
    std::mt19937_64 rng(20261128);
    // one call (tiny), column tiles only, column and row tiles, odd sizes, padded rows
    const int64_t shapes[][5] = {{3, 5, 7, 0, 0},       {64, 96, 200, 0, 0}, {37, 129, 300, 3, 5},
                                 {200, 64, 1000, 0, 0}, {513, 40, 70, 7, 1}, {1, 256, 4097, 0, 2}};
    for (auto &s : shapes) {
        for (int threads : {1, 2, 3, 8}) {
            check_shape(rng, s[0], s[1], s[2], s[3], s[4], threads);
        }
    }
    return finish("test_linear");
}
