// Every CPU variant of every kernel against the double-precision 1_naive reference,
// on fresh random data (several seeds), sizes that are not multiples of any vector
// width, packed documents with uneven (and empty) lengths, NaN-poisoned act_out and
// accumulators pre-filled with random values (the kernels add into them).
#include <algorithm>

#include "test_util.h"

extern "C" const char *cusprun_internal_cpu_isa(void);

static const cusprun_dtype kAct[] = {CUSPRUN_F32, CUSPRUN_BF16, CUSPRUN_F16};
static const cusprun_dtype kAcc[] = {CUSPRUN_F32, CUSPRUN_F64};
static const int CPU = -1;

// ---------------------------------------------------------------- ffn_swiglu
static void test_ffn(int variant, cusprun_dtype dt, cusprun_dtype acct, uint64_t seed, bool fused) {
    std::mt19937_64 rng(seed);
    const int64_t T = 37, F = 1003, stride = fused ? 2 * F : F + 7;
    Buf in(dt, T * stride * (fused ? 1 : 2));
    fill_normal(in, rng, 2.0);
    const char *base = (const char *)in.data();
    const size_t es = cusprun::dtype_size(dt);
    const void *gate = base, *up = fused ? base + F * es : base + T * stride * es;
    std::vector<int64_t> offs = uneven_offsets(T, rng);
    const int64_t nd = (int64_t)offs.size() - 1;
    Buf act_ref(dt, T * F), act(dt, T * F), act2(dt, T * F);
    fill_nan(act_ref);
    fill_nan(act);
    fill_nan(act2);
    Buf acc_init(acct, nd * F);
    fill_uniform(acc_init, rng, 0.0, 1.0);
    Buf acc_ref = acc_init, acc = acc_init, acc2 = acc_init;

    int rc = cusprun_ffn_swiglu(CPU, 0, nullptr, dt, gate, up, stride, act_ref.data(), T, F,
                                offs.data(), nd, acct, acc_ref.data());
    CHECK(rc == CUSPRUN_OK, "naive rc %d %s", rc, cusprun_last_error());
    rc = cusprun_ffn_swiglu(CPU, variant, nullptr, dt, gate, up, stride, act.data(), T, F,
                            offs.data(), nd, acct, acc.data());
    CHECK(rc == CUSPRUN_OK, "variant rc %d %s", rc, cusprun_last_error());

    const double tol_act = dt == CUSPRUN_F32 ? 2e-6 : dt == CUSPRUN_BF16 ? 8e-3 : 1e-3;
    int bad = 0;
    for (int64_t i = 0; i < T * F; ++i) {
        double r = act_ref.get(i), x = act.get(i);
        if (!(fabs(x - r) <= tol_act * fabs(r) + 1e-7)) ++bad;
    }
    CHECK(bad == 0, "ffn v%d %s/%s seed %llu fused %d: %d act values off", variant, dtname(dt),
          dtname(acct), (unsigned long long)seed, fused, bad);

    // vs reference; and exactly the sum of squares of the kernel's own (rounded) output
    const double tol_ref = dt == CUSPRUN_F32 ? 1e-5 : dt == CUSPRUN_BF16 ? 2e-2 : 3e-3;
    const double tol_self = acct == CUSPRUN_F32 ? 2e-6 : 1e-12;
    int bad_ref = 0, bad_self = 0;
    for (int64_t doc = 0; doc < nd; ++doc) {
        for (int64_t k = 0; k < F; ++k) {
            double s = 0;
            for (int64_t t = offs[doc]; t < offs[doc + 1]; ++t)
                s += act.get(t * F + k) * act.get(t * F + k);
            double init = acc_init.get(doc * F + k), r = acc_ref.get(doc * F + k),
                   x = acc.get(doc * F + k);
            if (!(fabs(x - r) <= tol_ref * (r - init) + 1e-6 * init)) ++bad_ref;
            if (!(fabs(x - (init + s)) <= tol_self * (init + s))) ++bad_self;
        }
    }
    CHECK(bad_ref == 0 && bad_self == 0,
          "ffn v%d %s/%s seed %llu: acc off vs ref %d, vs own act %d", variant, dtname(dt),
          dtname(acct), (unsigned long long)seed, bad_ref, bad_self);

    // acc only (no act_out) and act only (no acc) give the same bits as both together
    rc = cusprun_ffn_swiglu(CPU, variant, nullptr, dt, gate, up, stride, nullptr, T, F, offs.data(),
                            nd, acct, acc2.data());
    CHECK(rc == CUSPRUN_OK && acc2.bytes == acc.bytes, "ffn v%d acc-only differs", variant);
    rc = cusprun_ffn_swiglu(CPU, variant, nullptr, dt, gate, up, stride, act2.data(), T, F, nullptr,
                            0, acct, nullptr);
    CHECK(rc == CUSPRUN_OK && act2.bytes == act.bytes, "ffn v%d act-only differs", variant);
}

