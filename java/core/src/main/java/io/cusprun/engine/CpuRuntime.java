package io.cusprun.engine;

import io.cusprun.engine.nativeapi.BundledLibraries;
import io.cusprun.engine.nativeapi.CusprunNative;
import org.bytedeco.pytorch.global.torch;

/**
 * CPU settings applied once per process, before the first tensor exists (measured in
 * benchmarks/README.md, "Threads" and "Huge pages"):
 *
 * <ul>
 *   <li><b>Huge pages.</b> LibTorch's allocator is asked for transparent huge pages on buffers of
 *       2 MB and more ({@code THP_MEM_ALLOC_ENABLE=1} unless the user set it): without them much
 *       of a forward's CPU time goes to faulting in 4 KB pages of fresh activations and layers.
 *   <li><b>Threads.</b> LibTorch's intra-op pool gets one thread per processor available to the
 *       JVM, unless {@code OMP_NUM_THREADS} is set: LibTorch's own default counts physical cores
 *       as its cpuinfo sees them, which on some virtual machines is one for two cores.
 *   <li><b>GEMMs.</b> LibTorch's CPU build runs GEMMs in OpenBLAS, whose own busy-waiting thread
 *       pool competes with the OpenMP pool that runs everything else (and our kernels), which on
 *       shared cores is many times slower than either pool alone; OpenBLAS on one thread leaves
 *       the GEMMs, most of a forward pass, on one core. So, unless the user set
 *       OPENBLAS_NUM_THREADS, OpenBLAS gets one thread and the model's fp32 Linear layers run
 *       through {@link CpuLinear}: tiles of single-threaded GEMMs on the OpenMP pool, one pool
 *       that fills every core (benchmarks/README.md, "Threads").
 * </ul>
 *
 * <p>It also loads the native libraries, the shipped ones only and in dependency order ({@link
 * BundledLibraries}): every entry point (the CLI, the Java API's classes, the trainer, the Spark
 * job, the benchmarks) calls {@link #configure} before anything touches LibTorch, whose classes
 * would otherwise load it through JavaCPP in an order that lets a system LibTorch in.
 */
public final class CpuRuntime {
    private static volatile boolean configured;
    private static volatile boolean gemmOnOpenMp;
    private static volatile boolean hugePages;

    private CpuRuntime() {}

    public static synchronized void configure() {
        if (configured) {
            return;
        }
        configured = true;
        // before LibTorch is loaded: its allocator reads the setting at its first allocation
        hugePages = CusprunNative.cusprun_prefer_huge_pages() == 1 || "1".equals(System.getenv("THP_MEM_ALLOC_ENABLE"));
        BundledLibraries.loadLibTorch(); // the shipped LibTorch and OpenBLAS, whatever the system holds
        if (System.getenv("OMP_NUM_THREADS") == null) {
            torch.set_num_threads(Runtime.getRuntime().availableProcessors());
        }
        if (System.getenv("OPENBLAS_NUM_THREADS") != null) {
            return; // the user's choice, already read by OpenBLAS at load
        }
        gemmOnOpenMp = CusprunNative.cusprun_set_blas_threads(1) == 1;
    }

    /** Whether LibTorch's allocator was asked for huge pages (by {@link #configure} or the user). */
    public static boolean hugePages() {
        return hugePages;
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
