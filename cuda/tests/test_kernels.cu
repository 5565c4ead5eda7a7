// Correctness of every CUDA kernel variant against the CPU back end's reference
// (variant 1_naive, device -1). Fresh random inputs per case; sizes off the
// warp/vector grid; several packed documents of uneven length; outputs
// NaN-poisoned, accumulators pre-filled with random values (kernels add into).
// Prints PASS/FAIL lines; exit 0 = all passed, 1 = a failure, 77 = no device.
//
//   cuda_test_kernels [--seed N] [--kernel NAME]
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "test_util.h"

using tu::CompareResult;
using tu::DeviceBuffer;
using tu::HostArray;

namespace {

int g_pass = 0, g_fail = 0;
std::mt19937_64 g_rng;
cudaStream_t g_stream = nullptr;
const char *g_only = nullptr;
bool g_empty_doc = false;  // next case gets an empty document in the middle

bool wanted(const char *kernel) { return g_only == nullptr || std::strcmp(g_only, kernel) == 0; }

void report(bool ok, const std::string &what, const std::string &detail) {
    std::printf("%s %s %s\n", ok ? "PASS" : "FAIL", what.c_str(), detail.c_str());
    std::fflush(stdout);
    (ok ? g_pass : g_fail)++;
}

std::string fmt_cmp(const char *name, const CompareResult &r, double rtol) {
    char b[160];
    std::snprintf(
        b, sizeof b, "%s: max_err=%.3g (tol %.3g)%s", name, r.max_err, rtol,
        r.ok ? "" : (" bad=" + std::to_string(r.bad) + " at " + std::to_string(r.worst)).c_str());
    return b;
}

int cpu_variant(const char *kernel) {
    int v = cusprun_variant_find(CUSPRUN_BACKEND_CPU, kernel, "1_naive");
    if (v < 0) {
        std::fprintf(stderr, "CPU back end has no 1_naive variant of %s\n", kernel);
        std::exit(2);
    }
    return v;
}

std::vector<double> download(const DeviceBuffer &d, cusprun_dtype t, size_t n) {
    HostArray h(t, n);
    d.download(h.data(), h.size_bytes());
    return h.to_double();
}

// Expect a CUDA call to succeed; on failure record it and return false.
bool cuda_ok(int rc, const std::string &what) {
    if (rc != CUSPRUN_OK) {
        report(false, what,
               std::string("returned ") + std::to_string(rc) + ": " + cusprun_cuda_last_error());
        return false;
    }
    const std::string e = tu::stream_sync(g_stream);
    if (!e.empty()) {
        report(false, what, "kernel failed: " + e);
        std::exit(1);  // a device fault poisons the context; nothing after is meaningful
    }
    return true;
}

double act_rtol(cusprun_dtype t) {
    return t == CUSPRUN_F32 ? 1e-5 : (t == CUSPRUN_BF16 ? 1.0e-2 : 2e-3);
}

// ------------------------------------------------------------- ffn_swiglu

struct FfnCase {
    cusprun_dtype act, acc;
    int64_t T, F, n_docs;
    bool fused;   // gate and up are halves of one T x 2F matrix
    int64_t pad;  // extra row stride when not fused
    bool with_act, with_acc;
};

void test_ffn(const FfnCase &c) {
    const int64_t stride = c.fused ? 2 * c.F : c.F + c.pad;
    const size_t es = tu::dtype_size(c.act);
    HostArray gu(c.act, c.fused ? c.T * stride : 2 * c.T * stride);
    tu::fill_normal(gu, g_rng, 0.0, 2.0);
    const size_t up_off = c.fused ? (size_t)c.F : (size_t)(c.T * stride);  // elements
    std::vector<int64_t> off = tu::uneven_offsets(c.T, c.n_docs, g_rng, g_empty_doc);
    HostArray acc0(c.acc, c.n_docs * c.F);
    tu::fill_uniform(acc0, g_rng, 0.0, 10.0);

    // CPU reference.
    HostArray act_cpu(c.act, c.T * c.F), acc_cpu = acc0;
    const unsigned char *g = gu.bytes.data();
    int rc = cusprun_ffn_swiglu(-1, cpu_variant("ffn_swiglu"), nullptr, c.act, g, g + up_off * es,
                                stride, c.with_act ? act_cpu.data() : nullptr, c.T, c.F, off.data(),
                                c.n_docs, c.acc, c.with_acc ? acc_cpu.data() : nullptr);
    if (rc != CUSPRUN_OK) {
        report(false, "ffn_swiglu cpu-reference", cusprun_last_error());
        return;
    }
    const std::vector<double> act_ref = act_cpu.to_double(), acc_ref = acc_cpu.to_double(),
                              acc_init = acc0.to_double();

    DeviceBuffer d_gu = tu::to_device(gu), d_off = tu::to_device(off);
    const unsigned char *dg = d_gu.as<unsigned char>();
    for (int v = 0; v < cusprun_cuda_variant_count("ffn_swiglu"); ++v) {
        char what[200];
        std::snprintf(
            what, sizeof what, "ffn_swiglu %-12s %s/%s T=%lld F=%lld stride=%lld docs=%lld%s%s",
            cusprun_cuda_variant_name("ffn_swiglu", v), tu::dtype_name(c.act),
            tu::dtype_name(c.acc), (long long)c.T, (long long)c.F, (long long)stride,
            (long long)c.n_docs, c.with_act ? "" : " no-act", c.with_acc ? "" : " no-acc");
        DeviceBuffer d_act(c.T * c.F * es), d_acc = tu::to_device(acc0);
        tu::dev_memset(d_act.ptr, 0xff, d_act.bytes);  // NaN in every dtype
        if (!cuda_ok(cusprun_cuda_ffn_swiglu(0, v, g_stream, c.act, dg, dg + up_off * es, stride,
                                             c.with_act ? d_act.ptr : nullptr, c.T, c.F,
                                             d_off.as<int64_t>(), c.n_docs, c.acc,
                                             c.with_acc ? d_acc.ptr : nullptr),
                     what))
            continue;
        bool ok = true;
        std::string detail;
        std::vector<double> act_gpu;
        if (c.with_act) {
            act_gpu = download(d_act, c.act, c.T * c.F);
            const double rt = act_rtol(c.act);
            CompareResult r = tu::compare(act_ref, act_gpu, nullptr, rt, 1e-4);
            ok &= r.ok;
            detail += fmt_cmp("act", r, rt);
        } else {
            // act_out was NULL: the poisoned buffer must be untouched.
            std::vector<unsigned char> raw(d_act.bytes);
            d_act.download(raw.data(), raw.size());
            bool untouched = true;
            for (unsigned char b : raw) untouched &= b == 0xff;
            ok &= untouched;
            detail += untouched ? "act untouched" : "act WRITTEN although NULL";
        }
        if (c.with_acc) {
            const std::vector<double> acc_gpu = download(d_acc, c.acc, c.n_docs * c.F);
            // Against the CPU: a 1-ulp difference in one rounded activation may move a
            // short document's sum by ~2 ulp of act_dtype.
            const double rt = c.act == CUSPRUN_F32 ? 1e-4 : 2.5 * act_rtol(c.act);
            CompareResult r =
                tu::compare(acc_ref, acc_gpu, &acc_init, rt, 1e-6, tu::acc_eps(c.acc));
            ok &= r.ok;
            detail += " " + fmt_cmp("acc", r, rt);
            if (c.with_act) {
                // Against the GPU's own activations: tight.
                std::vector<double> own = acc_init;
                for (int64_t i = 0; i < c.n_docs; ++i)
                    for (int64_t t = off[i]; t < off[i + 1]; ++t)
                        for (int64_t k = 0; k < c.F; ++k) {
                            const double a = act_gpu[t * c.F + k];
                            own[i * c.F + k] += a * a;
                        }
                const double rt2 = 3e-5;
                CompareResult r2 =
                    tu::compare(own, acc_gpu, &acc_init, rt2, 1e-6, tu::acc_eps(c.acc));
                ok &= r2.ok;
                detail += " " + fmt_cmp("acc-vs-own-act", r2, rt2);
            }
        }
        report(ok, what, detail);
    }
}

// -------------------------------------------------------------- head_gram

struct GramCase {
    cusprun_dtype act, acc;
    int64_t T, H, d, gs, n_docs;
};

void test_head_gram(const GramCase &c) {
    HostArray z(c.act, c.T * c.H * c.d);
    tu::fill_normal(z, g_rng, 0.0, 1.0);
    std::vector<int64_t> off = tu::uneven_offsets(c.T, c.n_docs, g_rng, g_empty_doc);
    const int64_t M = c.gs * c.d, G = c.H / c.gs;
    HostArray g0(c.acc, c.n_docs * G * M * M);
    tu::fill_uniform(g0, g_rng, -5.0, 5.0);
    HostArray g_cpu = g0;
    int rc = cusprun_head_gram(-1, cpu_variant("head_gram"), nullptr, c.act, z.data(), c.T, c.H,
                               c.d, c.gs, off.data(), c.n_docs, c.acc, g_cpu.data());
    if (rc != CUSPRUN_OK) {
        report(false, "head_gram cpu-reference", cusprun_last_error());
        return;
    }
    const std::vector<double> ref = g_cpu.to_double(), init = g0.to_double();
    DeviceBuffer d_z = tu::to_device(z), d_off = tu::to_device(off);
    for (int v = 0; v < cusprun_cuda_variant_count("head_gram"); ++v) {
        char what[200];
        std::snprintf(
            what, sizeof what, "head_gram  %-12s %s/%s T=%lld H=%lld d=%lld group=%lld docs=%lld",
            cusprun_cuda_variant_name("head_gram", v), tu::dtype_name(c.act), tu::dtype_name(c.acc),
            (long long)c.T, (long long)c.H, (long long)c.d, (long long)c.gs, (long long)c.n_docs);
        DeviceBuffer d_g = tu::to_device(g0);
        if (!cuda_ok(cusprun_cuda_head_gram(0, v, g_stream, c.act, d_z.ptr, c.T, c.H, c.d, c.gs,
                                            d_off.as<int64_t>(), c.n_docs, c.acc, d_g.ptr),
                     what))
            continue;
        const std::vector<double> got = download(d_g, c.acc, g0.n);
        const double rt = 5e-4;
        CompareResult r = tu::compare(ref, got, &init, rt, 1e-3, tu::acc_eps(c.acc));
        // Symmetry of what was added.
        double asym = 0.0;
        for (int64_t b = 0; b < c.n_docs * G; ++b)
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = i + 1; j < M; ++j) {
                    const int64_t p = (b * M + i) * M + j, q = (b * M + j) * M + i;
                    asym = std::fmax(asym, std::fabs((got[p] - init[p]) - (got[q] - init[q])));
                }
        char extra[64];
        std::snprintf(extra, sizeof extra, " asym=%.3g", asym);
        report(r.ok, what, fmt_cmp("gram", r, rt) + extra);
    }
}

