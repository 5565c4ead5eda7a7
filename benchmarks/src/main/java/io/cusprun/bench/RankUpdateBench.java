package io.cusprun.bench;

import io.cusprun.engine.Kernel;
import io.cusprun.engine.RelevanceKernels;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.*;

/**
 * rank_update over the FFN neurons of one layer (N = 11008) for a batch of 64 documents, fp32
 * relevance, 20 histogram bins. elements = docs * N ranks; bytes = relevance read + per-doc
 * accumulator updates (docs * N * (4 + 4 + 4 + 8)).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RankUpdateBench {
    @Param({"1_naive", "2_omp_simd"})
    public String variant;

    @Param({"64"})
    public int docs;

    @Param({"11008"})
    public int N;

    private RelevanceKernels kernels;
    private Tensor rel, max, hist, sum;

    @Setup
    public void setup() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        kernels = RelevanceKernels.cpu().withVariant(Kernel.RANK_UPDATE, variant);
        rel = torch.rand(new long[] {docs, N}, new TensorOptions(ScalarType.Float));
        max = torch.full(new long[] {N}, new Scalar(-1.0f), new TensorOptions(ScalarType.Float));
        hist = torch.zeros(new long[] {N, 20}, new TensorOptions(ScalarType.Int));
        sum = torch.zeros(new long[] {N, 2}, new TensorOptions(ScalarType.Long));
    }

    @Benchmark
    public void rank(Traffic c) {
        kernels.rankUpdate(rel, max, hist, sum);
        c.add((long) docs * N, (long) docs * N * 20, 0);
    }
}
