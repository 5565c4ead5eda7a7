package io.cusprun.bench;

import io.cusprun.engine.Kernel;
import io.cusprun.engine.RelevanceKernels;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.*;

/**
 * qk_neuron with Llama-7B heads (H = Hkv = 32, d = 128, RoPE pairs: 64 units per head), one
 * document of T tokens, fp32. elements = H * units * T(T+1)/2 (one perturbed softmax entry
 * each); bytes = q and k read once (2*T*H*d*4): the kernel is compute bound; flops counts
 * ~30 per element (dot-pair, expm1/exp, two passes), an estimate. The full T = 2048 shape is
 * measured for memory by QkMemoryProbe (a single run).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class QkNeuronBench {
    @Param({"1_naive", "2_omp_simd"})
    public String variant;

    @Param({"256"})
    public int T;

    static final int H = 32, D = 128;
    private RelevanceKernels kernels;
    private Tensor q, k, acc, offsets;

    @Setup
    public void setup() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        kernels = RelevanceKernels.cpu().withVariant(Kernel.QK_NEURON, variant);
        q = torch.randn(new long[] {T, H, D}, new TensorOptions(ScalarType.Float));
        k = torch.randn(new long[] {T, H, D}, new TensorOptions(ScalarType.Float));
        acc = torch.zeros(new long[] {1, H, D / 2}, new TensorOptions(ScalarType.Double));
        offsets = FfnSwigluBench.offsets(0, T);
    }

    @Benchmark
    public void qk(Traffic c) {
        kernels.qkNeuron(q, k, H, H, (float) (1 / Math.sqrt(D)), true, offsets, acc);
        long el = (long) H * (D / 2) * T * (T + 1L) / 2;
        c.add(el, 2L * T * H * D * 4, 30 * el);
    }
}
