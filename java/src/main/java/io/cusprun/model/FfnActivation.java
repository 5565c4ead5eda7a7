package io.cusprun.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** act = silu(gate) * up for the SwiGLU MLP, as used by {@link LayerHooks#inference()}. */
@FunctionalInterface
public interface FfnActivation {

    Tensor apply(int layer, Tensor gate, Tensor up, Batch batch);

    /** LibTorch: silu(gate) then an in-place multiply, one [T, F] allocation. */
    FfnActivation LIBTORCH = (layer, gate, up, batch) -> torch.silu(gate).mul_(up);

    /*
     * ===== THE SWITCH =====
     * The default activation of plain inference. Once the native engine (branch `native`,
     * io.cusprun.engine.RelevanceKernels) is merged, make this
     *     (layer, gate, up, batch) -> { Tensor act = empty [T,F] like gate;
     *         RelevanceKernels.cpu().ffnSwiglu(gate, up, act, null, null); return act; }
     * (the kernel without accumulation). Until then: the LibTorch fallback.
     */
    FfnActivation DEFAULT = LIBTORCH;
}
