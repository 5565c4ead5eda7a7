package io.cusprun.engine;

import io.cusprun.engine.nativeapi.CusprunNative;
import org.bytedeco.javacpp.Loader;

/**
 * CPU thread settings applied once per process before the first model runs.
 *
 * <p>LibTorch's CPU build runs GEMMs in OpenBLAS, whose own busy-waiting thread pool competes
 * with the OpenMP pool that runs everything else (and our kernels), which on shared cores is
 * many times slower than either pool alone. But OpenBLAS on one thread leaves the GEMMs, most of
 * a forward pass, on one core.
 * So, unless the user set OPENBLAS_NUM_THREADS, OpenBLAS gets one thread and the model's fp32
 * Linear layers run through {@link CpuLinear}: tiles of single-threaded GEMMs on the OpenMP pool,
 * one pool that fills every core (benchmarks/README.md, "Threads"). With OPENBLAS_NUM_THREADS
 * set, LibTorch's own GEMM threading is used as the user configured it.
 */
public final class CpuThreads {
    private static volatile boolean configured;
    private static volatile boolean gemmOnOpenMp;

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
        gemmOnOpenMp = CusprunNative.cusprun_set_blas_threads(1) == 1;
    }

    /** Whether fp32 Linear layers on the CPU run on the OpenMP pool ({@link CpuLinear}). */
    public static boolean gemmOnOpenMp() {
        if (!configured) {
            configure(); // once; afterwards one volatile read per Linear layer, no lock
        }
        return gemmOnOpenMp;
    }

    /** Falls back to LibTorch's GEMM for the rest of the process (no CBLAS found after all). */
    static void disableGemmOnOpenMp() {
        gemmOnOpenMp = false;
    }
}
