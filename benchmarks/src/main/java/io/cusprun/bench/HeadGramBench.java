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
 * head_gram with Llama-7B heads (H = 32, d = 128), per-head Grams (groupSize 1) or GQA groups
 * of 4, 2 documents, fp32 in, fp64 accumulators. elements = T*H*d inputs; bytes = input read
 * + Gram read-modify-write (2 docs * H/g * (g*d)^2 * 8 * 2); flops = 2*T*H*g*d^2 (both
 * triangles counted, as a GEMM would).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class HeadGramBench {
    @Param({"1_naive", "2_omp_simd", "3_blocked"})
    public String variant;

    @Param({"1", "4"})
    public int groupSize;

    @Param({"512"})
    public int T;

    private static final int H = 32, D = 128;
    private RelevanceKernels kernels;
    private Tensor z, gram, offsets;

    @Setup
    public void setup() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        kernels = RelevanceKernels.cpu().withVariant(Kernel.HEAD_GRAM, variant);
        z = torch.randn(new long[] {T, H, D}, new TensorOptions(ScalarType.Float));
        long n = (long) groupSize * D;
        gram = torch.zeros(new long[] {2, H / groupSize, n, n}, new TensorOptions(ScalarType.Double));
        offsets = FfnSwigluBench.offsets(0, T / 3, T);
    }

    @Benchmark
    public void gram(Traffic c) {
        kernels.headGram(z, H, groupSize, offsets, gram);
        long n = (long) groupSize * D;
        c.add(
                (long) T * H * D,
                (long) T * H * D * 4 + 2L * (H / groupSize) * n * n * 8 * 2,
                2L * T * H * groupSize * D * D);
    }
}
