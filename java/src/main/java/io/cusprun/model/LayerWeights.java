package io.cusprun.model;

import org.bytedeco.pytorch.Tensor;

/**
 * The weights of one decoder layer in compute dtype on the model's device, in HF layout
 * ([out, in]). q/k/v are fused row-wise into {@code qkv} ([(H + 2 Hkv) d, D]: q rows, then k,
 * then v) and gate/up into {@code gateUp} ([2F, D]: gate rows, then up). Bias tensors are null
 * when the architecture has none.
 */
public record LayerWeights(LayerSize size, int headDim, Tensor inputNorm, Tensor qkv, Tensor qkvBias,
                           Tensor o, Tensor oBias, Tensor postNorm, Tensor gateUp, Tensor gateUpBias,
                           Tensor down, Tensor downBias) {

    /** q_proj rows as a view of the fused matrix, [H d, D]. */
    public Tensor q() {
        return qkv.narrow(0, 0, (long) size.numAttentionHeads() * headDim);
    }

    public Tensor k() {
        return qkv.narrow(0, (long) size.numAttentionHeads() * headDim, (long) size.numKeyValueHeads() * headDim);
    }

    public Tensor v() {
        return qkv.narrow(0, (long) (size.numAttentionHeads() + size.numKeyValueHeads()) * headDim,
                (long) size.numKeyValueHeads() * headDim);
    }

    /** gate_proj as a view, [F, D]. */
    public Tensor gate() {
        return gateUp.narrow(0, 0, size.intermediateSize());
    }

    /** up_proj as a view, [F, D]. */
    public Tensor up() {
        return gateUp.narrow(0, size.intermediateSize(), size.intermediateSize());
    }

    void release() {
        for (Tensor t : new Tensor[] {inputNorm, qkv, qkvBias, o, oBias, postNorm, gateUp, gateUpBias, down, downBias}) {
            Tensors.release(t);
        }
    }
}
