package io.cusprun.model;

import io.cusprun.engine.KernelBackend;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** act = silu(gate) * up for the SwiGLU MLP, as used by {@link LayerHooks#inference}. */
@FunctionalInterface
public interface FfnActivation {

    Tensor apply(int layer, Tensor gate, Tensor up, Batch batch);

    /** LibTorch: silu(gate) then an in-place multiply, one [T, F] allocation. */
    FfnActivation LIBTORCH = (layer, gate, up, batch) -> torch.silu(gate).mul_(up);

    /** The native engine's fused kernel (io.cusprun.engine.RelevanceKernels, ffn_swiglu without accumulation). */
    FfnActivation NATIVE = new NativeFfnActivation();

    /** The activation {@code backend} computes. */
    static FfnActivation of(KernelBackend backend) {
        return backend == KernelBackend.LIBTORCH ? LIBTORCH : NATIVE;
    }

    /** {@code native} or {@code libtorch} ({@link KernelBackend#parse}). */
    static FfnActivation byName(String name) {
        return of(KernelBackend.parse("ffn", name));
    }
}
