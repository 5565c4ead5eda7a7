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
        return torch.scaled_dot_product_attention(q, k, v, mask == null ? new TensorOptional() : new TensorOptional(mask),
                0.0, causal, new DoubleOptional(), gqa);
    }

    /** Bool [L, L]: j <= i, and i - j < window when window > 0. */
    static Tensor causalMask(long length, int window, Device device) {
        Tensor idx = torch.arange(new Scalar(length), new TensorOptions(torch.ScalarType.Long)).to(device, torch.ScalarType.Long);
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
                return attendDoc(q, k, v, 0, batch.length(), window).squeeze(0).transpose(0, 1).contiguous();
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

    /**
     * Padded rows [B, T] with an attention mask (1 = token, 0 = padding), left or right padded:
     * positions count the real tokens of each row; a token attends to earlier real tokens of its row.
     * Padding rows attend to themselves only (their outputs are meaningless but finite).
     */
    static final class Padded extends AttentionLayout {
        private final long rows;
        private final long width;
        private final Tensor positions;
        private final Tensor keyMask; // [B, 1, 1, T] bool
        private final Device device;
        private final Batch batch;
        private final java.util.Map<Integer, Tensor> masks = new java.util.HashMap<>();

        /** {@code windows}: every sliding window the layers use (0 for none); their masks are built here, once. */
        Padded(long[][] ids, long[][] attentionMask, java.util.Set<Integer> windows, Device device) {
            this.rows = ids.length;
            this.width = ids[0].length;
            this.device = device;
            long[] flatMask = new long[Math.toIntExact(rows * width)];
            long[] pos = new long[flatMask.length];
            long[] offsets = new long[(int) rows + 1];
            for (int b = 0; b < rows; b++) {
                long p = 0;
                for (int t = 0; t < width; t++) {
                    long m = attentionMask[b][t];
                    flatMask[(int) (b * width + t)] = m;
                    pos[(int) (b * width + t)] = Math.max(0, p + m - 1);
                    p += m;
                }
                offsets[b + 1] = (b + 1) * width;
            }
            long[] tokens = new long[flatMask.length];
            for (int b = 0; b < rows; b++) {
                System.arraycopy(ids[b], 0, tokens, (int) (b * width), (int) width);
            }
            this.batch = new Batch(tokens, offsets);
            this.positions = Tensors.ofLongs(pos).to(device, torch.ScalarType.Long);
            this.keyMask = torch.ne(Tensors.ofLongs(flatMask, rows, 1, 1, width).to(device, torch.ScalarType.Long),
                    new Scalar(0L));
            for (int w : windows) {
                masks.put(w, buildMask(w));
            }
        }

        @Override
        Tensor positions() {
            return positions;
        }

        @Override
        Batch batch() {
            return batch;
        }

        /** Bool [B, 1, T, T]: causal (and windowed) over real keys, plus the diagonal. */
        private Tensor buildMask(int window) {
            Tensor allowed = torch.logical_and(causalMask(width, window, device).view(1, 1, width, width), keyMask);
            Tensor eye = torch.eye(width, new TensorOptions(torch.ScalarType.Bool)).to(device, torch.ScalarType.Bool);
            return torch.logical_or(allowed, eye.view(1, 1, width, width));
        }

        @Override
        Tensor attend(Tensor q, Tensor k, Tensor v, int window) {
            Tensor allowed = masks.get(window);
            Tensor qb = q.view(rows, width, q.size(1), q.size(2)).transpose(1, 2);
            Tensor kb = k.view(rows, width, k.size(1), k.size(2)).transpose(1, 2);
            Tensor vb = v.view(rows, width, v.size(1), v.size(2)).transpose(1, 2);
            Tensor out = sdpa(qb, kb, vb, allowed, false); // [B, H, T, d]
            return out.transpose(1, 2).reshape(rows * width, q.size(1), q.size(2));
        }
    }
}