// -------------------------------------------------------------- qk_neuron

struct QkCase {
    cusprun_dtype act, acc;
    int64_t T, H, Hkv, d, n_docs;
    int rope;
    double q_sd;  // spread of q: larger = sharper attention
};

void test_qk(const QkCase &c) {
    HostArray q(c.act, c.T * c.H * c.d), k(c.act, c.T * c.Hkv * c.d);
    tu::fill_normal(q, g_rng, 0.0, c.q_sd);
    tu::fill_normal(k, g_rng, 0.0, 1.0);
    // A key dimension with a large constant offset (as real models have).
    for (int64_t t = 0; t < c.T; ++t)
        for (int64_t h = 0; h < c.Hkv; ++h)
            k.set((t * c.Hkv + h) * c.d + 1, 4.0 + 0.1 * k.get((t * c.Hkv + h) * c.d + 1));
    std::vector<int64_t> off = tu::uneven_offsets(c.T, c.n_docs, g_rng, g_empty_doc);
    const int64_t U = c.rope ? c.d / 2 : c.d;
    const float scale = 1.0f / std::sqrt((float)c.d);
    HostArray a0(c.acc, c.n_docs * c.H * U);
    tu::fill_uniform(a0, g_rng, 0.0, 1.0);
    HostArray a_cpu = a0;
    int rc = cusprun_qk_neuron(-1, cpu_variant("qk_neuron"), nullptr, c.act, q.data(), k.data(),
                               c.T, c.H, c.Hkv, c.d, scale, c.rope, off.data(), c.n_docs, c.acc,
                               a_cpu.data());
    if (rc != CUSPRUN_OK) {
        report(false, "qk_neuron cpu-reference", cusprun_last_error());
        return;
    }
    const std::vector<double> ref = a_cpu.to_double(), init = a0.to_double();
    DeviceBuffer d_q = tu::to_device(q), d_k = tu::to_device(k), d_off = tu::to_device(off);
    for (int v = 0; v < cusprun_cuda_variant_count("qk_neuron"); ++v) {
        char what[220];
        std::snprintf(
            what, sizeof what,
            "qk_neuron  %-12s %s/%s T=%lld H=%lld Hkv=%lld d=%lld rope=%d docs=%lld q_sd=%.1f",
            cusprun_cuda_variant_name("qk_neuron", v), tu::dtype_name(c.act), tu::dtype_name(c.acc),
            (long long)c.T, (long long)c.H, (long long)c.Hkv, (long long)c.d, c.rope,
            (long long)c.n_docs, c.q_sd);
        DeviceBuffer d_a = tu::to_device(a0);
        if (!cuda_ok(cusprun_cuda_qk_neuron(0, v, g_stream, c.act, d_q.ptr, d_k.ptr, c.T, c.H,
                                            c.Hkv, c.d, scale, c.rope, d_off.as<int64_t>(),
                                            c.n_docs, c.acc, d_a.ptr),
                     what))
            continue;
        const std::vector<double> got = download(d_a, c.acc, a0.n);
        const double rt = 2e-3;
        CompareResult r = tu::compare(ref, got, &init, rt, 1e-3, tu::acc_eps(c.acc));
        report(r.ok, what, fmt_cmp("acc", r, rt));
    }
}

