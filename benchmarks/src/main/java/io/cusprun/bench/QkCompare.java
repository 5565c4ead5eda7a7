package io.cusprun.bench;

import io.cusprun.engine.RelevanceKernels;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Issue 6, item 4: query/key neuron relevance of one document of T tokens, the tiled
 * {@code qk_neuron} kernel against the reference formulation in LibTorch that materialises the
 * perturbed scores of every RoPE pair, an [H, d/2, T, T] tensor (in place wherever the reference
 * allows: one such tensor for the perturbed scores, one for their softmax). Run ONE case per JVM:
 * peak memory is VmHWM after resetting it (/proc/self/clear_refs) once the inputs exist and both
 * implementations have been warmed up (and checked against each other) at T=64.
 *
 * <p>Args: kernel|reference T [H=16] [Hkv=4] [d=64] [reps=3] (the small preset's attention shape).
 */
public final class QkCompare {
    public static void main(String[] args) {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        String impl = args[0];
        int T = Integer.parseInt(args[1]);
        int H = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int Hkv = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        int d = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        int reps = args.length > 5 ? Integer.parseInt(args[5]) : 3;
        float scale = (float) (1 / Math.sqrt(d));
        RelevanceKernels kernels = RelevanceKernels.cpu();
        torch.manual_seed(7);
        Tensor q = torch.randn(new long[] {T, H, d}, new TensorOptions(ScalarType.Float));
        Tensor k = torch.randn(new long[] {T, Hkv, d}, new TensorOptions(ScalarType.Float));
        // warm-up and agreement at T = 64
        Tensor q64 = q.narrow(0, 0, 64).contiguous(), k64 = k.narrow(0, 0, 64).contiguous();
        Tensor a = zeros(H, d / 2), b = zeros(H, d / 2);
        kernels.qkNeuron(q64, k64, H, Hkv, scale, true, FfnSwigluBench.offsets(0, 64), a.view(1, H, d / 2));
        E2E.qkMaterialised(q64, k64, H, Hkv, scale, b);
        double err = a.sub(b).abs().max().item_double() / b.abs().max().item_double();
        long baseKiB = E2E.statusKiB("VmRSS");
        boolean reset = E2E.resetPeak();
        double[] secs = new double[reps];
        double sum = 0;
        for (int r = 0; r < reps; r++) {
            try (PointerScope s = new PointerScope()) {
                Tensor acc = zeros(H, d / 2);
                long t0 = System.nanoTime();
                if (impl.equals("kernel"))
                    kernels.qkNeuron(q, k, H, Hkv, scale, true, FfnSwigluBench.offsets(0, T), acc.view(1, H, d / 2));
                else E2E.qkMaterialised(q, k, H, Hkv, scale, acc);
                secs[r] = (System.nanoTime() - t0) / 1e9;
                sum = acc.sum().item_double();
            }
        }
        long peakKiB = E2E.statusKiB("VmHWM");
        System.out.printf(
                Locale.ROOT,
                "RESULT qk %s T=%d H=%d Hkv=%d d=%d: %s s per call, peak RSS above the inputs %.1f MiB "
                        + "(VmRSS %d -> VmHWM %d KiB, reset %s), [H,d/2,T,T] fp32 = %.1f MiB, agreement at T=64: rel %.1e, checksum %.6g%n",
                impl,
                T,
                H,
                Hkv,
                d,
                E2E.spread(secs),
                (peakKiB - baseKiB) / 1024.0,
                baseKiB,
                peakKiB,
                reset,
                (double) H * (d / 2) * T * T * 4 / (1 << 20),
                err,
                sum);
    }

    private static Tensor zeros(long... shape) {
        return torch.zeros(shape, new TensorOptions(ScalarType.Double));
    }
}
