package io.cusprun.model;

import io.cusprun.engine.CpuLinear;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * One decoder layer's forward pass, HF's Llama modelling code: the one implementation both the
 * in-memory model ({@link LlamaModel}) and the layer-streamed one ({@link StreamedDecoder}) run,
 * so the two give bit-identical activations for the same weights and batch.
 */
final class DecoderStep {
    private DecoderStep() {}

    /**
     * x [N, D] through layer i with weights w (in the compute dtype). Masks multiply the FFN
     * activation ([F]) and the attention output ([1, H, 1]) and may be null.
     */
    static Tensor layer(
            ModelConfig config,
            int i,
            LayerWeights w,
            Tensor ffnMask,
            Tensor headMask,
            Tensor x,
            AttentionLayout layout,
            Tensor[] cosSin,
            LayerHooks hooks) {
        LayerSize s = w.size();
        long n = x.size(0);
        double eps = config.rmsNormEps();
        Tensor out = x;
        if (s.numAttentionHeads() > 0) {
            out = out.add(attention(config, i, w, headMask, rmsNorm(x, w.inputNorm(), eps), layout, cosSin, hooks, n));
        } else if (w.oBias() != null) {
            out = out.add(w.oBias());
        }
        Tensor h = rmsNorm(out, w.postNorm(), eps);
        int f = s.intermediateSize();
        if (f > 0) {
            Tensor gateUp = linear(h, w.gateUp(), w.gateUpBias()); // [N, 2F]
            Tensor act = hooks.ffnActivation(i, gateUp.narrow(1, 0, f), gateUp.narrow(1, f, f), layout.batch());
            if (ffnMask != null) {
                act = act.mul(ffnMask);
            }
            out = out.add(linear(act, w.down(), w.downBias()));
        } else if (w.downBias() != null) {
            out = out.add(w.downBias());
        }
        return out == x ? x.clone() : out;
    }

    private static Tensor attention(
            ModelConfig config,
            int i,
            LayerWeights w,
            Tensor headMask,
            Tensor h,
            AttentionLayout layout,
            Tensor[] cosSin,
            LayerHooks hooks,
            long n) {
        int heads = w.size().numAttentionHeads();
        int kvHeads = w.size().numKeyValueHeads();
        int d = w.headDim();
        Tensor qkv = linear(h, w.qkv(), w.qkvBias()); // [N, (H + 2 Hkv) d]
        Tensor q = Rope.apply(qkv.narrow(1, 0, (long) heads * d).view(n, heads, d), cosSin[0], cosSin[1]);
        Tensor k = Rope.apply(
                qkv.narrow(1, (long) heads * d, (long) kvHeads * d).view(n, kvHeads, d), cosSin[0], cosSin[1]);
        Tensor v =
                qkv.narrow(1, (long) (heads + kvHeads) * d, (long) kvHeads * d).view(n, kvHeads, d);
        if (hooks.wantsQueryKey()) {
            hooks.queryKey(i, q, k, layout.batch());
        }
        Tensor z = layout.attend(q, k, v, config.slidingWindow(i)); // [N, H, d]
        hooks.attentionOutput(i, z, layout.batch());
        if (headMask != null) {
            z = z.mul(headMask);
        }
        return linear(z.view(n, (long) heads * d), w.o(), w.oBias());
    }

    static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return CpuLinear.linear(x, weight, bias);
    }

    /** HF LlamaRMSNorm: normalise in fp32, cast back, then scale by the weight. */
    static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        if (Tensors.isType(x, torch.ScalarType.Float)) {
            return torch.rms_norm(x, new long[] {x.size(-1)}, new TensorOptional(weight), new DoubleOptional(eps));
        }
        Tensor xf = x.to(torch.ScalarType.Float);
        Tensor var = xf.pow(new Scalar(2.0)).mean(new long[] {-1}, true, new ScalarTypeOptional());
        Tensor normed = xf.mul(torch.rsqrt(var.add(new Scalar(eps))));
        return weight.mul(normed.to(x.scalar_type()));
    }
}