// ------------------------------------------------------------ rank_update

struct RankCase {
    cusprun_dtype rel;
    int64_t n_docs, N, n_bins;
};

void test_rank(const RankCase &c) {
    HostArray rel(c.rel, c.n_docs * c.N);
    std::uniform_real_distribution<double> u(0.0, 4.0);
    for (int64_t i = 0; i < c.n_docs; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
            double x = u(g_rng);
            if (i % 3 == 1) x = std::round(x * 4.0) / 4.0;  // many ties
            if (i % 5 == 4) x = 1.5;                        // all tied
            rel.set(i * c.N + j, x);
        }
    std::vector<float> max0(c.N);
    std::vector<int32_t> hist0(c.N * c.n_bins);
    std::vector<int64_t> sum0(2 * c.N);  // exact sums: integer part, fraction (2^-64 units)
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    for (int64_t k = 0; k < c.N; ++k) {
        max0[k] = (k % 4 == 0) ? -1.0f : (float)(0.5 * u01(g_rng));
        sum0[2 * k] = (int64_t)(g_rng() % 1000);
        sum0[2 * k + 1] = (int64_t)g_rng();  // carries into the integer part get tested
    }
    for (auto &h : hist0) h = (int32_t)(g_rng() % 5);
    std::vector<float> max_cpu = max0;
    std::vector<int32_t> hist_cpu = hist0;
    std::vector<int64_t> sum_cpu = sum0;
    int rc =
        cusprun_rank_update(-1, cpu_variant("rank_update"), nullptr, c.rel, rel.data(), c.n_docs,
                            c.N, max_cpu.data(), hist_cpu.data(), c.n_bins, sum_cpu.data());
    if (rc != CUSPRUN_OK) {
        report(false, "rank_update cpu-reference", cusprun_last_error());
        return;
    }
    DeviceBuffer d_rel = tu::to_device(rel);
    for (int v = 0; v < cusprun_cuda_variant_count("rank_update"); ++v) {
        char what[200];
        std::snprintf(what, sizeof what, "rank_update %-12s %s docs=%lld N=%lld bins=%lld",
                      cusprun_cuda_variant_name("rank_update", v), tu::dtype_name(c.rel),
                      (long long)c.n_docs, (long long)c.N, (long long)c.n_bins);
        DeviceBuffer d_max = tu::to_device(max0), d_hist = tu::to_device(hist0),
                     d_sum = tu::to_device(sum0);
        if (!cuda_ok(cusprun_cuda_rank_update(0, v, g_stream, c.rel, d_rel.ptr, c.n_docs, c.N,
                                              d_max.as<float>(), d_hist.as<int32_t>(), c.n_bins,
                                              d_sum.as<int64_t>()),
                     what))
            continue;
        std::vector<float> mx(c.N);
        std::vector<int32_t> hist(c.N * c.n_bins);
        std::vector<int64_t> sum(2 * c.N);
        d_max.download(mx.data(), mx.size() * sizeof(float));
        d_hist.download(hist.data(), hist.size() * sizeof(int32_t));
        d_sum.download(sum.data(), sum.size() * sizeof(int64_t));
        int64_t bad_max = 0, bad_hist = 0, bad_sum = 0;
        for (int64_t k = 0; k < c.N; ++k) {
            if (!(std::fabs(mx[k] - max_cpu[k]) <= 1e-6f)) ++bad_max;
            // exact fixed-point sums: the same bits as the CPU's whatever the order
            bad_sum += sum[2 * k] != sum_cpu[2 * k] || sum[2 * k + 1] != sum_cpu[2 * k + 1];
        }
        for (size_t i = 0; i < hist.size(); ++i) bad_hist += hist[i] != hist_cpu[i];
        const bool ok = bad_max == 0 && bad_hist == 0 && bad_sum == 0;
        char detail[160];
        std::snprintf(detail, sizeof detail,
                      "mismatches: rank_max=%lld hist=%lld relevance_sum=%lld", (long long)bad_max,
                      (long long)bad_hist, (long long)bad_sum);
        report(ok, what, detail);
    }
}

