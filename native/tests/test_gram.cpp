// cusprun_gram_f32 (the upper tiles of x x^T as GEMMs on the OpenMP pool, the lower ones their
// transposes) against a double reference and against cusprun_linear_f32(x, x), on random shapes,
// strides and thread counts; the BLAS is the system's reference libblas.so.3, loaded as in
// test_linear. Without one only the argument and "no BLAS loaded" errors are checked.
#include <dlfcn.h>
#include <omp.h>

#include "test_util.h"

static void check_shape(std::mt19937_64 &rng, int64_t n, int64_t k, int64_t padX, int64_t padG,
                        int threads) {
    const int64_t ldx = k + padX, ldg = n + padG;
    Buf x(CUSPRUN_F32, (size_t)(n * ldx)), g(CUSPRUN_F32, (size_t)(n * ldg)),
        y(CUSPRUN_F32, (size_t)(n * n)), xc(CUSPRUN_F32, (size_t)(n * k));
    fill_normal(x, rng);
    fill_nan(g);  // poison: every element must be written, the padding must stay NaN
    fill_nan(y);
    omp_set_num_threads(threads);
    int rc = cusprun_gram_f32((const float *)x.data(), ldx, (float *)g.data(), ldg, n, k);
    CHECK(rc == CUSPRUN_OK, "n=%lld k=%lld: rc %d (%s)", (long long)n, (long long)k, rc,
          cusprun_last_error());
    // cusprun_linear_f32 takes w contiguous: x without its row padding
    for (int64_t r = 0; r < n; ++r)
        for (int64_t j = 0; j < k; ++j) xc.set((size_t)(r * k + j), x.get((size_t)(r * ldx + j)));
    rc = cusprun_linear_f32((const float *)x.data(), ldx, (const float *)xc.data(),
                            (float *)y.data(), n, n, k, n);
    CHECK(rc == CUSPRUN_OK, "linear n=%lld k=%lld: rc %d", (long long)n, (long long)k, rc);
    int64_t bad = 0, padTouched = 0, asymmetric = 0, unlikeLinear = 0;
    for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < ldg; ++c) {
            double got = g.get((size_t)(r * ldg + c));
            if (c >= n) {
                padTouched += !isnan(got);
                continue;
            }
            double ref = 0, mag = 0;
            for (int64_t j = 0; j < k; ++j) {
                double p = x.get((size_t)(r * ldx + j)) * x.get((size_t)(c * ldx + j));
                ref += p;
                mag += fabs(p);
            }
            bad += !(fabs(got - ref) <= 1e-5 * mag + 1e-30);  // NaN fails too
            float a = (float)got, b = (float)g.get((size_t)(c * ldg + r));
            asymmetric += memcmp(&a, &b, sizeof a) != 0;
            // on and above the diagonal tiles: the very call cusprun_linear_f32 makes
            if (c / 512 >= r / 512) {
                float l = (float)y.get((size_t)(r * n + c));
                unlikeLinear += memcmp(&a, &l, sizeof a) != 0;
            }
        }
    }
    CHECK(bad == 0, "n=%lld k=%lld ldx=%lld ldg=%lld threads=%d: %lld wrong elements", (long long)n,
          (long long)k, (long long)ldx, (long long)ldg, threads, (long long)bad);
    CHECK(padTouched == 0, "row padding written (%lld elements)", (long long)padTouched);
    CHECK(asymmetric == 0, "n=%lld: %lld elements differ from their transposes", (long long)n,
          (long long)asymmetric);
    CHECK(unlikeLinear == 0, "n=%lld k=%lld threads=%d: %lld upper elements differ from linear_f32",
          (long long)n, (long long)k, threads, (long long)unlikeLinear);
}

int main() {
    float one = 1.0f, out = 0.0f;
    CHECK(cusprun_gram_f32(nullptr, 1, &out, 1, 1, 1) == CUSPRUN_ERR_ARGUMENT, "null x accepted");
    CHECK(cusprun_gram_f32(&one, 1, &out, 0, 1, 1) == CUSPRUN_ERR_ARGUMENT, "ldg < n accepted");
    CHECK(strstr(cusprun_last_error(), "ldg") != nullptr, "message: %s", cusprun_last_error());
    CHECK(cusprun_gram_f32(&one, 1, &out, 1, 1, 0) == CUSPRUN_ERR_ARGUMENT, "k = 0 accepted");

    void *blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_NOLOAD);
    CHECK(blas == nullptr, "libblas.so.3 loaded before the test loaded it");
    int rc = cusprun_gram_f32(&one, 1, &out, 1, 1, 1);
    CHECK(rc == CUSPRUN_ERR_UNSUPPORTED, "without a BLAS: rc %d", rc);
    CHECK(strstr(cusprun_last_error(), "cblas_sgemm") != nullptr, "message: %s",
          cusprun_last_error());

    blas = dlopen("libblas.so.3", RTLD_NOW | RTLD_GLOBAL);
    if (blas == nullptr || dlsym(blas, "cblas_sgemm") == nullptr) {
        printf("test_gram: no libblas.so.3 with cblas_sgemm here, GEMM checks skipped\n");
        return finish("test_gram");
    }
    std::mt19937_64 rng(20261207);
    // one call (tiny), one tile, 2 x 2 tiles (the demo model's 768), a partial last tile with
    // padded rows, 3 x 3 tiles
    const int64_t shapes[][4] = {
        {5, 3, 0, 0}, {300, 64, 2, 1}, {768, 40, 0, 0}, {700, 33, 5, 3}, {1100, 17, 0, 4}};
    for (auto &s : shapes) {
        for (int threads : {1, 2, 3}) {
            check_shape(rng, s[0], s[1], s[2], s[3], threads);
        }
    }
    return finish("test_gram");
}
