package io.cusprun.bench;

import io.cusprun.engine.CpuLinear;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.*;

/**
 * One batch's FFN Gram as compensation accumulates it: x [F, T] fp32 (F = 8192, the 1B shape's
 * FFN; T = 2048 tokens, one packed batch), {@code x xᵀ} as the full tiled GEMM ({@code linear}:
 * {@code CpuLinear.linear(x, x)}) or only its upper tiles, mirrored ({@code gram}: {@code
 * CpuLinear.gram(x)}, what compensation runs). flops = 2 F² T for both (the full product's count),
 * so the rates compare directly.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 5, time = 10)
@Fork(1)
public class CompensationGramBench {
    @Param({"linear", "gram"})
    public String product;

    @Param({"8192"})
    public int F;

    @Param({"2048"})
    public int T;

    private Tensor x;

    @Setup
    public void setup() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        x = torch.randn(new long[] {F, T}, new TensorOptions(ScalarType.Float));
    }

    @Benchmark
    public double gram(Traffic c) {
        try (PointerScope scope = new PointerScope()) { // frees the F² product right away
            Tensor g = product.equals("gram") ? CpuLinear.gram(x) : CpuLinear.linear(x, x, null);
            c.add((long) F * T, (long) F * T * 4 + (long) F * F * 4, 2L * F * F * T);
            return g.data_ptr_float().get(F - 1); // a result JMH consumes
        }
    }
}
