package io.cusprun.model;

import org.bytedeco.pytorch.Tensor;

/**
 * The weights of one decoder layer in storage dtype ({@link LoadOptions#storage()}, normally the
 * compute dtype) on the model's device, in HF layout
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

    /** The same weights converted to {@code type} (new tensors, owned by the caller's PointerScope). */
    LayerWeights to(org.bytedeco.pytorch.global.torch.ScalarType type) {
        return new LayerWeights(size, headDim, conv(inputNorm, type), conv(qkv, type), conv(qkvBias, type), conv(o, type),
                conv(oBias, type), conv(postNorm, type), conv(gateUp, type), conv(gateUpBias, type), conv(down, type),
                conv(downBias, type));
    }

    private static Tensor conv(Tensor t, org.bytedeco.pytorch.global.torch.ScalarType type) {
        return t == null ? null : t.to(type);
    }

    void release() {
        for (Tensor t : new Tensor[] {inputNorm, qkv, qkvBias, o, oBias, postNorm, gateUp, gateUpBias, down, downBias}) {
            Tensors.release(t);
        }
    }
}