// ---------------------------------------------------------------- head_gram
static void test_gram(int variant, cusprun_dtype dt, cusprun_dtype acct, uint64_t seed, int64_t H,
                      int64_t d, int64_t gs, std::vector<int64_t> offs) {
    std::mt19937_64 rng(seed);
    if (offs.empty()) offs = uneven_offsets(37, rng);
    const int64_t T = offs.back(), nd = (int64_t)offs.size() - 1, n = gs * d, ng = H / gs;
    Buf z(dt, T * H * d);
    fill_normal(z, rng);
    Buf init(acct, nd * ng * n * n);
    fill_uniform(init, rng, -1.0, 1.0);
    Buf ref = init, out = init;
    int rc = cusprun_head_gram(CPU, 0, nullptr, dt, z.data(), T, H, d, gs, offs.data(), nd, acct,
                               ref.data());
    CHECK(rc == CUSPRUN_OK, "naive rc %d %s", rc, cusprun_last_error());
    rc = cusprun_head_gram(CPU, variant, nullptr, dt, z.data(), T, H, d, gs, offs.data(), nd, acct,
                           out.data());
    CHECK(rc == CUSPRUN_OK, "variant rc %d %s", rc, cusprun_last_error());
    int bad = 0, asym = 0;
    for (int64_t b = 0; b < nd * ng; ++b) {
        const int64_t o = b * n * n;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double sii = ref.get(o + i * n + i) - init.get(o + i * n + i);
                double sjj = ref.get(o + j * n + j) - init.get(o + j * n + j);
                double scale = sqrt(std::max(0.0, sii * sjj)) + 1.0;  // Cauchy-Schwarz bound
                double x = out.get(o + i * n + j), r = ref.get(o + i * n + j);
                if (!(fabs(x - r) <= 2e-6 * scale)) ++bad;
                double xij = x - init.get(o + i * n + j);
                double xji = out.get(o + j * n + i) - init.get(o + j * n + i);
                if (!(fabs(xij - xji) <= 1e-6 * scale)) ++asym;
            }
    }
    CHECK(bad == 0 && asym == 0,
          "gram v%d %s/%s seed %llu H%lld d%lld gs%lld T%lld: %d off, %d asym", variant, dtname(dt),
          dtname(acct), (unsigned long long)seed, (long long)H, (long long)d, (long long)gs,
          (long long)T, bad, asym);
}

