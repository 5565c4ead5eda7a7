// Thread count of the OpenBLAS that LibTorch's CPU build does its GEMMs in. OpenBLAS keeps its
// own busy-waiting thread pool beside the OpenMP pool; on cores shared with other processes the
// two pools thrash (a 20x slowdown was measured), and OPENBLAS_NUM_THREADS is read only when the
// library loads. So the engine sets it at run time through the library already in the process.
#include <dlfcn.h>

#include "cusprun.h"

extern "C" int cusprun_set_blas_threads(int threads) {
    if (threads < 1) {
        return -1;
    }
    const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblas_nolapack.so.0"};
    for (const char *name : names) {
        void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);  // only a library that is already loaded
        if (h == nullptr) {
            continue;
        }
        auto set = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
        if (set != nullptr) {
            set(threads);
        }
        dlclose(h);  // drops the reference RTLD_NOLOAD added; the library stays loaded
        if (set != nullptr) {
            return 1;
        }
    }
    return 0;
}
