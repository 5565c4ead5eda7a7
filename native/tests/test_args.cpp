// Argument errors: the right status code and a one-line message naming the problem;
// outputs untouched; registry lookups; CUDA requests without CUDA; thread-local errors.
#include <thread>

#include "test_util.h"

static const int CPU = -1;

static void expect(int rc, int want, const char *needle, const char *what) {
    const char *msg = cusprun_last_error();
    CHECK(rc == want, "%s: rc %d want %d (%s)", what, rc, want, msg);
    CHECK(strstr(msg, needle) != nullptr, "%s: message '%s' lacks '%s'", what, msg, needle);
    CHECK(strchr(msg, '\n') == nullptr, "%s: message has a newline", what);
}

int main() {
    const int ARG = CUSPRUN_ERR_ARGUMENT;
    std::vector<float> a(64 * 64, 1.0f), b(64 * 64, 0.5f), acc(64 * 64, 3.0f);
    const std::vector<float> acc0 = acc;
    int64_t offs[3] = {0, 2, 4}, bad_start[3] = {1, 2, 4}, bad_order[3] = {0, 3, 2},
            bad_end[3] = {0, 2, 5};
    float *A = a.data(), *B = b.data(), *C = acc.data();
    const cusprun_dtype F32 = CUSPRUN_F32;

    // ---- ffn_swiglu
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, nullptr, B, 8, B, 4, 8, offs, 2, F32, C), ARG,
           "NULL", "null gate");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, B, -4, 8, offs, 2, F32, C), ARG,
           "negative size", "T<0");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 7, B, 4, 8, offs, 2, F32, C), ARG,
           "in_stride (7) < F (8)", "stride");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, nullptr, 4, 8, offs, 2, F32, nullptr), ARG,
           "both NULL", "no outputs");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, CUSPRUN_F64, A, B, 8, B, 4, 8, offs, 2, F32, C), ARG,
           "act_dtype", "act dtype");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, B, 4, 8, offs, 2, CUSPRUN_BF16, C), ARG,
           "acc_dtype", "acc dtype");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, B, 4, 8, bad_start, 2, F32, C), ARG,
           "doc_offsets[0]", "offs start");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, B, 4, 8, bad_order, 2, F32, C), ARG,
           "not ascending", "offs order");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, B, 4, 8, bad_end, 2, F32, C), ARG,
           "must equal T = 4", "offs end");
    expect(cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 8, B, 4, 8, nullptr, 2, F32, C), ARG,
           "doc_offsets is NULL", "offs null");
    expect(cusprun_ffn_swiglu(CPU, 7, 0, F32, A, B, 8, B, 4, 8, offs, 2, F32, C), ARG,
           "unknown variant 7", "variant 7");
    expect(cusprun_ffn_swiglu(CPU, -2, 0, F32, A, B, 8, B, 4, 8, offs, 2, F32, C), ARG,
           "unknown variant -2", "variant -2");
    CHECK(acc == acc0, "a failing call changed acc");

    // ---- head_gram
    expect(cusprun_head_gram(CPU, -1, 0, F32, A, 4, 6, 4, 4, offs, 2, F32, C), ARG,
           "not a multiple of group_size", "H%gs");
    expect(cusprun_head_gram(CPU, -1, 0, F32, A, 4, 6, 4, 0, offs, 2, F32, C), ARG, "must be > 0",
           "gs 0");
    expect(cusprun_head_gram(CPU, -1, 0, F32, A, 4, 6, 0, 1, offs, 2, F32, C), ARG, "must be > 0",
           "d 0");
    expect(cusprun_head_gram(CPU, -1, 0, F32, nullptr, 4, 6, 4, 1, offs, 2, F32, C), ARG, "NULL",
           "null z");
    expect(cusprun_head_gram(CPU, -1, 0, F32, A, 4, 6, 4, 1, offs, -1, F32, C), ARG,
           "negative size", "n_docs<0");
    expect(cusprun_head_gram(CPU, 3, 0, F32, A, 4, 6, 4, 1, offs, 2, F32, C), ARG,
           "unknown variant 3", "gram variant");

    // ---- qk_neuron
    expect(cusprun_qk_neuron(CPU, -1, 0, F32, A, B, 4, 6, 4, 4, 0.5f, 0, offs, 2, F32, C), ARG,
           "not a multiple of Hkv", "H%Hkv");
    expect(cusprun_qk_neuron(CPU, -1, 0, F32, A, B, 4, 4, 2, 5, 0.5f, 1, offs, 2, F32, C), ARG,
           "even d", "odd d pairs");
    expect(cusprun_qk_neuron(CPU, -1, 0, F32, A, B, 4, 4, 2, 4, NAN, 1, offs, 2, F32, C), ARG,
           "scale", "scale nan");
    expect(cusprun_qk_neuron(CPU, -1, 0, F32, A, B, 4, 4, 2, 4, 0.5f, 1, offs, 2, F32, nullptr),
           ARG, "NULL", "null acc");
    expect(cusprun_qk_neuron(CPU, -1, 0, F32, A, B, 4, 4, 2, 4, 0.5f, 1, bad_end, 2, F32, C), ARG,
           "doc_offsets", "qk offs");

    // ---- rank_update
    std::vector<float> mx(8, 0.0f);
    std::vector<int32_t> hist(8 * 4, 0);
    std::vector<int64_t> sum(16, 0);
    expect(cusprun_rank_update(CPU, -1, 0, F32, A, 1, 8, mx.data(), hist.data(), 0, sum.data()),
           ARG, "n_bins", "bins 0");
    expect(cusprun_rank_update(CPU, -1, 0, F32, A, 1, 8, mx.data(), nullptr, 4, sum.data()), ARG,
           "NULL", "null hist");
    expect(cusprun_rank_update(CPU, -1, 0, CUSPRUN_BF16, A, 1, 8, mx.data(), hist.data(), 4,
                               sum.data()),
           ARG, "rel_dtype", "rel dtype");
    std::vector<float> rel{1, 2, NAN, 4, 5, 6, 7, 8};
    expect(cusprun_rank_update(CPU, -1, 0, F32, rel.data(), 1, 8, mx.data(), hist.data(), 4,
                               sum.data()),
           ARG, "relevance[0][2] is NaN", "nan rel");
    CHECK(sum == std::vector<int64_t>(16, 0) && hist == std::vector<int32_t>(32, 0),
          "NaN call touched outputs");
    const float outside[3] = {-0.5f, INFINITY, 0x1p62f};
    const char *said[3] = {"relevance[0][5] is negative", "relevance[0][5] is infinite",
                           "relevance[0][5] is >= 2^62"};
    for (int i = 0; i < 3; ++i) {
        rel = {1, 2, 3, 4, 5, outside[i], 7, 8};
        expect(cusprun_rank_update(CPU, -1, 0, F32, rel.data(), 1, 8, mx.data(), hist.data(), 4,
                                   sum.data()),
               ARG, said[i], "out-of-range rel");
    }
    CHECK(sum == std::vector<int64_t>(16, 0) && hist == std::vector<int32_t>(32, 0),
          "out-of-range calls touched outputs");

    // ---- registry
    CHECK(cusprun_kernel_count() == 4, "kernel count");
    const char *names[4] = {"ffn_swiglu", "head_gram", "qk_neuron", "rank_update"};
    for (int i = 0; i < 4; ++i) {
        CHECK(strcmp(cusprun_kernel_name(i), names[i]) == 0, "kernel %d name", i);
        int n = cusprun_variant_count(CUSPRUN_BACKEND_CPU, names[i]);
        CHECK(n >= 2, "%s has %d variants", names[i], n);
        CHECK(strcmp(cusprun_variant_name(CUSPRUN_BACKEND_CPU, names[i], 0), "1_naive") == 0,
              "first is naive");
        CHECK(strcmp(cusprun_variant_name(CUSPRUN_BACKEND_CPU, names[i], 1), "2_omp_simd") == 0,
              "second");
        CHECK(cusprun_variant_name(CUSPRUN_BACKEND_CPU, names[i], n) == nullptr, "past the end");
        CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CPU, names[i], "2") == 1, "find by number");
        CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CPU, names[i], "2_omp_simd") == 1,
              "find by name");
        CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CPU, names[i], "2_omp") == -1,
              "no prefix match");
        CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CPU, names[i], "9") == -1, "find 9");
        int def = cusprun_variant_default(CUSPRUN_BACKEND_CPU, names[i]);
        CHECK(def >= 0 && def < n, "default %d", def);
    }
    CHECK(cusprun_kernel_name(4) == nullptr && cusprun_kernel_name(-1) == nullptr,
          "kernel name range");
    CHECK(cusprun_variant_count(CUSPRUN_BACKEND_CPU, "nope") == 0, "unknown kernel count");
    CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CPU, "nope", "1") == -1, "unknown kernel find");
    CHECK(cusprun_variant_default(CUSPRUN_BACKEND_CPU, nullptr) == -1, "null kernel default");
    CHECK(cusprun_variant_count(7, "ffn_swiglu") == 0, "unknown backend");
    CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CPU, "head_gram", "3_blocked") == 2, "3_blocked");

    // ---- CUDA requested where there is none (on a GPU machine with the back end: skipped)
    if (cusprun_cuda_device_count() == 0) {
        expect(cusprun_ffn_swiglu(0, -1, 0, F32, A, B, 8, B, 4, 8, offs, 2, F32, C),
               CUSPRUN_ERR_NO_CUDA, "CUDA", "device 0");
        int rc = cusprun_cuda_load("/nonexistent/libcusprun_cuda.so");
        CHECK(rc == CUSPRUN_ERR_NO_CUDA && strlen(cusprun_last_error()) > 0, "explicit load rc %d",
              rc);
        printf("no CUDA here: %s\n", cusprun_last_error());
        CHECK(cusprun_variant_count(CUSPRUN_BACKEND_CUDA, "ffn_swiglu") == 0 ||
                  cusprun_cuda_device_count() == 0,
              "CUDA registry without CUDA");
        CHECK(acc == acc0, "failing CUDA call changed acc");
    } else {
        printf("CUDA devices: %d (absence checks skipped)\n", cusprun_cuda_device_count());
    }

    // ---- last error is per thread
    expect(cusprun_head_gram(CPU, -1, 0, F32, A, 4, 6, 4, 4, offs, 2, F32, C), ARG, "group_size",
           "main");
    std::string other;
    std::thread th([&] {
        cusprun_ffn_swiglu(CPU, -1, 0, F32, A, B, 7, B, 4, 8, offs, 2, F32, C);
        other = cusprun_last_error();
    });
    th.join();
    CHECK(other.find("in_stride") != std::string::npos, "other thread: %s", other.c_str());
    CHECK(strstr(cusprun_last_error(), "group_size") != nullptr,
          "main thread's error was overwritten");
    return finish("test_args");
}