// ------------------------------------------------------- API behaviour

[[maybe_unused]] void test_api() {
    const char *kernels[] = {"ffn_swiglu", "head_gram", "qk_neuron", "rank_update"};
    bool ok = true;
    std::string detail;
    for (const char *k : kernels) {
        const int n = cusprun_cuda_variant_count(k), def = cusprun_cuda_variant_default(k);
        const char *first = cusprun_cuda_variant_name(k, 0);
        ok &= n >= 2 && def >= 0 && def < n && first && std::strcmp(first, "1_naive") == 0 &&
              cusprun_cuda_variant_name(k, n) == nullptr;
        detail += std::string(k) + ":" + std::to_string(n) + " ";
    }
    ok &=
        cusprun_cuda_variant_count("nope") == 0 && cusprun_cuda_variant_name("nope", 0) == nullptr;
    report(ok, "api registry", detail);

    // Argument errors come back as codes with a message, never a crash.
    float dummy_f = 0;
    int64_t offs[2] = {0, 4};
    int rc = cusprun_cuda_ffn_swiglu(0, 99, g_stream, CUSPRUN_BF16, &dummy_f, &dummy_f, 8, &dummy_f,
                                     4, 8, offs, 1, CUSPRUN_F32, &dummy_f);
    report(rc == CUSPRUN_ERR_ARGUMENT && cusprun_cuda_last_error()[0] != '\0', "api bad variant",
           cusprun_cuda_last_error());
    rc = cusprun_cuda_head_gram(0, -1, g_stream, CUSPRUN_BF16, &dummy_f, 4, 6, 8, 4, offs, 1,
                                CUSPRUN_F32, &dummy_f);
    report(rc == CUSPRUN_ERR_ARGUMENT, "api H not multiple of group", cusprun_cuda_last_error());
    rc = cusprun_cuda_qk_neuron(0, -1, g_stream, CUSPRUN_F64, &dummy_f, &dummy_f, 4, 2, 2, 8, 1.f,
                                0, offs, 1, CUSPRUN_F32, &dummy_f);
    report(rc == CUSPRUN_ERR_ARGUMENT, "api bad act dtype", cusprun_cuda_last_error());
    rc = cusprun_cuda_rank_update(1 << 20, -1, g_stream, CUSPRUN_F32, &dummy_f, 1, 4, &dummy_f,
                                  (int32_t *)&dummy_f, 1, (int64_t *)&dummy_f);
    report(rc == CUSPRUN_ERR_ARGUMENT, "api bad device", cusprun_cuda_last_error());
    rc = cusprun_cuda_ffn_swiglu(0, -1, g_stream, CUSPRUN_F32, &dummy_f, &dummy_f, 8, nullptr, 4, 8,
                                 offs, 1, CUSPRUN_F32, nullptr);
    report(rc == CUSPRUN_ERR_ARGUMENT, "api act_out and acc NULL", cusprun_cuda_last_error());
    // The range policy of both back ends: every variant refuses relevance with a NaN, a
    // negative, an infinite or a too large value, naming the first one as the CPU does, and
    // leaves the accumulators as they were.
    const int64_t nd = 3, nn = 5;
    const float bad_values[4] = {NAN, -1.0f, INFINITY, 0x1p63f};
    const char *bad_said[4] = {"relevance[1][2] is NaN", "relevance[1][2] is negative",
                               "relevance[1][2] is infinite", "relevance[1][2] is >= 2^62"};
    for (int b = 0; b < 4; ++b) {
        std::vector<float> rel(nd * nn, 1.5f), mx0(nn, 0.25f);
        rel[1 * nn + 2] = bad_values[b];
        rel[2 * nn + 4] = NAN;
        std::vector<int32_t> hist0(nn * 4, 7);
        std::vector<int64_t> sum0(2 * nn, 3);
        DeviceBuffer d_rel = tu::to_device(rel);
        for (int v = 0; v < cusprun_cuda_variant_count("rank_update"); ++v) {
            DeviceBuffer d_mx = tu::to_device(mx0), d_hist = tu::to_device(hist0),
                         d_sum = tu::to_device(sum0);
            rc = cusprun_cuda_rank_update(0, v, g_stream, CUSPRUN_F32, d_rel.ptr, nd, nn,
                                          d_mx.as<float>(), d_hist.as<int32_t>(), 4,
                                          d_sum.as<int64_t>());
            std::vector<float> mx(nn);
            std::vector<int32_t> hist(nn * 4);
            std::vector<int64_t> sum(2 * nn);
            d_mx.download(mx.data(), mx.size() * sizeof(float));
            d_hist.download(hist.data(), hist.size() * sizeof(int32_t));
            d_sum.download(sum.data(), sum.size() * sizeof(int64_t));
            char what[96];
            std::snprintf(what, sizeof what, "api rank_update %s refuses '%s'",
                          cusprun_cuda_variant_name("rank_update", v), bad_said[b]);
            report(rc == CUSPRUN_ERR_ARGUMENT &&
                       std::strstr(cusprun_cuda_last_error(), bad_said[b]) != nullptr &&
                       mx == mx0 && hist == hist0 && sum == sum0,
                   what, cusprun_cuda_last_error());
        }
    }
    // A bad device pointer is a CUDA error, reported as CUSPRUN_ERR_CUDA... but it
    // would poison the context for the tests that follow, so it is not exercised.
}

}  // namespace

