package io.cusprun.score;

import io.cusprun.model.LayerWeights;
import io.cusprun.model.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The weight-side factors of relevance, computed once per layer in fp64 on the scoring device
 * (docs/method.md, "Relevance of a unit"): ||W_down[:,k]|| for FFN neurons, the group Gram G_g = W_O,g^T W_O,g of o_proj
 * (its diagonal d x d blocks are the per-head G_h), and ||W_O[:,c]|| for value/output neurons.
 * They are taken from the weights the forward pass runs with, given layer by layer ({@link #use}).
 */
public final class RelevanceWeights implements AutoCloseable {
    private final boolean oneLayerAtATime;
    private final LayerWeights[] source;
    private final Tensor[] downNorm;
    private final Tensor[] groupGram;
    private final Tensor[] oColNorm;

    /**
     * Factors for a model of {@code numLayers} layers, computed from the weights {@link #use}
     * names. {@code oneLayerAtATime}: keep only the current layer's (a streamed run, whose layers
     * come and go); otherwise every layer's stay until {@link #close}.
     */
    public RelevanceWeights(int numLayers, boolean oneLayerAtATime) {
        this.oneLayerAtATime = oneLayerAtATime;
        source = new LayerWeights[numLayers];
        downNorm = new Tensor[numLayers];
        groupGram = new Tensor[numLayers];
        oColNorm = new Tensor[numLayers];
    }

    /** Layer {@code layer} now runs with {@code w}: factors of other weights for it are dropped. */
    public synchronized void use(int layer, LayerWeights w) {
        if (source[layer] == w) return;
        if (oneLayerAtATime) {
            for (int i = 0; i < source.length; i++) release(i);
        } else {
            release(layer);
        }
        source[layer] = w;
    }

    private LayerWeights layer(int layer) {
        if (source[layer] == null) throw new IllegalStateException("no weights given for layer " + layer);
        return source[layer];
    }

    /** [F] column norms of down_proj. */
    public synchronized Tensor downNorm(int layer) {
        if (downNorm[layer] == null) {
            try (PointerScope s = new PointerScope()) {
                downNorm[layer] = Tensors.keep(columnNorms(layer(layer).down()));
            }
        }
        return downNorm[layer];
    }

    /** [G, g*d, g*d] Grams of o_proj's column blocks, one per KV group. */
    public synchronized Tensor groupGram(int layer, int groups) {
        if (groupGram[layer] == null) {
            try (PointerScope s = new PointerScope()) {
                Tensor w = layer(layer).o().to(torch.ScalarType.Double); // [D, H*d]
                long dModel = w.size(0), width = w.size(1) / groups;
                Tensor blocks = w.reshape(dModel, groups, width).permute(1, 0, 2); // [G, D, gd]
                groupGram[layer] =
                        Tensors.keep(torch.bmm(blocks.transpose(1, 2), blocks).contiguous());
            }
        }
        return groupGram[layer];
    }

    /** [H*d] column norms of o_proj. */
    public synchronized Tensor oColNorm(int layer) {
        if (oColNorm[layer] == null) {
            try (PointerScope s = new PointerScope()) {
                oColNorm[layer] = Tensors.keep(columnNorms(layer(layer).o()));
            }
        }
        return oColNorm[layer];
    }

    /** fp64 Euclidean norm of each column of a weight [out, in]. */
    private static Tensor columnNorms(Tensor weight) {
        Tensor w = weight.to(torch.ScalarType.Double);
        return w.mul(w)
                .sum(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
                .sqrt_();
    }

    private void release(int layer) {
        source[layer] = null;
        for (Tensor[] arr : new Tensor[][] {downNorm, groupGram, oColNorm}) {
            Tensors.release(arr[layer]);
            arr[layer] = null;
        }
    }

    @Override
    public synchronized void close() {
        for (int i = 0; i < source.length; i++) release(i);
    }
}
