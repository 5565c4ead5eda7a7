package io.cusprun.model;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * The weights of one decoder layer in storage dtype ({@link LoadOptions#storage()}, normally the
 * compute dtype) on the model's device, in HF layout
 * ([out, in]). q/k/v are fused row-wise into {@code qkv} ([(H + 2 Hkv) d, D]: q rows, then k,
 * then v) and gate/up into {@code gateUp} ([2F, D]: gate rows, then up). Bias tensors are null
 * when the architecture has none.
 */
public record LayerWeights(
        LayerSize size,
        int headDim,
        Tensor inputNorm,
        Tensor qkv,
        Tensor qkvBias,
        Tensor o,
        Tensor oBias,
        Tensor postNorm,
        Tensor gateUp,
        Tensor gateUpBias,
        Tensor down,
        Tensor downBias) {

    /** q_proj rows as a view of the fused matrix, [H d, D]. */
    public Tensor q() {
        return qkv.narrow(0, 0, (long) size.numAttentionHeads() * headDim);
    }

    public Tensor k() {
        return qkv.narrow(0, (long) size.numAttentionHeads() * headDim, (long) size.numKeyValueHeads() * headDim);
    }

    public Tensor v() {
        return qkv.narrow(
                0,
                (long) (size.numAttentionHeads() + size.numKeyValueHeads()) * headDim,
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

    /** The same layer with o_proj replaced by {@code newO} (same shape and dtype). */
    public LayerWeights withO(Tensor newO) {
        return new LayerWeights(
                size, headDim, inputNorm, qkv, qkvBias, newO, oBias, postNorm, gateUp, gateUpBias, down, downBias);
    }

    /** The same layer with down_proj replaced by {@code newDown} (same shape and dtype). */
    public LayerWeights withDown(Tensor newDown) {
        return new LayerWeights(
                size, headDim, inputNorm, qkv, qkvBias, o, oBias, postNorm, gateUp, gateUpBias, newDown, downBias);
    }

    /** The same weights converted to {@code type} (new tensors, owned by the caller's PointerScope). */
    LayerWeights to(org.bytedeco.pytorch.global.torch.ScalarType type) {
        return new LayerWeights(
                size,
                headDim,
                conv(inputNorm, type),
                conv(qkv, type),
                conv(qkvBias, type),
                conv(o, type),
                conv(oBias, type),
                conv(postNorm, type),
                conv(gateUp, type),
                conv(gateUpBias, type),
                conv(down, type),
                conv(downBias, type));
    }

    private static Tensor conv(Tensor t, org.bytedeco.pytorch.global.torch.ScalarType type) {
        return t == null ? null : t.to(type);
    }

    /**
     * Puts this layer's tensors into {@code out} under their HF names ({@code prefix} is
     * "model.layers.i."), the fused q/k/v and gate/up split back into views of their rows, in the
     * order {@link WeightLoader#layer} reads them.
     */
    void exportTo(String prefix, Map<String, Tensor> out) {
        String a = prefix + "self_attn.";
        String m = prefix + "mlp.";
        out.put(prefix + "input_layernorm.weight", inputNorm);
        out.put(a + "q_proj.weight", q());
        out.put(a + "k_proj.weight", k());
        out.put(a + "v_proj.weight", v());
        if (qkvBias != null) {
            long q = (long) size.numAttentionHeads() * headDim;
            long kv = (long) size.numKeyValueHeads() * headDim;
            out.put(a + "q_proj.bias", qkvBias.narrow(0, 0, q));
            out.put(a + "k_proj.bias", qkvBias.narrow(0, q, kv));
            out.put(a + "v_proj.bias", qkvBias.narrow(0, q + kv, kv));
        }
        out.put(a + "o_proj.weight", o);
        if (oBias != null) {
            out.put(a + "o_proj.bias", oBias);
        }
        out.put(prefix + "post_attention_layernorm.weight", postNorm);
        out.put(m + "gate_proj.weight", gate());
        out.put(m + "up_proj.weight", up());
        out.put(m + "down_proj.weight", down);
        if (gateUpBias != null) {
            out.put(m + "gate_proj.bias", gateUpBias.narrow(0, 0, size.intermediateSize()));
            out.put(m + "up_proj.bias", gateUpBias.narrow(0, size.intermediateSize(), size.intermediateSize()));
            out.put(m + "down_proj.bias", downBias);
        }
    }

    /**
     * Puts the tensors the forward pass uses into {@code out}, named as in HF except the fused
     * {@code self_attn.qkv_proj} and {@code mlp.gate_up_proj}; biases only where they exist.
     */
    void parametersTo(String prefix, Map<String, Tensor> out) {
        String a = prefix + "self_attn.";
        String m = prefix + "mlp.";
        out.put(prefix + "input_layernorm.weight", inputNorm);
        out.put(a + "qkv_proj.weight", qkv);
        putIfPresent(out, a + "qkv_proj.bias", qkvBias);
        out.put(a + "o_proj.weight", o);
        putIfPresent(out, a + "o_proj.bias", oBias);
        out.put(prefix + "post_attention_layernorm.weight", postNorm);
        out.put(m + "gate_up_proj.weight", gateUp);
        putIfPresent(out, m + "gate_up_proj.bias", gateUpBias);
        out.put(m + "down_proj.weight", down);
        putIfPresent(out, m + "down_proj.bias", downBias);
    }

    private static void putIfPresent(Map<String, Tensor> out, String name, Tensor t) {
        if (t != null) {
            out.put(name, t);
        }
    }

    /** Moves the reference {@link WeightLoader} keeps on each tensor to {@code scope}. */
    void handTo(org.bytedeco.javacpp.PointerScope scope) {
        for (Tensor t : tensors()) {
            if (t == null) continue;
            scope.attach(t);
            Tensors.release(t);
        }
    }

    void release() {
        for (Tensor t : tensors()) {
            Tensors.release(t);
        }
    }

    /** The layer's tensors, null where the layout has none (biases). */
    private Tensor[] tensors() {
        return new Tensor[] {inputNorm, qkv, qkvBias, o, oBias, postNorm, gateUp, gateUpBias, down, downBias};
    }
}
