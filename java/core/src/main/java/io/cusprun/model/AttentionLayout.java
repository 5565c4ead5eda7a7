package io.cusprun.model;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Which tokens a forward pass's tokens may attend to. Activations are flattened to N tokens,
 * [N, heads, d]; a layout gives their positions and runs attention within its rules.
 */
abstract sealed class AttentionLayout {

    /** Positions [N] (int64, on the device) for RoPE. */
    abstract Tensor positions();

    /** The batch shown to the hooks. */
    abstract Batch batch();

    /** Attention output z [N, H, d] (contiguous) for q [N, H, d], k and v [N, Hkv, d]; window 0 = none. */
    abstract Tensor attend(Tensor q, Tensor k, Tensor v, int window);

    /** [1, heads, L, d] view of rows [start, start+len) of x [N, heads, d]. */
    static Tensor heads(Tensor x, long start, long len) {
        return x.narrow(0, start, len).transpose(0, 1).unsqueeze(0);
    }

    static Tensor sdpa(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal) {
        boolean gqa = q.size(1) != k.size(1);
        return torch.scaled_dot_product_attention(
                q,
                k,
                v,
                mask == null ? new TensorOptional() : new TensorOptional(mask),
                0.0,
                causal,
                new DoubleOptional(),
                gqa);
    }

    /** Bool [L, L]: j <= i, and i - j < window when window > 0. */
    static Tensor causalMask(long length, int window, Device device) {
        Tensor idx = torch.arange(new Scalar(length), new TensorOptions(torch.ScalarType.Long))
                .to(device, torch.ScalarType.Long);
        Tensor diff = idx.unsqueeze(1).sub(idx.unsqueeze(0)); // i - j
        Tensor mask = torch.ge(diff, new Scalar(0L));
        if (window > 0) {
            mask = torch.logical_and(mask, torch.lt(diff, new Scalar((long) window)));
        }
        return mask;
    }

    /** Packed documents: block-diagonal causal attention, one SDPA call per document. */
    static final class Packed extends AttentionLayout {
        private final Batch batch;
        private final Tensor positions;
        private final Device device;

        Packed(Batch batch, Device device) {
            this.batch = batch;
            this.device = device;
            this.positions = Tensors.ofLongs(batch.positions()).to(device, torch.ScalarType.Long);
        }

        @Override
        Tensor positions() {
            return positions;
        }

        @Override
        Batch batch() {
            return batch;
        }

        @Override
        Tensor attend(Tensor q, Tensor k, Tensor v, int window) {
            if (batch.numDocs() == 1) {
                return attendDoc(q, k, v, 0, batch.length(), window)
                        .squeeze(0)
                        .transpose(0, 1)
                        .contiguous();
            }
            Tensor z = torch.empty_like(q);
            for (int doc = 0; doc < batch.numDocs(); doc++) {
                long start = batch.docStart(doc);
                long len = batch.docLength(doc);
                Tensor out = attendDoc(q, k, v, start, len, window); // [1, H, L, d]
                z.narrow(0, start, len).copy_(out.squeeze(0).transpose(0, 1));
            }
            return z;
        }

        private Tensor attendDoc(Tensor q, Tensor k, Tensor v, long start, long len, int window) {
            Tensor qd = heads(q, start, len);
            Tensor kd = heads(k, start, len);
            Tensor vd = heads(v, start, len);
            if (window > 0 && len > window) {
                return sdpa(qd, kd, vd, causalMask(len, window, device), false);
            }
            return sdpa(qd, kd, vd, null, true);
        }
    }
}
