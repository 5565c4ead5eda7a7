package io.cusprun.bench;

import io.cusprun.engine.Kernel;
import io.cusprun.engine.RelevanceKernels;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.openjdk.jmh.annotations.*;

/**
 * ffn_swiglu on a Llama-7B-sized FFN (F = 11008), one batch of T tokens in 4 documents, fp32,
 * gate/up as views of one fused [T, 2F] projection. elements = T*F activations; bytes = gate +
 * up read + act written = 3*T*F*4 (acc is 4*F*4, negligible).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class FfnSwigluBench {
    @Param({"1_naive", "2_omp_simd"})
    public String variant;

    @Param({"512"})
    public int T;

    @Param({"11008"})
    public int F;

    private RelevanceKernels kernels;
    private Tensor gateUp, gate, up, act, acc, offsets;

    static Tensor offsets(long... v) {
        Tensor t = torch.zeros(new long[] {v.length}, new TensorOptions(ScalarType.Long));
        new LongPointer(t.data_ptr()).put(v);
        return t;
    }

    @Setup
    public void setup() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        kernels = RelevanceKernels.cpu().withVariant(Kernel.FFN_SWIGLU, variant);
        gateUp = torch.randn(new long[] {T, 2L * F}, new TensorOptions(ScalarType.Float));
        gate = gateUp.narrow(1, 0, F);
        up = gateUp.narrow(1, F, F);
        act = torch.zeros(new long[] {T, F}, new TensorOptions(ScalarType.Float));
        acc = torch.zeros(new long[] {4, F}, new TensorOptions(ScalarType.Float));
        offsets = offsets(0, T / 4, T / 2, 3L * T / 4, T);
    }

    @Benchmark
    public void ffn(Traffic c) {
        kernels.ffnSwiglu(gate, up, act, offsets, acc);
        c.add((long) T * F, 3L * T * F * 4, 0);
    }
}
