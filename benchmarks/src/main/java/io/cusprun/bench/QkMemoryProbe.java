package io.cusprun.bench;

import io.cusprun.engine.Kernel;
import io.cusprun.engine.RelevanceKernels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One qk_neuron call at the full shape (default T = 2048, H = 32, d = 128, RoPE pairs, fp32,
 * 2_omp_simd): prints the peak-RSS growth during the call (VmHWM from /proc/self/status, after
 * the inputs are allocated and touched) and the wall time. Args: [T [variant]].
 */
public final class QkMemoryProbe {
    public static void main(String[] args) throws Exception {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        int T = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        String variant = args.length > 1 ? args[1] : "2_omp_simd";
        int H = 32, D = 128;
        RelevanceKernels k = RelevanceKernels.cpu().withVariant(Kernel.QK_NEURON, variant);
        Tensor q = torch.randn(new long[] {T, H, D}, new TensorOptions(ScalarType.Float));
        Tensor kk = torch.randn(new long[] {T, H, D}, new TensorOptions(ScalarType.Float));
        Tensor acc = torch.zeros(new long[] {1, H, D / 2}, new TensorOptions(ScalarType.Double));
        Tensor offs = FfnSwigluBench.offsets(0, T);
        // warm the library and OpenMP threads on a tiny case first, so their start-up is not counted
        k.qkNeuron(q.narrow(0, 0, 8), kk.narrow(0, 0, 8), H, H, 0.1f, true, FfnSwigluBench.offsets(0, 8), acc);
        long before = hwmKiB();
        long t0 = System.nanoTime();
        k.qkNeuron(q, kk, H, H, (float) (1 / Math.sqrt(D)), true, offs, acc);
        double secs = (System.nanoTime() - t0) / 1e9;
        long after = hwmKiB();
        System.out.printf(
                "qk_neuron %s T=%d H=%d d=%d: %.2f s, peak RSS growth %.1f MiB (VmHWM %d -> %d KiB), "
                        + "inputs %.1f MiB, checksum %.6g%n",
                variant,
                T,
                H,
                D,
                secs,
                (after - before) / 1024.0,
                before,
                after,
                2.0 * T * H * D * 4 / (1 << 20),
                acc.sum().item_double());
    }

    private static long hwmKiB() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        return -1;
    }
}
