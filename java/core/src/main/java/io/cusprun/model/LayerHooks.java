package io.cusprun.model;

import io.cusprun.engine.KernelBackend;
import org.bytedeco.pytorch.Tensor;

/**
 * Where a scorer plugs into the forward pass, per layer, without activations leaving LibTorch.
 * Tensors passed in are only valid during the call (they belong to the batch's PointerScope).
 * For padded batches the rows are flattened: T = B * rows, one "document" per row.
 */
public interface LayerHooks {

    /**
     * Layer {@code layer} is about to run on the current batch with these weights (as resident:
     * the in-memory model's stored tensors, or the streamed decoder's layer just read); hooks
     * that need weight-side factors take them here.
     */
    default void beginLayer(int layer, LayerWeights weights) {}

    /**
     * Returns act = silu(gate) * up ([T, F]); the scorer's version also accumulates per-document
     * sums. gate and up are views of one [T, 2F] tensor (row stride 2F).
     */
    Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch);

    /** Attention output before o_proj, [T, H, d] (contiguous), before any head mask is applied. */
    default void attentionOutput(int layer, Tensor z, Batch batch) {}

    /** q [T, H, d] and k [T, Hkv, d] after RoPE; only called when {@link #wantsQueryKey()}. */
    default void queryKey(int layer, Tensor q, Tensor k, Batch batch) {}

    default boolean wantsQueryKey() {
        return false;
    }

    /** Plain inference: the FFN activation {@code ffn} computes ({@link LoadOptions#ffn}) and nothing else. */
    static LayerHooks inference(KernelBackend ffn) {
        return FfnActivation.of(ffn)::apply;
    }

    /** Training: the LibTorch FFN activation, which autograd differentiates, and nothing else. */
    static LayerHooks differentiable() {
        return FfnActivation.LIBTORCH::apply;
    }
}
