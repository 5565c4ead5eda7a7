package io.cusprun.engine;

import io.cusprun.engine.nativeapi.CusprunNative;
import org.bytedeco.javacpp.Loader;

/**
 * CPU thread settings applied once per process before the first model runs.
 *
 * <p>LibTorch's CPU build runs GEMMs in OpenBLAS, whose own busy-waiting thread pool competes
 * with the OpenMP pool that runs everything else (and our kernels). On two cores also used by
 * another process, scoring measured 84 tokens/s with both pools against 1834 with OpenBLAS on
 * one thread (benchmarks/README.md, "Threads"). So, unless the user set OPENBLAS_NUM_THREADS,
 * OpenBLAS gets one thread and the parallelism comes from OpenMP.
 */
public final class CpuThreads {
    private static boolean configured;

    private CpuThreads() {}

    public static synchronized void configure() {
        if (configured) {
            return;
        }
        configured = true;
        if (System.getenv("OPENBLAS_NUM_THREADS") != null) {
            return; // the user's choice, already read by OpenBLAS at load
        }
        Loader.load(org.bytedeco.pytorch.global.torch.class); // brings OpenBLAS into the process
        CusprunNative.cusprun_set_blas_threads(1);
    }
}
