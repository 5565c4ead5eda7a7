// Timing of every CUDA kernel variant on realistic shapes (llm.c dev/cuda style):
// each variant is first run once from zeroed outputs and checked against the
// CUDA 1_naive variant at this size, then timed with cudaEvents (median of
// several runs after a warm-up). Bandwidth counts bytes read + written; the
// floor is a device-to-device cudaMemcpyAsync moving the same number of bytes
// (copying bytes/2: it reads and writes them), measured in the same run.
//
//   cuda_bench_kernels [--quick] [--out results.md]
//     --quick   small shapes, one timed run: a smoke test, not a measurement.
// Exit: 0 ok, 1 a variant failed or disagreed with 1_naive, 77 no device.
#include <algorithm>
#include <functional>

#include "test_util.h"

using tu::DeviceBuffer;
using tu::HostArray;

namespace {

cudaStream_t g_stream;
bool g_quick = false;
int g_failures = 0;

// Deterministic pseudo-random fill on the device (splitmix64 hash of the index).
template <typename T>
__global__ void fill_kernel(T *p, int64_t n, uint64_t seed, float lo, float hi) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        uint64_t z = seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        const float u = (float)(z >> 40) * (1.0f / 16777216.0f);
        const float v = lo + (hi - lo) * u;
        if constexpr (std::is_same<T, __nv_bfloat16>::value) p[i] = __float2bfloat16_rn(v);
        else if constexpr (std::is_same<T, __half>::value) p[i] = __float2half_rn(v);
        else p[i] = (T)v;
    }
}

void fill(void *p, cusprun_dtype t, int64_t n, uint64_t seed, float lo, float hi) {
    const unsigned blocks = (unsigned)std::min<int64_t>((n + 255) / 256, 4096);
    switch (t) {
    case CUSPRUN_F32: fill_kernel<<<blocks, 256, 0, g_stream>>>((float *)p, n, seed, lo, hi); break;
    case CUSPRUN_F64:
        fill_kernel<<<blocks, 256, 0, g_stream>>>((double *)p, n, seed, lo, hi);
        break;
    case CUSPRUN_BF16:
        fill_kernel<<<blocks, 256, 0, g_stream>>>((__nv_bfloat16 *)p, n, seed, lo, hi);
        break;
    case CUSPRUN_F16:
        fill_kernel<<<blocks, 256, 0, g_stream>>>((__half *)p, n, seed, lo, hi);
        break;
    }
    CHECK_CUDA(cudaGetLastError());
}

// Median time in ms of `fn` (already warmed up once by the caller's check run).
double time_ms(const std::function<int()> &fn, double first_ms) {
    int reps = g_quick ? 1 : (int)std::clamp(300.0 / std::max(first_ms, 1e-3), 3.0, 25.0);
    cudaEvent_t a, b;
    CHECK_CUDA(cudaEventCreate(&a));
    CHECK_CUDA(cudaEventCreate(&b));
    if (!g_quick && first_ms < 50.0) fn();  // second warm-up for fast kernels
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        CHECK_CUDA(cudaEventRecord(a, g_stream));
        if (fn() != CUSPRUN_OK) {
            std::fprintf(stderr, "kernel failed during timing: %s\n", cusprun_cuda_last_error());
            std::exit(1);
        }
        CHECK_CUDA(cudaEventRecord(b, g_stream));
        CHECK_CUDA(cudaEventSynchronize(b));
        float ms = 0;
        CHECK_CUDA(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms);
    }
    CHECK_CUDA(cudaEventDestroy(a));
    CHECK_CUDA(cudaEventDestroy(b));
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Device-to-device copy moving `bytes` (read + write), in GB/s.
double copy_gbps(double bytes) {
    const size_t half = (size_t)(bytes / 2);
    DeviceBuffer src(half), dst(half);
    CHECK_CUDA(cudaMemsetAsync(src.ptr, 1, half, g_stream));
    auto fn = [&] {
        CHECK_CUDA(cudaMemcpyAsync(dst.ptr, src.ptr, half, cudaMemcpyDeviceToDevice, g_stream));
        return (int)CUSPRUN_OK;
    };
    fn();
    CHECK_CUDA(cudaStreamSynchronize(g_stream));
    const double ms = time_ms(fn, 1.0);
    return 2.0 * half / (ms * 1e6);
}

