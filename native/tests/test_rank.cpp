// rank_update: a hand-computed case with ties, N = 1, random data with many ties against a
// brute-force O(N^2) mean-rank reference (all variants bit-identical), and the exact
// relevance sums against 128-bit integer arithmetic in any document order.
#include <algorithm>
#include <cmath>

#include "test_util.h"

static const int CPU = -1;

struct Acc {
    std::vector<float> mx;
    std::vector<int32_t> hist;
    std::vector<int64_t> sum;  // N x 2: integer part, fraction in units of 2^-64
    Acc(int64_t N, int64_t nb) : mx(N, -1.0f), hist(N * nb, 0), sum(2 * N, 0) {}
    bool operator==(const Acc &o) const { return mx == o.mx && hist == o.hist && sum == o.sum; }
    // The fixed-point sum of unit k as a double (exact for the small sums of the hand case).
    double total(int64_t k) const {
        return (double)sum[2 * k] + (double)(uint64_t)sum[2 * k + 1] * 0x1p-64;
    }
};

static void hand_case(int v) {
    const float a[8] = {3, 1, 3, 2, /* second doc: all tied */ 5, 5, 5, 5};
    Acc acc(4, 4);
    int rc = cusprun_rank_update(CPU, v, nullptr, CUSPRUN_F32, a, 1, 4, acc.mx.data(),
                                 acc.hist.data(), 4, acc.sum.data());
    CHECK(rc == CUSPRUN_OK, "rc %d", rc);
    // sorted: 1 (rank 0), 2 (rank 1), 3, 3 (ranks 2 and 3 -> 2.5); p = rank / 3
    const float pm[4] = {(float)(2.5 / 3), 0.0f, (float)(2.5 / 3), (float)(1.0 / 3)};
    const int bin[4] = {3, 0, 3, 1};  // floor(p * 4)
    for (int k = 0; k < 4; ++k) {
        CHECK(acc.mx[k] == pm[k], "v%d k%d max %g want %g", v, k, acc.mx[k], pm[k]);
        for (int b = 0; b < 4; ++b)
            CHECK(acc.hist[k * 4 + b] == (b == bin[k]), "v%d k%d bin %d", v, k, b);
        CHECK(acc.total(k) == a[k], "v%d k%d sum", v, k);
    }
    rc = cusprun_rank_update(CPU, v, nullptr, CUSPRUN_F32, a + 4, 1, 4, acc.mx.data(),
                             acc.hist.data(), 4, acc.sum.data());
    CHECK(rc == CUSPRUN_OK, "rc %d", rc);
    // all tied: mean rank 1.5 -> p = 0.5, bin 2; max keeps the larger earlier values
    CHECK(acc.mx[1] == 0.5f && acc.mx[3] == 0.5f && acc.mx[0] == pm[0], "v%d ties max", v);
    for (int k = 0; k < 4; ++k)
        CHECK(acc.hist[k * 4 + 2] == 1 + (bin[k] == 2), "v%d tie bin k%d", v, k);
    CHECK(acc.total(1) == 6.0, "v%d sum after two docs", v);

    const double one[2] = {7.0, 0.75};  // N == 1: p = 0
    Acc a1(1, 3);
    rc = cusprun_rank_update(CPU, v, nullptr, CUSPRUN_F64, one, 2, 1, a1.mx.data(), a1.hist.data(),
                             3, a1.sum.data());
    CHECK(rc == CUSPRUN_OK && a1.mx[0] == 0.0f && a1.hist[0] == 2 && a1.sum[0] == 7 &&
              (uint64_t)a1.sum[1] == 3ull << 62,
          "v%d N=1", v);
}

