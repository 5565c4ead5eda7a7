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

    /** The system property that picks the activation of plain inference: {@code native} (default) or {@code libtorch}. */
    String PROPERTY = "cusprun.ffn";

    /**
     * The activation of plain inference ({@link LayerHooks#inference()}) as {@link #PROPERTY}
     * names it; both agree to float rounding (LlamaModelTest#nativeAndLibTorchActivationsAgree).
     */
    static FfnActivation configured() {
        return byName(System.getProperty(PROPERTY, "native"));
    }

    /** {@code native} or {@code libtorch}. */
    static FfnActivation byName(String name) {
        return switch (name) {
            case "native" -> NATIVE;
            case "libtorch" -> LIBTORCH;
            default ->
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + name + ": expected native or libtorch");
        };
    }
}
