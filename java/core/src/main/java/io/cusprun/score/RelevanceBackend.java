package io.cusprun.score;

import org.bytedeco.pytorch.Tensor;

/**
 * The fused capture-and-accumulate kernels the scorer needs (cusprun.h). Accumulators are
 * fp64 tensors on the activations' device and are added into, per document of the batch.
 */
public interface RelevanceBackend {

    /** act = silu(gate) * up, returned for the forward pass; acc[nDocs, F] += per-doc sum of act^2. */
    Tensor ffnSwiglu(Tensor gate, Tensor up, Tensor docOffsets, Tensor acc);

    /** gram[nDocs, G, g*d, g*d] += per-doc Gram of the concatenated head outputs of each KV group. */
    void headGram(Tensor z, int numHeads, int groupSize, Tensor docOffsets, Tensor gram);

    /** acc[nDocs, H, d/2] += squared softmax change when a RoPE pair of q.k is removed. */
    void qkNeuron(Tensor q, Tensor k, int numHeads, int numKvHeads, float scale, Tensor docOffsets, Tensor acc);

    /** Percentile ranks into running max and histogram. */
    RankUpdater ranks();

    String name();
}
