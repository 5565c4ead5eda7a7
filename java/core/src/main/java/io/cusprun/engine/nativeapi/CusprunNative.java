package io.cusprun.engine.nativeapi;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * Hand-written JavaCPP binding of {@code native/include/cusprun.h}: one static native per C
 * function, same names and argument order. Pointers are raw (host pointers on the CPU, device
 * pointers on CUDA); the checked, tensor-level API is {@link io.cusprun.engine.RelevanceKernels}.
 * The build puts {@code libcusprun.so} beside the JNI library (copyLibs), so {@link Loader}
 * finds both in the jar; LibTorch's {@code libgomp.so.1} is loaded before them ({@link
 * BundledLibraries}).
 */
@Platform(include = "cusprun.h", link = "cusprun")
public final class CusprunNative {
    public static final int CUSPRUN_API_VERSION = 3;

    static {
        BundledLibraries.loadOpenMp(); // libcusprun.so's OpenMP runtime is LibTorch's, not the system's
        String library = Loader.load();
        // A libcusprun.so from another build would take these signatures with other meanings: refuse it.
        String mismatch = apiMismatch(library, cusprun_api_version());
        if (mismatch != null) throw new UnsatisfiedLinkError(mismatch);
    }

    private CusprunNative() {}

    /** The one-line error for a library of another API version, or null when it matches this binding. */
    public static String apiMismatch(String library, int libraryVersion) {
        return libraryVersion == CUSPRUN_API_VERSION
                ? null
                : "libcusprun.so (" + library + ") has API version " + libraryVersion + ", the Java binding expects "
                        + CUSPRUN_API_VERSION + ": rebuild both from one checkout";
    }

    public static final int CUSPRUN_DEFAULT_VARIANT = -1;

    // cusprun_dtype
    public static final int CUSPRUN_F32 = 0, CUSPRUN_BF16 = 1, CUSPRUN_F16 = 2, CUSPRUN_F64 = 3;
    // cusprun_status
    public static final int CUSPRUN_OK = 0,
            CUSPRUN_ERR_ARGUMENT = 1,
            CUSPRUN_ERR_UNSUPPORTED = 2,
            CUSPRUN_ERR_NO_CUDA = 3,
            CUSPRUN_ERR_CUDA = 4,
            CUSPRUN_ERR_MEMORY = 5;
    // cusprun_backend
    public static final int CUSPRUN_BACKEND_CPU = 0, CUSPRUN_BACKEND_CUDA = 1;

    public static native int cusprun_api_version();

    public static native @Cast("const char*") String cusprun_last_error();

    public static native int cusprun_kernel_count();

    public static native @Cast("const char*") String cusprun_kernel_name(int kernel);

    public static native int cusprun_variant_count(int backend, String kernel);

    public static native @Cast("const char*") String cusprun_variant_name(int backend, String kernel, int variant);

    public static native int cusprun_variant_find(int backend, String kernel, String name);

    public static native int cusprun_variant_default(int backend, String kernel);

    public static native int cusprun_cuda_load(String library_path);

    public static native int cusprun_cuda_device_count();

    public static native int cusprun_set_blas_threads(int threads);

    public static native int cusprun_prefer_huge_pages();

    public static native int cusprun_linear_f32(
            @Const FloatPointer x, long ldx, @Const FloatPointer w, FloatPointer y, long ldy, long n, long k, long m);

    public static native int cusprun_gram_f32(
            @Const FloatPointer x, long ldx, FloatPointer g, long ldg, long n, long k);

    public static native int cusprun_ffn_swiglu(
            int device,
            int variant,
            @Cast("void*") Pointer stream,
            @Cast("cusprun_dtype") int act_dtype,
            @Const Pointer gate,
            @Const Pointer up,
            long in_stride,
            Pointer act_out,
            long T,
            long F,
            @Cast("const int64_t*") LongPointer doc_offsets,
            long n_docs,
            @Cast("cusprun_dtype") int acc_dtype,
            Pointer acc);

    public static native int cusprun_head_gram(
            int device,
            int variant,
            @Cast("void*") Pointer stream,
            @Cast("cusprun_dtype") int act_dtype,
            @Const Pointer z,
            long T,
            long H,
            long d,
            long group_size,
            @Cast("const int64_t*") LongPointer doc_offsets,
            long n_docs,
            @Cast("cusprun_dtype") int acc_dtype,
            Pointer gram);

    public static native int cusprun_qk_neuron(
            int device,
            int variant,
            @Cast("void*") Pointer stream,
            @Cast("cusprun_dtype") int act_dtype,
            @Const Pointer q,
            @Const Pointer k,
            long T,
            long H,
            long Hkv,
            long d,
            float scale,
            int rope_pairs,
            @Cast("const int64_t*") LongPointer doc_offsets,
            long n_docs,
            @Cast("cusprun_dtype") int acc_dtype,
            Pointer acc);

    public static native int cusprun_rank_update(
            int device,
            int variant,
            @Cast("void*") Pointer stream,
            @Cast("cusprun_dtype") int rel_dtype,
            @Const Pointer relevance,
            long n_docs,
            long N,
            FloatPointer rank_max,
            @Cast("int32_t*") IntPointer rank_hist,
            long n_bins,
            @Cast("int64_t*") LongPointer relevance_sum);
}