int main(int argc, char **argv) {
    uint64_t seed = 20261128;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = std::strtoull(argv[++i], nullptr, 10);
        else if (!std::strcmp(argv[i], "--kernel") && i + 1 < argc) g_only = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--seed N] [--kernel NAME]\n", argv[0]);
            return 2;
        }
    }
    tu::require_device("cuda_test_kernels");
    std::printf("seed %llu\n", (unsigned long long)seed);
    g_rng.seed(seed);
    g_stream = tu::stream_create();

#ifndef CUSPRUN_TEST_HOST_MOCK
    if (wanted("api")) test_api();
#endif

    const cusprun_dtype acts[] = {CUSPRUN_F32, CUSPRUN_BF16, CUSPRUN_F16};
    if (wanted("ffn_swiglu")) {
        for (cusprun_dtype a : acts) {
            const cusprun_dtype acc = a == CUSPRUN_F16 ? CUSPRUN_F64 : CUSPRUN_F32;
            test_ffn({a, acc, 257, 333, 4, true, 0, true, true});    // scalar path
            test_ffn({a, acc, 257, 1000, 5, true, 0, true, true});   // 128-bit path (fused)
            test_ffn({a, acc, 131, 1002, 3, false, 0, true, true});  // 2-wide path
            test_ffn({a, acc, 77, 200, 3, false, 3, true, true});    // padded stride
        }
        test_ffn({CUSPRUN_BF16, CUSPRUN_F64, 1100, 520, 7, true, 0, true, true});  // many chunks
        test_ffn({CUSPRUN_BF16, CUSPRUN_F32, 99, 136, 2, true, 0, false, true});   // acc only
        test_ffn({CUSPRUN_F16, CUSPRUN_F32, 99, 136, 2, true, 0, true, false});    // act only
        test_ffn({CUSPRUN_F32, CUSPRUN_F32, 1, 37, 1, false, 0, true, true});      // one row
        g_empty_doc = true;
        test_ffn({CUSPRUN_BF16, CUSPRUN_F32, 300, 1000, 5, true, 0, true, true});  // empty doc
        test_ffn({CUSPRUN_F16, CUSPRUN_F64, 300, 333, 5, true, 0, true, true});
        g_empty_doc = false;
    }
    if (wanted("head_gram")) {
        const int64_t gsz[] = {1, 2, 4};
        const int64_t ds[] = {64, 128};
        int i = 0;
        for (int64_t d : ds)
            for (int64_t gs : gsz) {
                const cusprun_dtype a = acts[i % 3];
                const cusprun_dtype acc = (i % 2) ? CUSPRUN_F64 : CUSPRUN_F32;
                test_head_gram({a, acc, 203, 8, d, gs, 3});
                ++i;
            }
        test_head_gram({CUSPRUN_BF16, CUSPRUN_F32, 203, 8, 128, 4, 3});
        test_head_gram({CUSPRUN_F16, CUSPRUN_F32, 97, 4, 64, 2, 2});    // one chunk: plain adds
        test_head_gram({CUSPRUN_BF16, CUSPRUN_F64, 700, 4, 40, 2, 6});  // M=80: partial tiles
        test_head_gram({CUSPRUN_BF16, CUSPRUN_F32, 150, 6, 36, 3, 2});  // M=108: scalar wmma loads
        g_empty_doc = true;
        test_head_gram({CUSPRUN_BF16, CUSPRUN_F64, 400, 8, 64, 2, 5});  // empty doc
        g_empty_doc = false;
    }
    if (wanted("qk_neuron")) {
        test_qk({CUSPRUN_F32, CUSPRUN_F64, 150, 4, 4, 64, 3, 1, 1.0});   // group 1, rope pairs
        test_qk({CUSPRUN_BF16, CUSPRUN_F32, 150, 4, 2, 64, 3, 0, 1.0});  // group 2, per dim
        test_qk({CUSPRUN_F16, CUSPRUN_F64, 121, 8, 2, 64, 2, 1, 2.0});   // group 4
        test_qk({CUSPRUN_BF16, CUSPRUN_F64, 97, 4, 1, 128, 3, 1, 1.0});  // d=128, group 4
        test_qk({CUSPRUN_F32, CUSPRUN_F32, 70, 2, 2, 128, 2, 0, 3.0});   // d=128 per dim, sharp
        g_empty_doc = true;
        test_qk({CUSPRUN_F16, CUSPRUN_F32, 90, 4, 2, 64, 4, 1, 1.0});  // empty doc
        g_empty_doc = false;
    }
    if (wanted("rank_update")) {
        test_rank({CUSPRUN_F32, 7, 777, 10});
        test_rank({CUSPRUN_F64, 6, 1000, 7});
        test_rank({CUSPRUN_F32, 3, 1, 4});
        test_rank({CUSPRUN_F64, 5, 2, 3});
        test_rank({CUSPRUN_F32, 11, 4099, 20});
    }

    tu::stream_destroy(g_stream);
    std::printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