// ---------------------------------------------------------------- qk_neuron
static void test_qk(int variant, cusprun_dtype dt, cusprun_dtype acct, uint64_t seed, int64_t H,
                    int64_t Hkv, int64_t d, int pairs, bool spiky, std::vector<int64_t> offs) {
    std::mt19937_64 rng(seed);
    if (offs.empty()) offs = uneven_offsets(37, rng);
    const int64_t T = offs.back(), nd = (int64_t)offs.size() - 1, units = pairs ? d / 2 : d;
    Buf q(dt, T * H * d), k(dt, T * Hkv * d);
    fill_normal(q, rng);
    fill_normal(k, rng);
    if (spiky)  // one unit with |D| >> 80: exercises the stable fallback path
        for (int64_t t = 0; t < T; ++t) {
            q.set(t * H * d + 1, q.get(t * H * d + 1) * 40);
            k.set(t * Hkv * d + 1, k.get(t * Hkv * d + 1) * 40);
        }
    const float scale = 1.0f / sqrtf((float)d);
    Buf init(acct, nd * H * units);
    fill_uniform(init, rng, 0.0, 0.1);
    Buf ref = init, out = init;
    int rc = cusprun_qk_neuron(CPU, 0, nullptr, dt, q.data(), k.data(), T, H, Hkv, d, scale, pairs,
                               offs.data(), nd, acct, ref.data());
    CHECK(rc == CUSPRUN_OK, "naive rc %d %s", rc, cusprun_last_error());
    rc = cusprun_qk_neuron(CPU, variant, nullptr, dt, q.data(), k.data(), T, H, Hkv, d, scale,
                           pairs, offs.data(), nd, acct, out.data());
    CHECK(rc == CUSPRUN_OK, "variant rc %d %s", rc, cusprun_last_error());
    int bad = 0;
    double worst = 0;
    for (int64_t b = 0; b < nd * H; ++b) {
        double maxinc = 0;
        for (int64_t u = 0; u < units; ++u)
            maxinc = std::max(maxinc, ref.get(b * units + u) - init.get(b * units + u));
        for (int64_t u = 0; u < units; ++u) {
            const int64_t i = b * units + u;
            double inc = ref.get(i) - init.get(i), x = out.get(i);
            double err = fabs(x - ref.get(i)), tol = 1e-3 * inc + 1e-5 * maxinc + 1e-7 * fabs(x);
            worst = std::max(worst, err / (inc + 1e-30));
            if (!(err <= tol) && ++bad <= 3)
                fprintf(stderr, "  b%lld u%lld inc %.6g got %.6g maxinc %.3g\n", (long long)b,
                        (long long)u, inc, x - init.get(i), maxinc);
        }
    }
    CHECK(
        bad == 0,
        "qk v%d %s/%s seed %llu H%lld Hkv%lld d%lld pairs%d spiky%d T%lld: %d off (worst rel %.3g)",
        variant, dtname(dt), dtname(acct), (unsigned long long)seed, (long long)H, (long long)Hkv,
        (long long)d, pairs, spiky, (long long)T, bad, worst);
}

int main() {
    printf("microkernels: %s\n", cusprun_internal_cpu_isa());
    for (int v = 1; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "ffn_swiglu"); ++v)
        for (auto dt : kAct)
            for (auto acct : kAcc)
                for (uint64_t seed = 1; seed <= 3; ++seed) test_ffn(v, dt, acct, seed, seed != 2);

    for (int v = 1; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "head_gram"); ++v)
        for (auto dt : kAct)
            for (auto acct : kAcc)
                for (uint64_t seed = 1; seed <= 2; ++seed) {
                    for (int64_t d : {48, 64})
                        for (int64_t gs : {1, 2, 3}) test_gram(v, dt, acct, seed, 6, d, gs, {});
                    // a long document crosses the token chunking; odd d pads the panels
                    test_gram(v, dt, acct, seed, 4, 37, 2, {0, 3, 290, 300});
                }

    for (int v = 1; v < cusprun_variant_count(CUSPRUN_BACKEND_CPU, "qk_neuron"); ++v)
        for (auto dt : kAct)
            for (auto acct : kAcc)
                for (uint64_t seed = 1; seed <= 2; ++seed) {
                    test_qk(v, dt, acct, seed, 6, 2, 48, 1, false, {});
                    test_qk(v, dt, acct, seed, 6, 3, 64, 0, false, {});
                    test_qk(v, dt, acct, seed, 6, 6, 10, 1, true, {});
                    test_qk(v, dt, acct, seed, 4, 1, 7, 0, seed == 2, {});
                    // documents longer than a 32-row work block
                    test_qk(v, dt, acct, seed, 2, 1, 16, 1, false, {0, 70, 70, 100});
                }
    return finish("test_variants");
}