struct Row {
    std::string kernel, variant, shape;
    double ms, gbps, copy_gbps, work;
    std::string work_unit, check;
};
std::vector<Row> g_rows;

struct Output {
    void *ptr;
    cusprun_dtype dtype;
    int64_t n;
    double rtol, floor_frac;
    const char *name;
    bool bits = false;  // compare the bytes (integers, fixed-point sums), not values
};

// Runs every variant: zero outputs, one checked run (vs variant 0), then timing.
void bench_kernel(const char *kernel, const std::string &shape, double bytes, double work,
                  const char *work_unit, const std::vector<Output> &outs,
                  const std::function<int(int)> &run) {
    const double copy = copy_gbps(bytes);
    std::vector<std::vector<double>> ref(outs.size());
    std::vector<std::vector<char>> ref_bytes(outs.size());
    const int nv = cusprun_cuda_variant_count(kernel);
    for (int v = 0; v < nv; ++v) {
        const char *vname = cusprun_cuda_variant_name(kernel, v);
        for (const Output &o : outs)
            CHECK_CUDA(cudaMemsetAsync(o.ptr, 0, (size_t)o.n * tu::dtype_size(o.dtype), g_stream));
        cudaEvent_t a, b;
        CHECK_CUDA(cudaEventCreate(&a));
        CHECK_CUDA(cudaEventCreate(&b));
        CHECK_CUDA(cudaEventRecord(a, g_stream));
        int rc = run(v);
        CHECK_CUDA(cudaEventRecord(b, g_stream));
        cudaError_t e = cudaEventSynchronize(b);
        if (rc != CUSPRUN_OK || e != cudaSuccess) {
            std::printf("FAIL %s %s: %s\n", kernel, vname,
                        rc != CUSPRUN_OK ? cusprun_cuda_last_error() : cudaGetErrorString(e));
            ++g_failures;
            if (e != cudaSuccess) std::exit(1);
            continue;
        }
        float first = 0;
        CHECK_CUDA(cudaEventElapsedTime(&first, a, b));
        CHECK_CUDA(cudaEventDestroy(a));
        CHECK_CUDA(cudaEventDestroy(b));
        // Check against 1_naive at this size.
        std::string check = v == 0 ? "reference" : "";
        bool ok = true;
        double worst = 0;
        for (size_t i = 0; i < outs.size(); ++i) {
            HostArray h(outs[i].dtype, (size_t)outs[i].n);
            CHECK_CUDA(cudaMemcpy(h.data(), outs[i].ptr, h.size_bytes(), cudaMemcpyDeviceToHost));
            if (outs[i].bits) {
                const char *p = (const char *)h.data();
                std::vector<char> bytes(p, p + h.size_bytes());
                if (v == 0) {
                    ref_bytes[i] = std::move(bytes);
                } else if (bytes != ref_bytes[i]) {
                    ok = false;
                    std::printf("FAIL %s %s: %s differs from 1_naive (bits)\n", kernel, vname,
                                outs[i].name);
                }
                continue;
            }
            std::vector<double> got = h.to_double();
            if (v == 0) {
                ref[i] = std::move(got);
                continue;
            }
            tu::CompareResult r =
                tu::compare(ref[i], got, nullptr, outs[i].rtol, outs[i].floor_frac);
            ok &= r.ok;
            worst = std::max(worst, r.max_err);
            if (!r.ok)
                std::printf("FAIL %s %s: %s differs from 1_naive (max_err %.3g, %zu bad)\n", kernel,
                            vname, outs[i].name, r.max_err, r.bad);
        }
        if (v > 0) {
            char b2[64];
            std::snprintf(b2, sizeof b2, "%s (%.2g)", ok ? "ok" : "MISMATCH", worst);
            check = b2;
            if (!ok) ++g_failures;
        }
        const double ms = time_ms([&] { return run(v); }, first);
        g_rows.push_back({kernel, vname, shape, ms, bytes / (ms * 1e6), copy, work / (ms * 1e6),
                          work_unit, check});
        std::printf("%-12s %-14s %8.4f ms %8.1f GB/s (copy %.1f GB/s) %s\n", kernel, vname, ms,
                    bytes / (ms * 1e6), copy, check.c_str());
        std::fflush(stdout);
    }
}

