package io.cusprun.engine.nativeapi;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.pytorch.global.torch;

/**
 * Loads the native libraries cusprun ships (LibTorch with its OpenMP runtime, OpenBLAS,
 * libcusprun.so) from their jars, by absolute path, each after every library it needs. The
 * dynamic linker then finds each dependency already loaded (it matches the name a library asks
 * for against the sonames in the process) and never searches {@code LD_LIBRARY_PATH} or the
 * system's folders, where another LibTorch or libgomp may sit.
 *
 * <p>Why (docs/reliability.md, "Native libraries"): JavaCPP loads LibTorch's libraries in the order
 * its preset lists them, {@code libc10.so}, {@code libtorch.so}, {@code libtorch_cpu.so}, but
 * {@code libtorch.so} needs {@code libtorch_cpu.so}. With a warm cache the linker found that one
 * beside it ({@code $ORIGIN}); with an empty cache it was not extracted yet, and the linker took the
 * system's: Debian's python3-torch installs an unversioned {@code libtorch_cpu.so} (1.13) into
 * {@code /usr/lib/x86_64-linux-gnu}, and the JVM crashed with two LibTorch versions mapped. A
 * LibTorch folder on {@code LD_LIBRARY_PATH} wins over {@code $ORIGIN} even with a warm cache. In
 * the same way {@code libcusprun.so}, loaded first, pulled in the system's {@code libgomp.so.1}
 * beside the one LibTorch ships: two OpenMP runtimes with a thread pool each.
 *
 * <p>{@link CusprunNative} calls {@link #loadOpenMp} before it loads {@code libcusprun.so};
 * {@code io.cusprun.engine.CpuRuntime#configure}, which every entry point calls before its first
 * tensor, calls {@link #loadLibTorch}.
 */
public final class BundledLibraries {
    /** LibTorch's libraries in dependency order: each needs only the ones before it (and OpenBLAS). */
    static final String[] LIBTORCH = {"libc10.so", "libtorch_cpu.so", "libtorch.so"};

    /** LibTorch's OpenMP runtime, which libtorch_cpu.so and libcusprun.so share. */
    static final String OPENMP = "libgomp.so.1";

    private static boolean openMpLoaded;
    private static boolean libTorchLoaded;

    private BundledLibraries() {}

    /** LibTorch's {@code libgomp.so.1}: before {@code libcusprun.so}, which needs an OpenMP runtime. */
    public static synchronized void loadOpenMp() {
        if (openMpLoaded || !Loader.isLoadLibraries()) {
            return;
        }
        load(OPENMP);
        openMpLoaded = true;
    }

    /**
     * OpenBLAS (JavaCPP loads its preset in dependency order), LibTorch's libraries in dependency
     * order, then LibTorch's JNI library through JavaCPP, which finds them all loaded.
     */
    public static synchronized void loadLibTorch() {
        if (libTorchLoaded || !Loader.isLoadLibraries()) {
            return;
        }
        loadOpenMp();
        Loader.load(openblas.class);
        for (String name : LIBTORCH) {
            load(name);
        }
        Loader.load(torch.class);
        libTorchLoaded = true;
    }

    /**
     * Loads {@code name} from the LibTorch jar: extracted to JavaCPP's cache, at the path JavaCPP
     * itself uses, so its own later load of the same library is a no-op. Never from elsewhere.
     */
    private static void load(String name) {
        URL url = resource(name);
        if (url == null) {
            throw new UnsatisfiedLinkError(
                    name + " is not in the LibTorch jar for " + Loader.getPlatform() + " on the class path");
        }
        File file;
        try {
            file = Loader.cacheResource(url);
        } catch (IOException e) {
            throw (UnsatisfiedLinkError)
                    new UnsatisfiedLinkError("cannot extract " + url + ": " + e.getMessage()).initCause(e);
        }
        System.load(file.getAbsolutePath());
    }

    /** The library in the LibTorch jar: the GPU build's folder first, as JavaCPP looks. */
    private static URL resource(String name) {
        for (String extension : new String[] {"-gpu", ""}) {
            URL url = torch.class.getResource("/org/bytedeco/pytorch/" + Loader.getPlatform() + extension + "/" + name);
            if (url != null) {
                return url;
            }
        }
        return null;
    }
}