// Sums of values with bits far below the binary point and an integer part near 2^40, added in
// two document orders: both equal the sum of floor(v * 2^64) in 128-bit integers.
static void exact_sum_case(int v) {
    std::mt19937_64 rng(42 + v);
    const int64_t N = 5, nd = 300;
    std::vector<double> rel(N * nd);
    for (auto &x : rel) x = std::ldexp((double)(rng() >> 11), -13 - (int)(rng() % 60));
    std::vector<__int128> want(N, 0);
    for (int64_t i = 0; i < N * nd; ++i) want[i % N] += (__int128)std::ldexp(rel[i], 64);
    std::vector<double> reversed(rel.size());
    for (int64_t doc = 0; doc < nd; ++doc)
        std::copy(rel.begin() + doc * N, rel.begin() + (doc + 1) * N,
                  reversed.begin() + (nd - 1 - doc) * N);
    Acc fwd(N, 4), rev(N, 4);
    CHECK(cusprun_rank_update(CPU, v, nullptr, CUSPRUN_F64, rel.data(), nd, N, fwd.mx.data(),
                              fwd.hist.data(), 4, fwd.sum.data()) == CUSPRUN_OK,
          "exact sums: %s", cusprun_last_error());
    for (int64_t doc = 0; doc < nd; doc += 7)  // in uneven calls, last document first
        CHECK(cusprun_rank_update(CPU, v, nullptr, CUSPRUN_F64, reversed.data() + doc * N,
                                  std::min<int64_t>(7, nd - doc), N, rev.mx.data(), rev.hist.data(),
                                  4, rev.sum.data()) == CUSPRUN_OK,
              "exact sums: %s", cusprun_last_error());
    CHECK(fwd.sum == rev.sum, "v%d: sums depend on the document order", v);
    for (int64_t k = 0; k < N; ++k) {
        CHECK(fwd.sum[2 * k] == (int64_t)(want[k] >> 64) &&
                  (uint64_t)fwd.sum[2 * k + 1] == (uint64_t)want[k],
              "v%d unit %lld: sum differs from the 128-bit reference", v, (long long)k);
    }
}

template <typename R>
static void random_case(uint64_t seed, cusprun_dtype dt) {
    std::mt19937_64 rng(seed);
    const int64_t N = 1003, nd = 70, nb = 10;  // 70 docs: crosses the 64-document batch
    std::vector<R> rel(N * nd);
    std::uniform_int_distribution<int> U(0, 20);
    for (auto &x : rel) x = (R)U(rng) * (R)0.25;                     // many ties
    for (int i = 0; i < 20; ++i) rel[rng() % rel.size()] = (R)-0.0;  // -0 ties with +0
    for (int i = 0; i < 20; ++i) rel[rng() % rel.size()] = (R)((double)(rng() % 1000) * 1e-3);

    Acc brute(N, nb);
    for (int64_t doc = 0; doc < nd; ++doc) {
        const R *v = rel.data() + doc * N;
        for (int64_t k = 0; k < N; ++k) {
            int64_t less = 0, eq = 0;
            for (int64_t j = 0; j < N; ++j) {
                less += v[j] < v[k];
                eq += v[j] == v[k];
            }
            double mean_rank = (double)(2 * less + eq - 1) / 2.0;  // mean of less .. less+eq-1
            cusprun::rank_apply(mean_rank / (double)(N - 1), k, (double)v[k], brute.mx.data(),
                                brute.hist.data(), nb, brute.sum.data());
        }
    }
    for (int v = 0; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "rank_update"); ++v) {
        Acc acc(N, nb);
        int rc = cusprun_rank_update(CPU, v, nullptr, dt, rel.data(), nd, N, acc.mx.data(),
                                     acc.hist.data(), nb, acc.sum.data());
        CHECK(rc == CUSPRUN_OK, "rc %d %s", rc, cusprun_last_error());
        CHECK(acc == brute, "variant %d %s seed %llu differs from the brute-force ranks", v,
              dtname(dt), (unsigned long long)seed);
        int64_t total = 0;
        for (auto h : acc.hist) total += h;
        CHECK(total == N * nd, "histogram holds %lld counts", (long long)total);
    }
}

int main() {
    for (int v = 0; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "rank_update"); ++v) {
        hand_case(v);
        exact_sum_case(v);
    }
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        random_case<float>(seed, CUSPRUN_F32);
        random_case<double>(seed, CUSPRUN_F64);
    }
    return finish("test_rank");
}