std::vector<int64_t> even_docs(int64_t T, int64_t n) {
    // Uneven on purpose: document i gets a share proportional to (i + 1).
    std::vector<int64_t> off(n + 1, 0);
    const int64_t tot = n * (n + 1) / 2;
    for (int64_t i = 0; i < n; ++i) off[i + 1] = off[i] + T * (i + 1) / tot;
    off[n] = T;
    return off;
}

void bench_ffn() {
    const int64_t T = g_quick ? 300 : 4096, F = g_quick ? 1000 : 14336, n_docs = 4;
    const cusprun_dtype act = CUSPRUN_BF16, accd = CUSPRUN_F32;
    DeviceBuffer gate(T * F * 2), up(T * F * 2), out(T * F * 2), acc(n_docs * F * 4);
    fill(gate.ptr, act, T * F, 1, -4.f, 4.f);
    fill(up.ptr, act, T * F, 2, -2.f, 2.f);
    DeviceBuffer off = tu::to_device(even_docs(T, n_docs));
    const double bytes = 3.0 * T * F * 2 + 2.0 * n_docs * F * 4;
    char shape[96];
    std::snprintf(shape, sizeof shape, "T=%lld F=%lld bf16, acc f32, %lld docs", (long long)T,
                  (long long)F, (long long)n_docs);
    bench_kernel("ffn_swiglu", shape, bytes, (double)T * F, "Gelem/s",
                 {{out.ptr, act, T * F, 1e-2, 1e-4, "act_out"},
                  {acc.ptr, accd, n_docs * F, 1e-3, 1e-6, "acc"}},
                 [&](int v) {
                     return cusprun_cuda_ffn_swiglu(0, v, g_stream, act, gate.ptr, up.ptr, F,
                                                    out.ptr, T, F, off.as<int64_t>(), n_docs, accd,
                                                    acc.ptr);
                 });
}

void bench_head_gram() {
    const int64_t T = g_quick ? 300 : 4096, H = 32, d = 128, gs = 4, n_docs = 4;
    const int64_t G = H / gs, M = gs * d;
    const cusprun_dtype act = CUSPRUN_BF16, accd = CUSPRUN_F32;
    DeviceBuffer z(T * H * d * 2), gram(n_docs * G * M * M * 4);
    fill(z.ptr, act, T * H * d, 3, -2.f, 2.f);
    DeviceBuffer off = tu::to_device(even_docs(T, n_docs));
    const double bytes = 1.0 * T * H * d * 2 + 2.0 * n_docs * G * M * M * 4;
    char shape[96];
    std::snprintf(shape, sizeof shape, "T=%lld H=%lld d=%lld group=%lld bf16, acc f32, %lld docs",
                  (long long)T, (long long)H, (long long)d, (long long)gs, (long long)n_docs);
    bench_kernel("head_gram", shape, bytes, 2.0 * T * G * M * M / 1e3, "GFLOP/s (dense)",
                 {{gram.ptr, accd, n_docs * G * M * M, 1e-3, 1e-3, "gram"}}, [&](int v) {
                     return cusprun_cuda_head_gram(0, v, g_stream, act, z.ptr, T, H, d, gs,
                                                   off.as<int64_t>(), n_docs, accd, gram.ptr);
                 });
}

void bench_qk() {
    const int64_t T = g_quick ? 200 : 1024, H = 32, Hkv = 8, d = 128, n_docs = 1;
    const int rope = 1;
    const int64_t U = d / 2;
    const cusprun_dtype act = CUSPRUN_BF16, accd = CUSPRUN_F32;
    DeviceBuffer q(T * H * d * 2), k(T * Hkv * d * 2), acc(n_docs * H * U * 4);
    fill(q.ptr, act, T * H * d, 4, -2.f, 2.f);
    fill(k.ptr, act, T * Hkv * d, 5, -2.f, 2.f);
    DeviceBuffer off = tu::to_device(even_docs(T, n_docs));
    const float scale = 1.0f / std::sqrt((float)d);
    const double bytes = 1.0 * T * H * d * 2 + 1.0 * T * Hkv * d * 2 + 2.0 * n_docs * H * U * 4;
    const double pairs = (double)H * U * T * (T + 1) / 2;  // (query, key, unit) triples, 1 doc
    char shape[112];
    std::snprintf(shape, sizeof shape, "T=%lld H=%lld Hkv=%lld d=%lld rope pairs bf16, acc f32",
                  (long long)T, (long long)H, (long long)Hkv, (long long)d);
    bench_kernel("qk_neuron", shape, bytes, pairs / 1e3, "G(s,t,unit)/s",
                 {{acc.ptr, accd, n_docs * H * U, 2e-3, 1e-3, "acc"}}, [&](int v) {
                     return cusprun_cuda_qk_neuron(0, v, g_stream, act, q.ptr, k.ptr, T, H, Hkv, d,
                                                   scale, rope, off.as<int64_t>(), n_docs, accd,
                                                   acc.ptr);
                 });
}

