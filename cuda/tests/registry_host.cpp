// The real libcusprun_cuda.so on a machine without a GPU (g++, no nvcc needed for this
// file): libcusprun loads it, its registry answers from the typed tables and the
// architectures built, the argument checks are the CPU's, and a kernel call without a
// device is refused before any CUDA work.
// Usage: cuda_registry_host <libcusprun_cuda.so> <newest architecture built, 0 if unknown>
#include <stdlib.h>

#include "../../native/tests/test_util.h"  // CHECK, finish (not cuda/tests/test_util.h)

static std::string names(const char *kernel) {
    std::string s;
    for (int i = 0; i < cusprun_variant_count(CUSPRUN_BACKEND_CUDA, kernel); ++i)
        s += std::string(i ? " " : "") + cusprun_variant_name(CUSPRUN_BACKEND_CUDA, kernel, i);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s <libcusprun_cuda.so> <newest arch built>\n", argv[0]);
        return 2;
    }
    const int newest_arch = atoi(argv[2]);
    int rc = cusprun_cuda_load(argv[1]);
    if (rc == CUSPRUN_OK) {
        printf("a CUDA device is present: the GPU tests cover the registry here\n");
        return 77;  // skipped
    }
    // Loaded, but no device: the registry still answers.
    CHECK(rc == CUSPRUN_ERR_NO_CUDA && strstr(cusprun_last_error(), "no CUDA device is usable"),
          "load: %d %s", rc, cusprun_last_error());
    CHECK(cusprun_cuda_device_count() == 0, "devices %d", cusprun_cuda_device_count());

    CHECK(names("ffn_swiglu") == "1_naive 2_vec_rows", "ffn: %s", names("ffn_swiglu").c_str());
    CHECK(names("qk_neuron") == "1_naive 2_block_row 3_global_scratch", "qk: %s",
          names("qk_neuron").c_str());
    CHECK(names("rank_update") == "1_naive 2_cub_segsort", "rank: %s",
          names("rank_update").c_str());
    // 3_wmma needs sm_80: registered only when an architecture built can run it
    const bool wmma = newest_arch == 0 || newest_arch >= 80;
    CHECK(names("head_gram") == (wmma ? "1_naive 2_tiled_smem 3_wmma" : "1_naive 2_tiled_smem"),
          "head_gram with newest arch %d: %s", newest_arch, names("head_gram").c_str());
    // defaults by rank: the fastest registered
    CHECK(cusprun_variant_default(CUSPRUN_BACKEND_CUDA, "ffn_swiglu") == 1, "ffn default");
    CHECK(cusprun_variant_default(CUSPRUN_BACKEND_CUDA, "head_gram") == (wmma ? 2 : 1),
          "head_gram default");
    CHECK(cusprun_variant_default(CUSPRUN_BACKEND_CUDA, "qk_neuron") == 1, "qk default");
    CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CUDA, "qk_neuron", "3_global_scratch") == 2,
          "find by name");

    // Bad arguments: the shared check, the CPU's message, before the device is looked at.
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, mx[4] = {0};
    int32_t hist[12] = {0};
    int64_t sum[8] = {0};
    int64_t offs[2] = {0, 2};
    rc = cusprun_rank_update(-1, -1, nullptr, CUSPRUN_F32, x, 2, 4, mx, hist, 0, sum);
    std::string cpu = cusprun_last_error();
    int cuda_rc = cusprun_rank_update(0, -1, nullptr, CUSPRUN_F32, x, 2, 4, mx, hist, 0, sum);
    CHECK(rc == CUSPRUN_ERR_ARGUMENT && cuda_rc == rc && cpu == cusprun_last_error(),
          "bins: CPU %d '%s', CUDA %d '%s'", rc, cpu.c_str(), cuda_rc, cusprun_last_error());
    // Good arguments without a device: refused, nothing written.
    rc = cusprun_head_gram(0, -1, nullptr, CUSPRUN_F32, x, 2, 2, 2, 1, offs, 1, CUSPRUN_F64, sum);
    CHECK(rc == CUSPRUN_ERR_NO_CUDA && strstr(cusprun_last_error(), "device 0 not present"),
          "no device: %d %s", rc, cusprun_last_error());
    CHECK(sum[0] == 0 && sum[1] == 0, "output written without a device");

    return finish("cuda_registry_host");
}
