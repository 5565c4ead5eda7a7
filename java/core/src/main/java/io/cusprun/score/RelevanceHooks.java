package io.cusprun.score;

import io.cusprun.model.Batch;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Scores during the forward pass (docs/method.md, "Relevance of a unit"): the FFN activation the forward continues with
 * comes from the fused kernel that also accumulates per-document sum(a^2); the attention
 * output goes into per-document group Grams. Each layer's per-document relevance is formed as
 * soon as its accumulators are complete, so only one layer's accumulators exist at a time; it
 * stays on the device ({@link BatchRelevance}) until the rank accumulators there take it.
 */
public final class RelevanceHooks implements LayerHooks {
    private final RelevanceBackend backend;
    private final RelevanceWeights weights;
    private final boolean neurons;
    private int[] kvHeads;
    private BatchRelevance out;
    private Tensor docOffsets;

    public RelevanceHooks(RelevanceBackend backend, RelevanceWeights weights, boolean neurons) {
        this.backend = backend;
        this.weights = weights;
        this.neurons = neurons;
    }

    /** Starts a batch; relevance goes into {@code sink}. */
    public void begin(Batch batch, Tensor docOffsetsOnDevice, BatchRelevance sink) {
        this.out = sink;
        this.docOffsets = docOffsetsOnDevice;
    }

    @Override
    public void beginLayer(int layer, LayerWeights w) {
        weights.use(layer, w);
    }

    @Override
    public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
        Tensor acc = Tensors.doubleZeros(gate.device(), batch.numDocs(), gate.size(1));
        Tensor act = backend.ffnSwiglu(gate, up, docOffsets, acc);
        // I(k) = sqrt(sum_t a[t,k]^2) * ||W_down[:,k]||
        out.put(layer, ModuleKind.MLP, acc.sqrt_().mul_(weights.downNorm(layer)));
        return act;
    }

    @Override
    public void attentionOutput(int layer, Tensor z, Batch batch) {
        int heads = (int) z.size(1);
        long d = z.size(2);
        Tensor gg = weights.groupGram(layer, groupsOf(layer, heads));
        int groups = (int) gg.size(0);
        int g = heads / groups;
        int n = batch.numDocs();
        Tensor gram = Tensors.doubleZeros(z.device(), n, groups, g * d, g * d);
        backend.headGram(z, heads, g, docOffsets, gram);
        // group: I^2 = trace(G_g S_g) = sum(G_g o S_g) (both symmetric)
        Tensor prod = gram.mul(gg.unsqueeze(0));
        out.put(
                layer,
                ModuleKind.GROUP,
                sqrtClamped(prod.sum(new long[] {2, 3}, false, new org.bytedeco.pytorch.ScalarTypeOptional())));
        // head: the diagonal d x d blocks of the same product
        Tensor blocks = prod.reshape(n, groups, g, d, g, d).diagonal(0, 2, 4); // [n, G, d, d, g]
        Tensor head = blocks.sum(new long[] {2, 3}, false, new org.bytedeco.pytorch.ScalarTypeOptional()); // [n, G, g]
        out.put(layer, ModuleKind.HEAD, sqrtClamped(head.reshape(n, heads)));
        if (neurons) {
            // value/output neuron j of head h: ||z[:,h,j]|| * ||W_O[:, h*d+j]||; ||z||^2 is the Gram's diagonal
            Tensor diag = gram.diagonal(0, 2, 3).reshape(n, heads * d);
            out.put(layer, ModuleKind.VO, sqrtClamped(diag).mul_(weights.oColNorm(layer)));
        }
    }

    @Override
    public void queryKey(int layer, Tensor q, Tensor k, Batch batch) {
        int heads = (int) q.size(1), kvHeads = (int) k.size(1);
        long d = q.size(2);
        Tensor acc = Tensors.doubleZeros(q.device(), batch.numDocs(), heads, d / 2);
        backend.qkNeuron(q, k, heads, kvHeads, (float) (1.0 / Math.sqrt(d)), docOffsets, acc);
        out.put(layer, ModuleKind.QK, acc.sqrt_().reshape(batch.numDocs(), heads * (d / 2)));
    }

    @Override
    public boolean wantsQueryKey() {
        return neurons;
    }

    private int groupsOf(int layer, int heads) {
        return kvHeads == null ? heads : kvHeads[layer];
    }

    /** Key/value heads per layer (needed to group the attention output; without it heads = groups). */
    public RelevanceHooks kvHeads(int[] perLayer) {
        this.kvHeads = perLayer.clone();
        return this;
    }

    private static Tensor sqrtClamped(Tensor squares) {
        return squares.clamp_min(new org.bytedeco.pytorch.Scalar(0.0)).sqrt();
    }
}