void bench_rank() {
    const int64_t n_docs = g_quick ? 8 : 64, N = g_quick ? 1000 : 14336, n_bins = 20;
    DeviceBuffer rel(n_docs * N * 4), mx(N * 4), hist(N * n_bins * 4), sum(N * 16);
    fill(rel.ptr, CUSPRUN_F32, n_docs * N, 6, 0.f, 1.f);
    const double bytes = 1.0 * n_docs * N * 4 + 2.0 * N * (4 + 16) + 2.0 * N * n_bins * 4;
    char shape[64];
    std::snprintf(shape, sizeof shape, "n_docs=%lld N=%lld f32, %lld bins", (long long)n_docs,
                  (long long)N, (long long)n_bins);
    bench_kernel("rank_update", shape, bytes, (double)n_docs * N / 1e3, "Gelem/s",
                 {{mx.ptr, CUSPRUN_F32, N, 1e-6, 0, "rank_max"},
                  {hist.ptr, CUSPRUN_F32, N * n_bins, 0, 0, "rank_hist", true},
                  {sum.ptr, CUSPRUN_F64, 2 * N, 0, 0, "relevance_sum", true}},
                 [&](int v) {
                     return cusprun_cuda_rank_update(0, v, g_stream, CUSPRUN_F32, rel.ptr, n_docs,
                                                     N, mx.as<float>(), hist.as<int32_t>(), n_bins,
                                                     sum.as<int64_t>());
                 });
}

void write_table(FILE *f) {
    std::fprintf(f,
                 "| kernel | variant | shape | time (ms) | GB/s | copy GB/s | %% of copy | "
                 "throughput | vs 1_naive |\n");
    std::fprintf(f, "|---|---|---|---:|---:|---:|---:|---|---|\n");
    for (const Row &r : g_rows)
        std::fprintf(f, "| %s | %s | %s | %.4f | %.1f | %.1f | %.1f%% | %.2f %s | %s |\n",
                     r.kernel.c_str(), r.variant.c_str(), r.shape.c_str(), r.ms, r.gbps,
                     r.copy_gbps, 100.0 * r.gbps / r.copy_gbps, r.work, r.work_unit.c_str(),
                     r.check.c_str());
    for (const Row &r : g_rows)
        if (r.kernel == "ffn_swiglu" && r.variant != "1_naive")
            std::fprintf(f,
                         "\nFFN %s: %.1f%% of device-to-device copy bandwidth (target >= 70%%).\n",
                         r.variant.c_str(), 100.0 * r.gbps / r.copy_gbps);
}

}  // namespace

int main(int argc, char **argv) {
    const char *out_path = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) g_quick = true;
        else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--out FILE.md]\n", argv[0]);
            return 2;
        }
    }
    tu::require_device("cuda_bench_kernels");
    CHECK_CUDA(cudaSetDevice(0));
    CHECK_CUDA(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    bench_ffn();
    bench_head_gram();
    bench_qk();
    bench_rank();
    std::printf("\n");
    write_table(stdout);
    if (out_path) {
        FILE *f = std::fopen(out_path, "w");
        if (!f) {
            std::perror(out_path);
            return 1;
        }
        cudaDeviceProp p{};
        CHECK_CUDA(cudaGetDeviceProperties(&p, 0));
        std::fprintf(f, "Device: %s (sm_%d%d, %d SMs)%s\n\n", p.name, p.major, p.minor,
                     p.multiProcessorCount, g_quick ? " -- QUICK MODE, not a measurement" : "");
        write_table(f);
        std::fclose(f);
    }
    CHECK_CUDA(cudaStreamDestroy(g_stream));
    if (g_failures) std::printf("%d variant(s) failed or disagreed with 1_naive\n", g_failures);
    return g_failures ? 1 : 0;
}
