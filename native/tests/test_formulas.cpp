// The formulas themselves (docs/method.md, Relevance of a unit), cheaply: qk_neuron
// against a brute-force full T x T masked softmax difference; the head/group relevance identity
// ||Y W^T||_F^2 = trace(W^T W S) on the head_gram output; and the dtype conversions
// (exhaustive f16/bf16 round trips, RNE ties, F16C hardware where present, and
// subnormal/overflow activations through the SIMD path).
#include <immintrin.h>

#include "test_util.h"

static const int CPU = -1;

static void qk_brute(cusprun_dtype dt, int pairs, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int64_t H = 4, Hkv = 2, d = 6, T = 11, units = pairs ? d / 2 : d;
    std::vector<int64_t> offs{0, 5, 11};
    Buf q(dt, T * H * d), k(dt, T * Hkv * d);
    fill_normal(q, rng);
    fill_normal(k, rng);
    const double scale = 0.7;
    std::vector<double> want(2 * H * units, 0.0);
    for (int doc = 0; doc < 2; ++doc) {
        const int64_t s0 = offs[doc], L = offs[doc + 1] - s0;
        for (int64_t h = 0; h < H; ++h) {
            const int64_t kh = h / (H / Hkv);
            auto softmax_of = [&](auto score) {  // full L x L causal softmax
                std::vector<double> P(L * L, 0.0);
                for (int64_t s = 0; s < L; ++s) {
                    double m = -INFINITY, Z = 0;
                    for (int64_t t = 0; t <= s; ++t) m = std::max(m, score(s, t));
                    for (int64_t t = 0; t <= s; ++t) Z += exp(score(s, t) - m);
                    for (int64_t t = 0; t <= s; ++t) P[s * L + t] = exp(score(s, t) - m) / Z;
                }
                return P;
            };
            auto qv = [&](int64_t s, int64_t j) { return q.get((s0 + s) * H * d + h * d + j); };
            auto kv = [&](int64_t t, int64_t j) { return k.get((s0 + t) * Hkv * d + kh * d + j); };
            auto A = [&](int64_t s, int64_t t) {
                double a = 0;
                for (int64_t j = 0; j < d; ++j) a += qv(s, j) * kv(t, j);
                return scale * a;
            };
            std::vector<double> P = softmax_of(A);
            for (int64_t u = 0; u < units; ++u) {
                std::vector<double> P2 = softmax_of([&](int64_t s, int64_t t) {
                    double D =
                        qv(s, u) * kv(t, u) + (pairs ? qv(s, u + d / 2) * kv(t, u + d / 2) : 0.0);
                    return A(s, t) - scale * D;
                });
                double f = 0;
                for (int64_t i = 0; i < L * L; ++i) f += (P[i] - P2[i]) * (P[i] - P2[i]);
                want[(doc * H + h) * units + u] = f;
            }
        }
    }
    for (int v = 0; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "qk_neuron"); ++v) {
        std::vector<double> got(want.size(), 0.0);
        int rc = cusprun_qk_neuron(CPU, v, nullptr, dt, q.data(), k.data(), T, H, Hkv, d,
                                   (float)scale, pairs, offs.data(), 2, CUSPRUN_F64, got.data());
        CHECK(rc == CUSPRUN_OK, "rc %d %s", rc, cusprun_last_error());
        const double tol = v == 0 ? 1e-6 : 1e-3;  // 1_naive: double, up to fp32 scale
        int bad = 0;
        for (size_t i = 0; i < want.size(); ++i)
            if (!(fabs(got[i] - want[i]) <= tol * want[i] + 1e-9)) ++bad;
        CHECK(bad == 0, "qk v%d %s pairs %d: %d units differ from the T x T brute force", v,
              dtname(dt), pairs, bad);
    }
}

static void gram_identity(uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int64_t T = 23, H = 6, d = 8, gs = 3, ng = H / gs, n = gs * d, D = 5;
    Buf z(CUSPRUN_F32, T * H * d), W(CUSPRUN_F64, D * n);
    fill_normal(z, rng);
    fill_normal(W, rng);
    int64_t offs[2] = {0, T};
    for (int v = 0; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "head_gram"); ++v) {
        std::vector<double> S(ng * n * n, 0.0);
        int rc = cusprun_head_gram(CPU, v, nullptr, CUSPRUN_F32, z.data(), T, H, d, gs, offs, 1,
                                   CUSPRUN_F64, S.data());
        CHECK(rc == CUSPRUN_OK, "rc %d", rc);
        for (int64_t g = 0; g < ng; ++g) {
            double direct = 0, tr = 0;  // ||Y_g W^T||^2 vs trace(W^T W S_g)
            for (int64_t t = 0; t < T; ++t)
                for (int64_t o = 0; o < D; ++o) {
                    double x = 0;
                    for (int64_t i = 0; i < n; ++i)
                        x += W.get(o * n + i) * z.get(t * H * d + g * n + i);
                    direct += x * x;
                }
            for (int64_t i = 0; i < n; ++i)
                for (int64_t j = 0; j < n; ++j) {
                    double G = 0;
                    for (int64_t o = 0; o < D; ++o) G += W.get(o * n + i) * W.get(o * n + j);
                    tr += G * S[g * n * n + i * n + j];
                }
            CHECK(fabs(direct - tr) <= 1e-5 * direct, "gram v%d g%lld: %.9g vs %.9g", v,
                  (long long)g, direct, tr);
        }
    }
}

