package io.cusprun.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.*;

/**
 * The memory floor for ffn_swiglu: LibTorch copies the FFN's input bytes ([T, 2F] fp32, the
 * fused gate_up) into another tensor. bytes = read + write = 2 * T*2F*4; elements = T*F as
 * for the FFN, so elements/s compare directly with FfnSwigluBench.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CopyFloorBench {
    @Param({"512"})
    public int T;

    @Param({"11008"})
    public int F;

    private Tensor src, dst;

    @Setup
    public void setup() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        src = torch.randn(new long[] {T, 2L * F}, new TensorOptions(ScalarType.Float));
        dst = torch.zeros(new long[] {T, 2L * F}, new TensorOptions(ScalarType.Float));
    }

    @Benchmark
    public void copy(Traffic c) {
        dst.copy_(src);
        c.add((long) T * F, 2L * T * 2 * F * 4, 0);
    }
}
