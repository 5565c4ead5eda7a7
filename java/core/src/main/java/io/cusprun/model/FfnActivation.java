package io.cusprun.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** act = silu(gate) * up for the SwiGLU MLP, as used by {@link LayerHooks#inference()}. */
@FunctionalInterface
public interface FfnActivation {

    Tensor apply(int layer, Tensor gate, Tensor up, Batch batch);

    /** LibTorch: silu(gate) then an in-place multiply, one [T, F] allocation. */
    FfnActivation LIBTORCH = (layer, gate, up, batch) -> torch.silu(gate).mul_(up);

    /** The native engine's fused kernel (io.cusprun.engine.RelevanceKernels, ffn_swiglu without accumulation). */
    FfnActivation NATIVE = new NativeFfnActivation();

    /*
     * ===== THE SWITCH =====
     * The activation of plain inference ({@link LayerHooks#inference()}): the native kernel.
     * Set it to LIBTORCH to run without libcusprun (both agree to float rounding; see
     * LlamaModelTest#nativeAndLibTorchActivationsAgree).
     */
    FfnActivation DEFAULT = NATIVE;
}
