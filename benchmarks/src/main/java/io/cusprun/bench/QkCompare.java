package io.cusprun.bench;

import io.cusprun.engine.RelevanceKernels;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
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
        reference(q64, k64, H, Hkv, scale, b);
        double err = a.sub(b).abs().max().item_double() / b.abs().max().item_double();
        long baseKiB = E2E.statusKiB("VmRSS");
        boolean reset = E2E.resetPeak();
        double[] secs = new double[reps];
        double sum = 0;
        for (int r = 0; r < reps; r++) {
            try (PointerScope s = new PointerScope()) {
                Tensor acc = zeros(H, d / 2);
                long t0 = System.nanoTime();
                if (impl.equals("kernel")) kernels.qkNeuron(q, k, H, Hkv, scale, true, FfnSwigluBench.offsets(0, T), acc.view(1, H, d / 2));
                else reference(q, k, H, Hkv, scale, acc);
                secs[r] = (System.nanoTime() - t0) / 1e9;
                sum = acc.sum().item_double();
            }
        }
        long peakKiB = E2E.statusKiB("VmHWM");
        System.out.printf(Locale.ROOT, "RESULT qk %s T=%d H=%d Hkv=%d d=%d: %s s per call, peak RSS above the inputs %.1f MiB "
                        + "(VmRSS %d -> VmHWM %d KiB, reset %s), [H,d/2,T,T] fp32 = %.1f MiB, agreement at T=64: rel %.1e, checksum %.6g%n",
                impl, T, H, Hkv, d, E2E.spread(secs), (peakKiB - baseKiB) / 1024.0, baseKiB, peakKiB, reset,
                (double) H * (d / 2) * T * T * 4 / (1 << 20), err, sum);
    }

    private static Tensor zeros(long... shape) {
        return torch.zeros(shape, new TensorOptions(ScalarType.Double));
    }

    /**
     * acc[H, d/2] += ||softmax(A) - softmax(A - D_j)||_F^2 with A the causal scores and D_j the
     * pair (j, j+d/2)'s share, all pairs at once: D is [H, d/2, T, T].
     */
    static void reference(Tensor q, Tensor k, int H, int Hkv, float scale, Tensor acc) {
        try (PointerScope s = new PointerScope()) {
            long T = q.size(0), d = q.size(2), P = d / 2;
            Tensor qh = q.permute(1, 0, 2); // [H, T, d]
            Tensor kh = k.permute(1, 0, 2).unsqueeze(1).expand(Hkv, H / Hkv, T, d).reshape(H, T, d); // [H, T, d], head h -> kv h/g
            Tensor mask = torch.ones(new long[] {T, T}, new TensorOptions(ScalarType.Bool)).triu(1);
            Tensor A = torch.bmm(qh, kh.transpose(1, 2)).mul_(new Scalar(scale)); // [H, T, T]
            Tensor P0 = torch.softmax(A.masked_fill(mask, new Scalar(Double.NEGATIVE_INFINITY)), -1);
            // per-pair products: [H, T, P, 2] -> D[h, p, t, s] = sum_c q[h,t,p,c] k[h,s,p,c]
            Tensor qp = torch.stack(new TensorVector(qh.narrow(2, 0, P), qh.narrow(2, P, P)), 3);
            Tensor kp = torch.stack(new TensorVector(kh.narrow(2, 0, P), kh.narrow(2, P, P)), 3);
            Tensor D = torch.matmul(qp.permute(0, 2, 1, 3), kp.permute(0, 2, 3, 1)); // [H, P, T, T]
            D.neg_().mul_(new Scalar(scale)).add_(A.unsqueeze(1)); // A - D, in place
            D.masked_fill_(mask, new Scalar(Double.NEGATIVE_INFINITY));
            Tensor Pj = torch.softmax(D, -1);
            D.close();
            Pj.sub_(P0.unsqueeze(1)).mul_(Pj); // (softmax(A - D_j) - softmax(A))^2, in place
            acc.add_(Pj.sum(new long[] {2, 3}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).to(ScalarType.Double));
        }
    }
}
