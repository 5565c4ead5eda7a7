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

    /**
     * Per document of relevance [nDocs, N] (fp64, on the accumulators' device): percentile ranks
     * into rankMax [N] (f32, max) and rankHist [N, bins] (int32), and the relevance into
     * relevanceSum [N, 2] (int64, the exact sum of {@link ExactSum}); the {@code rank_update}
     * contract of cusprun.h. A value outside [0, 2^62) is refused before anything changes.
     */
    void rankUpdate(Tensor relevance, Tensor rankMax, Tensor rankHist, Tensor relevanceSum);

    String name();
}
