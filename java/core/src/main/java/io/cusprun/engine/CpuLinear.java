package io.cusprun.engine;

import io.cusprun.engine.nativeapi.CusprunNative;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.LayoutOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A Linear layer {@code x w^T} (x [n, k], w [m, k]) for the model's forward pass: on the CPU in
 * fp32 without autograd it runs as {@code cusprun_linear_f32}, tiles of single-threaded GEMMs on
 * the OpenMP pool (why: {@link CpuRuntime}); everywhere else it is LibTorch's {@code linear}.
 * The two agree to fp32 rounding. The tile grid depends on the shape only, never on the thread
 * count: a GEMM kernel's rounding depends on the shape of the call, so y has the same bits for any
 * {@code OMP_NUM_THREADS} (docs/scores.md, "Determinism").
 */
public final class CpuLinear {
    private CpuLinear() {}

    /** x w^T, plus bias when it is not null. */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = applies(x, w) ? openMp(x, w) : null;
        if (y == null) {
            return bias == null
                    ? torch.linear(x, w)
                    : torch.linear(x, w, new org.bytedeco.pytorch.TensorOptional(bias));
        }
        return bias == null ? y : y.add_(bias);
    }

    /** Whether x w^T runs on the OpenMP pool (package-private for the tests). */
    static boolean applies(Tensor x, Tensor w) {
        return CpuRuntime.gemmOnOpenMp()
                && !x.is_cuda()
                && !w.is_cuda()
                && x.dim() == 2
                && w.dim() == 2
                && x.scalar_type().intern() == torch.ScalarType.Float
                && w.scalar_type().intern() == torch.ScalarType.Float
                && x.size(1) == w.size(1)
                && x.size(0) > 0
                && x.stride(1) == 1
                && x.stride(0) >= x.size(1)
                && w.is_contiguous()
                && !(GradMode.is_enabled() && (x.requires_grad() || w.requires_grad()));
    }

    /** The OpenMP-pool GEMM, or null when no CBLAS is loaded (then never tried again). */
    private static Tensor openMp(Tensor x, Tensor w) {
        long n = x.size(0), k = x.size(1), m = w.size(0);
        Tensor y = emptyFloat(n, m, x);
        int rc = CusprunNative.cusprun_linear_f32(
                new FloatPointer(x.data_ptr()),
                x.stride(0),
                new FloatPointer(w.data_ptr()),
                new FloatPointer(y.data_ptr()),
                m,
                n,
                k,
                m);
        if (rc == CusprunNative.CUSPRUN_ERR_UNSUPPORTED) {
            CpuRuntime.disableGemmOnOpenMp();
            return null;
        }
        if (rc != CusprunNative.CUSPRUN_OK) {
            throw new KernelException(rc, CusprunNative.cusprun_last_error());
        }
        return y;
    }

    /**
     * The Gram {@code x xᵀ} [n, n] of x [n, k] in fp32. On the CPU without autograd it runs as
     * {@code cusprun_gram_f32}: only the tiles on and above the diagonal run a GEMM, each the very
     * call {@link #linear linear(x, x, null)} makes for it, the rest are their transposes (about
     * half the multiply-adds); elsewhere it is LibTorch's {@code mm}.
     */
    public static Tensor gram(Tensor x) {
        if (applies(x, x) && x.is_contiguous()) {
            long n = x.size(0), k = x.size(1);
            Tensor g = emptyFloat(n, n, x);
            int rc = CusprunNative.cusprun_gram_f32(
                    new FloatPointer(x.data_ptr()), k, new FloatPointer(g.data_ptr()), n, n, k);
            if (rc == CusprunNative.CUSPRUN_OK) return g;
            if (rc != CusprunNative.CUSPRUN_ERR_UNSUPPORTED) {
                throw new KernelException(rc, CusprunNative.cusprun_last_error());
            }
            CpuRuntime.disableGemmOnOpenMp();
        }
        return x.mm(x.t());
    }

    /** An uninitialised fp32 [rows, cols] tensor on {@code like}'s device. */
    private static Tensor emptyFloat(long rows, long cols, Tensor like) {
        return torch.empty(
                new long[] {rows, cols},
                new ScalarTypeOptional(torch.ScalarType.Float),
                new LayoutOptional(),
                new DeviceOptional(like.device()),
                new BoolOptional(),
                new MemoryFormatOptional());
    }
}