__attribute__((target("f16c"))) static uint16_t hw_f16(float f) {
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

static void conversions() {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {  // every half and bfloat16 survives a round trip
        float f = cusprun::f16_to_f32((uint16_t)h);
        uint16_t back = cusprun::f32_to_f16(f);
        if (isnan(f) ? !((back & 0x7C00) == 0x7C00 && (back & 0x3FF)) : back != h) ++bad;
        float b = cusprun::bf16_to_f32((uint16_t)h);
        uint16_t bb = cusprun::f32_to_bf16(b);
        if (isnan(b) ? !isnan(cusprun::bf16_to_f32(bb)) : bb != h) ++bad;
    }
    CHECK(bad == 0, "%d round trips failed", bad);
    // RNE ties: 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125 -> even (1.0)
    CHECK(cusprun::f32_to_bf16(cusprun::bits_to_f32(0x3F808000u)) == 0x3F80, "bf16 tie to even");
    CHECK(cusprun::f32_to_bf16(cusprun::bits_to_f32(0x3F818000u)) == 0x3F82, "bf16 tie up to even");
    CHECK(cusprun::f32_to_bf16(cusprun::bits_to_f32(0x3F808001u)) == 0x3F81, "bf16 above tie");
    CHECK(cusprun::f32_to_f16(1.0f + 0x1p-11f) == 0x3C00, "f16 tie to even");
    CHECK(cusprun::f32_to_f16(65520.0f) == 0x7C00 && cusprun::f32_to_f16(65519.0f) == 0x7BFF,
          "f16 overflow edge");
    CHECK(cusprun::f32_to_f16(0x1p-25f) == 0x0000 && cusprun::f32_to_f16(0x1.8p-25f) == 0x0001,
          "f16 subnormal ties");
    if (__builtin_cpu_supports("f16c")) {  // bit-exact against the hardware converter
        std::mt19937_64 rng(5);
        int hw_bad = 0;
        for (int i = 0; i < 2000000; ++i) {
            float f = cusprun::bits_to_f32((uint32_t)rng());
            if (isnan(f)) continue;
            if (cusprun::f32_to_f16(f) != hw_f16(f)) ++hw_bad;
        }
        CHECK(hw_bad == 0, "%d conversions differ from F16C", hw_bad);
    }
}

// Subnormal and overflowing f16 activations through the SIMD path match 1_naive.
static void ffn_specials() {
    const int64_t T = 3, F = 37;
    Buf g(CUSPRUN_F16, T * F), u(CUSPRUN_F16, T * F);
    for (int64_t i = 0; i < T * F; ++i) {
        g.set(i, 4.0 + (double)(i % 7));
        double row = (double)(i / F);
        u.set(i, row == 0 ? 1e-6 * (i % 11) : row == 1 ? 9000.0 * (1 + i % 3) : -3e-7 * (i % 5));
    }
    Buf a0(CUSPRUN_F16, T * F), a1(CUSPRUN_F16, T * F);
    fill_nan(a0);
    fill_nan(a1);
    int rc0 = cusprun_ffn_swiglu(CPU, 0, nullptr, CUSPRUN_F16, g.data(), u.data(), F, a0.data(), T,
                                 F, nullptr, 0, CUSPRUN_F32, nullptr);
    int rc1 = cusprun_ffn_swiglu(CPU, 1, nullptr, CUSPRUN_F16, g.data(), u.data(), F, a1.data(), T,
                                 F, nullptr, 0, CUSPRUN_F32, nullptr);
    CHECK(rc0 == 0 && rc1 == 0, "rc");
    int bad = 0, inf = 0, sub = 0;
    for (int64_t i = 0; i < T * F; ++i) {
        double r = a0.get(i), x = a1.get(i);
        if (isinf(r)) ++inf;
        if (r != 0 && fabs(r) < 6.1e-5) ++sub;
        bool same =
            (isinf(r) && x == r) || fabs(x - r) <= 1e-3 * fabs(r) + 6e-8;  // <= 1 subnormal ulp
        bad += !same;
    }
    CHECK(bad == 0 && inf > 0 && sub > 0, "f16 specials: %d differ (inf %d, subnormal %d)", bad,
          inf, sub);
}

int main() {
    for (auto dt : {CUSPRUN_F32, CUSPRUN_BF16})
        for (int pairs : {0, 1}) qk_brute(dt, pairs, 11 + pairs);
    gram_identity(3);
    gram_identity(4);
    conversions();
    ffn_specials();
    return finish("test_formulas");
}
