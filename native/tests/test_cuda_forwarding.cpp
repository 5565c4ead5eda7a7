// How libcusprun reaches a CUDA back end, checked without a GPU: a library that cannot
// be opened, one missing a symbol, one of another API version, one without a version, then
// a fake back end (fake_cuda_backend.cpp) whose kernels echo their arguments.
// Usage: test_cuda_forwarding <fake.so> <broken.so> <wrong_version.so> <no_version.so>
#include "test_util.h"

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s <fake> <broken> <wrong version> <no version>\n", argv[0]);
        return 2;
    }
    const char *fake = argv[1], *broken = argv[2], *wrong = argv[3], *unversioned = argv[4];
    CHECK(cusprun_api_version() == CUSPRUN_API_VERSION, "cusprun_api_version %d",
          cusprun_api_version());
    int rc = cusprun_cuda_load("/nonexistent/libcusprun_cuda.so");
    CHECK(rc == CUSPRUN_ERR_NO_CUDA && strstr(cusprun_last_error(), "cannot open"),
          "missing file: %d %s", rc, cusprun_last_error());
    rc = cusprun_cuda_load(broken);
    CHECK(rc == CUSPRUN_ERR_NO_CUDA &&
              strstr(cusprun_last_error(), "missing symbol cusprun_cuda_rank_update"),
          "broken: %d %s", rc, cusprun_last_error());

    // a back end of another API version is refused with one line naming both versions and the file
    char expect[1024];
    snprintf(expect, sizeof expect,
             "libcusprun_cuda.so at %s has API version %d, libcusprun.so has %d", wrong,
             CUSPRUN_API_VERSION + 1, CUSPRUN_API_VERSION);
    rc = cusprun_cuda_load(wrong);
    CHECK(rc == CUSPRUN_ERR_NO_CUDA && strstr(cusprun_last_error(), expect) &&
              !strchr(cusprun_last_error(), '\n'),
          "wrong version: %d %s", rc, cusprun_last_error());
    rc = cusprun_cuda_load(unversioned);
    CHECK(rc == CUSPRUN_ERR_NO_CUDA && strstr(cusprun_last_error(), unversioned) &&
              strstr(cusprun_last_error(), "missing symbol cusprun_cuda_api_version") &&
              !strchr(cusprun_last_error(), '\n'),
          "no version: %d %s", rc, cusprun_last_error());

    rc = cusprun_cuda_load(fake);
    CHECK(rc == CUSPRUN_OK, "fake load: %d %s", rc, cusprun_last_error());
    CHECK(cusprun_cuda_load(nullptr) == CUSPRUN_OK, "idempotent");
    CHECK(cusprun_cuda_device_count() == 1, "device count");

    // the registry answers for CUDA from the table
    CHECK(cusprun_variant_count(CUSPRUN_BACKEND_CUDA, "ffn_swiglu") == 3, "cuda variant count");
    CHECK(strcmp(cusprun_variant_name(CUSPRUN_BACKEND_CUDA, "ffn_swiglu", 1), "2_fake") == 0,
          "cuda variant name");
    CHECK(cusprun_variant_find(CUSPRUN_BACKEND_CUDA, "ffn_swiglu", "3") == 2, "cuda find");
    CHECK(cusprun_variant_default(CUSPRUN_BACKEND_CUDA, "ffn_swiglu") == 2, "cuda default");
    CHECK(cusprun_variant_count(CUSPRUN_BACKEND_CUDA, "nope") == 0, "cuda unknown kernel");

    // kernels forward with their arguments; the default variant resolves to the CUDA one
    double out[8] = {0};
    int64_t offs[2] = {0, 5};
    float x[4] = {1, 2, 3, 4};
    void *stream = (void *)(intptr_t)0x1234;
    rc = cusprun_ffn_swiglu(0, CUSPRUN_DEFAULT_VARIANT, stream, CUSPRUN_BF16, x, x, 9, nullptr, 5,
                            7, offs, 1, CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_OK, "ffn forward rc %d %s", rc, cusprun_last_error());
    CHECK(out[0] == 0 && out[1] == 2 && out[2] == 0x1234 && out[3] == CUSPRUN_BF16 && out[4] == 9 &&
              out[5] == 5007 && out[6] == 1 && out[7] == CUSPRUN_F64,
          "ffn arguments: %g %g %g %g %g %g %g %g", out[0], out[1], out[2], out[3], out[4], out[5],
          out[6], out[7]);
    rc = cusprun_head_gram(0, 0, nullptr, CUSPRUN_F32, x, 5, 6, 4, 3, offs, 1, CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_OK && out[0] == 643, "gram forward %d %g", rc, out[0]);
    rc = cusprun_qk_neuron(0, 0, nullptr, CUSPRUN_F32, x, x, 5, 4, 2, 6, 0.5f, 1, offs, 1,
                           CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_OK && out[0] == 4261.5, "qk forward %d %g", rc, out[0]);
    float mx[1] = {0};
    int32_t hist[1] = {0};
    int64_t sum[2] = {0, 0};
    rc = cusprun_rank_update(0, 0, nullptr, CUSPRUN_F32, x, 1, 4, mx, hist, 3, sum);
    CHECK(rc == CUSPRUN_OK && mx[0] == 403, "rank forward %d %g", rc, mx[0]);

    // errors: the back end's message comes through; bad device / variant / sizes stop earlier
    rc = cusprun_ffn_swiglu(0, 0, nullptr, CUSPRUN_F32, x, x, 9, nullptr, 13, 7, offs, 1,
                            CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_ERR_CUDA && strstr(cusprun_last_error(), "fake CUDA back end: ffn_swiglu"),
          "cuda error: %d %s", rc, cusprun_last_error());
    rc = cusprun_head_gram(1, 0, nullptr, CUSPRUN_F32, x, 5, 6, 4, 3, offs, 1, CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_ERR_NO_CUDA && strstr(cusprun_last_error(), "device 1 not present"),
          "device 1: %s", cusprun_last_error());
    rc = cusprun_head_gram(0, 1, nullptr, CUSPRUN_F32, x, 5, 6, 4, 3, offs, 1, CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_ERR_ARGUMENT && strstr(cusprun_last_error(), "CUDA back end has 1"),
          "cuda variant: %s", cusprun_last_error());
    rc = cusprun_qk_neuron(0, 0, nullptr, CUSPRUN_F32, x, x, 5, 4, 3, 6, 0.5f, 1, offs, 1,
                           CUSPRUN_F64, out);
    CHECK(rc == CUSPRUN_ERR_ARGUMENT, "sizes are checked before forwarding: %d", rc);

    // One argument check for both back ends (kernel_args.h): each bad call below fails on the
    // CUDA path (the fake back end) with the same code and message as on the CPU path, and
    // nothing reaches the back end (it would write into out).
    using Call = int (*)(int device, double *out);
    struct Bad {
        const char *what;
        Call call;
    };
    static int64_t g_offs[2] = {0, 5};
    static float g_x[16] = {1, 2, 3, 4};
    const Bad bad[] = {
        {"ffn act dtype",
         [](int dev, double *o) {
             return cusprun_ffn_swiglu(dev, -1, nullptr, CUSPRUN_F64, g_x, g_x, 9, nullptr, 5, 7,
                                       g_offs, 1, CUSPRUN_F64, o);
         }},
        {"ffn stride",
         [](int dev, double *o) {
             return cusprun_ffn_swiglu(dev, -1, nullptr, CUSPRUN_F32, g_x, g_x, 6, nullptr, 5, 7,
                                       g_offs, 1, CUSPRUN_F64, o);
         }},
        {"ffn rows without documents",
         [](int dev, double *o) {
             return cusprun_ffn_swiglu(dev, -1, nullptr, CUSPRUN_F32, g_x, g_x, 9, nullptr, 5, 7,
                                       g_offs, 0, CUSPRUN_F64, o);
         }},
        {"gram group size",
         [](int dev, double *o) {
             return cusprun_head_gram(dev, -1, nullptr, CUSPRUN_F32, g_x, 5, 6, 4, 4, g_offs, 1,
                                      CUSPRUN_F64, o);
         }},
        {"gram acc dtype",
         [](int dev, double *o) {
             return cusprun_head_gram(dev, -1, nullptr, CUSPRUN_F32, g_x, 5, 6, 4, 3, g_offs, 1,
                                      CUSPRUN_BF16, o);
         }},
        {"qk scale",
         [](int dev, double *o) {
             return cusprun_qk_neuron(dev, -1, nullptr, CUSPRUN_F32, g_x, g_x, 5, 4, 2, 6, NAN, 1,
                                      g_offs, 1, CUSPRUN_F64, o);
         }},
        {"qk odd d with rope pairs",
         [](int dev, double *o) {
             return cusprun_qk_neuron(dev, -1, nullptr, CUSPRUN_F32, g_x, g_x, 5, 4, 2, 5, 0.5f, 1,
                                      g_offs, 1, CUSPRUN_F64, o);
         }},
        {"rank bins",
         [](int dev, double *o) {
             return cusprun_rank_update(dev, -1, nullptr, CUSPRUN_F32, g_x, 1, 4, (float *)o,
                                        (int32_t *)o, 0, (int64_t *)o);
         }},
        {"rank NULL",
         [](int dev, double *o) {
             return cusprun_rank_update(dev, -1, nullptr, CUSPRUN_F32, g_x, 1, 4, (float *)o,
                                        nullptr, 3, (int64_t *)o);
         }},
    };
    for (const Bad &b : bad) {
        double cpu_out[8], cuda_out[8];
        for (int i = 0; i < 8; ++i) cpu_out[i] = cuda_out[i] = -7.5;
        int cpu_rc = b.call(-1, cpu_out);
        std::string cpu_msg = cusprun_last_error();
        int cuda_rc = b.call(0, cuda_out);
        std::string cuda_msg = cusprun_last_error();
        CHECK(cpu_rc == CUSPRUN_ERR_ARGUMENT && cuda_rc == cpu_rc && cuda_msg == cpu_msg,
              "%s: CPU %d '%s', CUDA %d '%s'", b.what, cpu_rc, cpu_msg.c_str(), cuda_rc,
              cuda_msg.c_str());
        bool untouched = true;
        for (int i = 0; i < 8; ++i) untouched = untouched && cuda_out[i] == -7.5;
        CHECK(untouched, "%s: the CUDA back end was called", b.what);
    }
    return finish("test_cuda_forwarding");
}
