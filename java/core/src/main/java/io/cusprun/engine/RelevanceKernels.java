package io.cusprun.engine;

import static io.cusprun.engine.nativeapi.CusprunNative.*;

import io.cusprun.engine.nativeapi.CusprunNative;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * The relevance kernels (docs/method.md, "Relevance of a unit" and "Ranks and the selection rule") over LibTorch tensors, on one device with chosen
 * kernel variants. Immutable: {@link #withVariant} returns a new instance. Every call checks
 * dtypes, shapes, contiguity and device first and throws {@link IllegalArgumentException}
 * instead of handing the native code something it could crash on; a failing native call
 * throws {@link KernelException} with the native message.
 */
public final class RelevanceKernels {

    /** One kernel's variants on one back end ("cpu" or "cuda"). */
    public record KernelInfo(String backend, Kernel kernel, List<String> variants, String defaultVariant) {
        public KernelInfo {
            variants = List.copyOf(variants);
        }
    }

    private final int device; // -1 = CPU, else the CUDA device index
    private final Map<Kernel, Integer> variants; // variant index per kernel; absent = default

    private RelevanceKernels(int device, Map<Kernel, Integer> variants) {
        this.device = device;
        this.variants = Map.copyOf(variants);
    }

    /** CPU kernels, default (fastest) variants. */
    public static RelevanceKernels cpu() {
        return new RelevanceKernels(-1, Map.of());
    }

    /** "cpu", "cuda" or "cuda:N" ({@link Device#parse}); see {@link #forDevice(Device)}. */
    public static RelevanceKernels forDevice(String device) {
        Objects.requireNonNull(device, "device");
        return forDevice(Device.parse(device));
    }

    /** The kernels on {@code device}; throws {@link KernelException} when that CUDA device is unusable. */
    public static RelevanceKernels forDevice(Device device) {
        if (!device.isCuda()) return cpu();
        int index = device.index();
        int rc = loadCuda();
        if (rc != CUSPRUN_OK)
            throw new KernelException(rc, "cannot use device " + device + ": " + cusprun_last_error());
        int count = cusprun_cuda_device_count();
        if (index >= count)
            throw new KernelException(
                    CUSPRUN_ERR_NO_CUDA, "cannot use device " + device + ": only " + count + " CUDA device(s) usable");
        return new RelevanceKernels(index, Map.of());
    }

    /** The same device with {@code kernel} switched to {@code variant} (full name or its number). */
    public RelevanceKernels withVariant(Kernel kernel, String variant) {
        Objects.requireNonNull(kernel, "kernel");
        int backend = backend();
        int v = variant == null ? -1 : cusprun_variant_find(backend, kernel.nativeName(), variant);
        if (v < 0)
            throw new IllegalArgumentException("unknown variant '" + variant + "' of " + kernel + " on " + backendName()
                    + "; valid: " + variantNames(backend, kernel));
        Map<Kernel, Integer> m = new EnumMap<>(Kernel.class);
        m.putAll(variants);
        m.put(kernel, v);
        return new RelevanceKernels(device, m);
    }

    /** "cpu" or "cuda:N". */
    public String device() {
        return new Device(device).toString();
    }

    /** Name of the variant this instance runs for {@code kernel}. */
    public String variant(Kernel kernel) {
        return cusprun_variant_name(backend(), kernel.nativeName(), variantIndex(kernel));
    }

    /** Every kernel's variants on the CPU and, where usable, on CUDA. */
    public static List<KernelInfo> kernels() {
        List<KernelInfo> out = new ArrayList<>();
        for (int backend : new int[] {CUSPRUN_BACKEND_CPU, CUSPRUN_BACKEND_CUDA}) {
            if (backend == CUSPRUN_BACKEND_CUDA && (loadCuda() != CUSPRUN_OK || cusprun_cuda_device_count() == 0))
                continue;
            for (Kernel k : Kernel.values()) {
                List<String> names = variantNames(backend, k);
                if (names.isEmpty()) continue;
                int def = cusprun_variant_default(backend, k.nativeName());
                out.add(new KernelInfo(
                        backend == CUSPRUN_BACKEND_CPU ? "cpu" : "cuda",
                        k,
                        names,
                        def >= 0 && def < names.size() ? names.get(def) : names.get(0)));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ kernels

    /**
     * act = silu(gate)*up into actOut (nullable); acc[nDocs,F] += per-doc sum of act^2 (acc
     * nullable). gate/up [T,F], row-strided views allowed (e.g. narrow of a [T,2F] tensor).
     * docOffsets int64 [nDocs+1].
     */
    public void ffnSwiglu(Tensor gate, Tensor up, Tensor actOut, Tensor docOffsets, Tensor acc) {
        final String fn = "ffnSwiglu";
        requireDefined(gate, fn, "gate");
        requireDefined(up, fn, "up");
        if (actOut == null && acc == null) throw new IllegalArgumentException(fn + ": actOut and acc are both null");
        requireDim(gate, 2, fn, "gate");
        long T = gate.size(0), F = gate.size(1);
        requireShape(up, fn, "up", T, F);
        int dt = actDtype(gate, fn, "gate");
        requireSameDtype(up, gate, fn, "up");
        requireDevice(gate, fn, "gate");
        requireDevice(up, fn, "up");
        if (gate.stride(1) != 1 || up.stride(1) != 1)
            throw new IllegalArgumentException(fn + ": gate and up need unit column stride (rows may be strided)");
        long stride = T > 1 ? gate.stride(0) : Math.max(F, Math.max(gate.stride(0), up.stride(0)));
        if (T > 1 && up.stride(0) != stride)
            throw new IllegalArgumentException(
                    fn + ": gate and up have different row strides (" + gate.stride(0) + " vs " + up.stride(0) + ")");
        if (stride < F) throw new IllegalArgumentException(fn + ": row stride " + stride + " < F " + F);
        if (actOut != null) {
            requireShape(actOut, fn, "actOut", T, F);
            requireSameDtype(actOut, gate, fn, "actOut");
            requireContiguous(actOut, fn, "actOut");
            requireDevice(actOut, fn, "actOut");
        }
        long nDocs = 0;
        int accDt = CUSPRUN_F32;
        if (acc != null) {
            nDocs = checkOffsets(docOffsets, fn);
            requireShape(acc, fn, "acc", nDocs, F);
            accDt = accDtype(acc, fn, "acc");
            requireContiguous(acc, fn, "acc");
            requireDevice(acc, fn, "acc");
        }
        if (T == 0 || F == 0) return;
        check(
                fn,
                cusprun_ffn_swiglu(
                        device,
                        variantIndex(Kernel.FFN_SWIGLU),
                        stream(),
                        dt,
                        gate.data_ptr(),
                        up.data_ptr(),
                        stride,
                        actOut == null ? null : actOut.data_ptr(),
                        T,
                        F,
                        acc == null ? null : longs(docOffsets),
                        nDocs,
                        accDt,
                        acc == null ? null : acc.data_ptr()));
    }

    /** z [T,H,d] (or [T,H*d] with H given by groups); gram [nDocs, H/groupSize, groupSize*d, groupSize*d]. */
    public void headGram(Tensor z, int numHeads, int groupSize, Tensor docOffsets, Tensor gram) {
        final String fn = "headGram";
        requireDefined(z, fn, "z");
        requireDefined(gram, fn, "gram");
        if (numHeads <= 0 || groupSize <= 0 || numHeads % groupSize != 0)
            throw new IllegalArgumentException(
                    fn + ": numHeads " + numHeads + " must be a positive multiple of groupSize " + groupSize);
        long T = z.size(0);
        long d = headDim(z, numHeads, fn, "z");
        int dt = actDtype(z, fn, "z");
        requireContiguous(z, fn, "z");
        requireDevice(z, fn, "z");
        long nDocs = checkOffsets(docOffsets, fn);
        long n = groupSize * d;
        requireShape(gram, fn, "gram", nDocs, numHeads / groupSize, n, n);
        int accDt = accDtype(gram, fn, "gram");
        requireContiguous(gram, fn, "gram");
        requireDevice(gram, fn, "gram");
        if (T == 0 || nDocs == 0) return;
        check(
                fn,
                cusprun_head_gram(
                        device,
                        variantIndex(Kernel.HEAD_GRAM),
                        stream(),
                        dt,
                        z.data_ptr(),
                        T,
                        numHeads,
                        d,
                        groupSize,
                        longs(docOffsets),
                        nDocs,
                        accDt,
                        gram.data_ptr()));
    }

    /**
     * q [T,H,d] or [T,H*d], k [T,Hkv,d] or [T,Hkv*d] (after RoPE); acc [nDocs, H, units] with
     * units = d/2 when ropePairs (dims j and j+d/2 scored together), else d. acc += ||softmax(A) -
     * softmax(A - D_u)||_F^2 per document (causal, never across documents).
     */
    public void qkNeuron(
            Tensor q,
            Tensor k,
            int numHeads,
            int numKvHeads,
            float scale,
            boolean ropePairs,
            Tensor docOffsets,
            Tensor acc) {
        final String fn = "qkNeuron";
        requireDefined(q, fn, "q");
        requireDefined(k, fn, "k");
        requireDefined(acc, fn, "acc");
        if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0)
            throw new IllegalArgumentException(
                    fn + ": numHeads " + numHeads + " must be a positive multiple of numKvHeads " + numKvHeads);
        if (!Float.isFinite(scale)) throw new IllegalArgumentException(fn + ": scale is not finite");
        long T = q.size(0);
        long d = headDim(q, numHeads, fn, "q");
        long dk = headDim(k, numKvHeads, fn, "k");
        if (k.size(0) != T || dk != d)
            throw new IllegalArgumentException(fn + ": k " + shape(k) + " does not match q " + shape(q));
        if (ropePairs && d % 2 != 0)
            throw new IllegalArgumentException(fn + ": ropePairs needs an even head size, d = " + d);
        int dt = actDtype(q, fn, "q");
        requireSameDtype(k, q, fn, "k");
        requireContiguous(q, fn, "q");
        requireContiguous(k, fn, "k");
        requireDevice(q, fn, "q");
        requireDevice(k, fn, "k");
        long nDocs = checkOffsets(docOffsets, fn);
        requireShape(acc, fn, "acc", nDocs, numHeads, ropePairs ? d / 2 : d);
        int accDt = accDtype(acc, fn, "acc");
        requireContiguous(acc, fn, "acc");
        requireDevice(acc, fn, "acc");
        if (T == 0 || nDocs == 0) return;
        check(
                fn,
                cusprun_qk_neuron(
                        device,
                        variantIndex(Kernel.QK_NEURON),
                        stream(),
                        dt,
                        q.data_ptr(),
                        k.data_ptr(),
                        T,
                        numHeads,
                        numKvHeads,
                        d,
                        scale,
                        ropePairs ? 1 : 0,
                        longs(docOffsets),
                        nDocs,
                        accDt,
                        acc.data_ptr()));
    }

    /**
     * relevance [nDocs, N] (f32/f64, every value in [0, 2^62)): per document, percentile ranks
     * (ties share their mean rank) update rankMax [N] f32 (max), rankHist [N, nBins] int32 (+1
     * per document) and relevanceSum [N, 2] int64, the exact 128-bit fixed-point sum of the
     * relevance (integer part, fraction in units of 2^-64; what {@code score.ExactSum} holds).
     * A value outside the range is refused ({@link KernelException}) before anything changes.
     */
    public void rankUpdate(Tensor relevance, Tensor rankMax, Tensor rankHist, Tensor relevanceSum) {
        final String fn = "rankUpdate";
        requireDefined(relevance, fn, "relevance");
        requireDefined(rankMax, fn, "rankMax");
        requireDefined(rankHist, fn, "rankHist");
        requireDefined(relevanceSum, fn, "relevanceSum");
        requireDim(relevance, 2, fn, "relevance");
        long nDocs = relevance.size(0), N = relevance.size(1);
        int relDt = accDtype(relevance, fn, "relevance");
        requireDtype(rankMax, ScalarType.Float, fn, "rankMax");
        requireDtype(rankHist, ScalarType.Int, fn, "rankHist");
        requireDtype(relevanceSum, ScalarType.Long, fn, "relevanceSum");
        requireShape(rankMax, fn, "rankMax", N);
        requireDim(rankHist, 2, fn, "rankHist");
        long nBins = rankHist.size(1);
        requireShape(rankHist, fn, "rankHist", N, nBins);
        if (nBins <= 0) throw new IllegalArgumentException(fn + ": rankHist needs at least one bin");
        requireShape(relevanceSum, fn, "relevanceSum", N, 2);
        for (Tensor t : new Tensor[] {relevance, rankMax, rankHist, relevanceSum}) {
            requireContiguous(t, fn, "all tensors");
            requireDevice(t, fn, "all tensors");
        }
        if (nDocs == 0 || N == 0) return;
        check(
                fn,
                cusprun_rank_update(
                        device,
                        variantIndex(Kernel.RANK_UPDATE),
                        stream(),
                        relDt,
                        relevance.data_ptr(),
                        nDocs,
                        N,
                        new FloatPointer(rankMax.data_ptr()),
                        new IntPointer(rankHist.data_ptr()),
                        nBins,
                        new LongPointer(relevanceSum.data_ptr())));
    }

    // ------------------------------------------------------------------ helpers

    private int backend() {
        return device < 0 ? CUSPRUN_BACKEND_CPU : CUSPRUN_BACKEND_CUDA;
    }

    private String backendName() {
        return device < 0 ? "cpu" : "cuda";
    }

    private int variantIndex(Kernel kernel) {
        Integer v = variants.get(kernel);
        return v != null ? v : cusprun_variant_default(backend(), kernel.nativeName());
    }

    private static List<String> variantNames(int backend, Kernel kernel) {
        int n = cusprun_variant_count(backend, kernel.nativeName());
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) names.add(cusprun_variant_name(backend, kernel.nativeName(), i));
        return names;
    }

    /** Loads libcusprun_cuda.so: the copy packaged beside the JNI library, else the native default. */
    private static synchronized int loadCuda() {
        String path = null;
        try {
            File f = Loader.cacheResource(CusprunNative.class, Loader.getPlatform() + "/libcusprun_cuda.so");
            if (f != null && f.isFile()) path = f.getAbsolutePath();
        } catch (Exception | LinkageError e) {
            path = null; // not packaged (CPU-only build): let the library look beside itself
        }
        return cusprun_cuda_load(path);
    }

    private Pointer stream() {
        return device < 0 ? null : CudaStream.current(device);
    }

    /**
     * LibTorch's current CUDA stream, in a class of its own: its type comes from JavaCPP's CUDA
     * presets, an optional dependency, which the CPU path must not load (verifying a method that
     * returns it loads them).
     */
    private static final class CudaStream {
        static Pointer current(int device) {
            return torch_cuda.getCurrentCUDAStream((byte) device).stream();
        }
    }

    private static void check(String fn, int rc) {
        if (rc != CUSPRUN_OK) throw new KernelException(rc, fn + ": " + cusprun_last_error());
    }

    private static LongPointer longs(Tensor t) {
        return new LongPointer(t.data_ptr());
    }

    private long checkOffsets(Tensor offs, String fn) {
        requireDefined(offs, fn, "docOffsets");
        requireDim(offs, 1, fn, "docOffsets");
        requireDtype(offs, ScalarType.Long, fn, "docOffsets");
        requireContiguous(offs, fn, "docOffsets");
        requireDevice(offs, fn, "docOffsets");
        if (offs.size(0) < 1) throw new IllegalArgumentException(fn + ": docOffsets is empty (needs nDocs+1 entries)");
        return offs.size(0) - 1;
    }

    private static void requireDefined(Tensor t, String fn, String name) {
        if (t == null || t.isNull() || !t.defined())
            throw new IllegalArgumentException(fn + ": " + name + " is null or undefined");
    }

    private static void requireDim(Tensor t, int dim, String fn, String name) {
        if (t.dim() != dim)
            throw new IllegalArgumentException(fn + ": " + name + " must be " + dim + "-D, is " + shape(t));
    }

    private static void requireShape(Tensor t, String fn, String name, long... sizes) {
        requireDefined(t, fn, name);
        boolean ok = t.dim() == sizes.length;
        for (int i = 0; ok && i < sizes.length; i++) ok = t.size(i) == sizes[i];
        if (!ok)
            throw new IllegalArgumentException(
                    fn + ": " + name + " must be " + Arrays.toString(sizes) + ", is " + shape(t));
    }

    private static void requireContiguous(Tensor t, String fn, String name) {
        if (!t.is_contiguous())
            throw new IllegalArgumentException(fn + ": " + name + " must be contiguous (call .contiguous())");
    }

    private void requireDevice(Tensor t, String fn, String name) {
        boolean ok = device < 0 ? t.is_cpu() : t.is_cuda() && t.device().index() == device;
        if (!ok)
            throw new IllegalArgumentException(
                    fn + ": " + name + " is on " + Device.of(t) + ", kernels run on " + device());
    }

    private static void requireDtype(Tensor t, ScalarType want, String fn, String name) {
        ScalarType st = t.scalar_type().intern();
        if (st != want) throw new IllegalArgumentException(fn + ": " + name + " must be " + want + ", is " + st);
    }

    private static void requireSameDtype(Tensor t, Tensor ref, String fn, String name) {
        if (t.scalar_type().intern() != ref.scalar_type().intern())
            throw new IllegalArgumentException(
                    fn + ": " + name + " is " + t.scalar_type().intern() + ", expected "
                            + ref.scalar_type().intern());
    }

    private static int actDtype(Tensor t, String fn, String name) {
        ScalarType st = t.scalar_type().intern();
        if (st == ScalarType.Float) return CUSPRUN_F32;
        if (st == ScalarType.BFloat16) return CUSPRUN_BF16;
        if (st == ScalarType.Half) return CUSPRUN_F16;
        throw new IllegalArgumentException(fn + ": " + name + " must be Float, BFloat16 or Half, is " + st);
    }

    private static int accDtype(Tensor t, String fn, String name) {
        ScalarType st = t.scalar_type().intern();
        if (st == ScalarType.Float) return CUSPRUN_F32;
        if (st == ScalarType.Double) return CUSPRUN_F64;
        throw new IllegalArgumentException(fn + ": " + name + " must be Float or Double, is " + st);
    }

    /** Head size of a [T,H,d] or [T,H*d] tensor. */
    private static long headDim(Tensor t, int heads, String fn, String name) {
        if (t.dim() == 3) {
            if (t.size(1) != heads)
                throw new IllegalArgumentException(
                        fn + ": " + name + " " + shape(t) + " has " + t.size(1) + " heads, expected " + heads);
            return t.size(2);
        }
        if (t.dim() == 2) {
            if (t.size(1) % heads != 0 || t.size(1) == 0)
                throw new IllegalArgumentException(
                        fn + ": " + name + " " + shape(t) + " width is not a multiple of " + heads + " heads");
            return t.size(1) / heads;
        }
        throw new IllegalArgumentException(fn + ": " + name + " must be [T,H,d] or [T,H*d], is " + shape(t));
    }

    private static String shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) s[i] = t.size(i);
        return Arrays.toString(s);
    }
}
