package io.cusprun.prune;

/**
 * What one decoder layer keeps. Index arrays are ascending.
 *
 * @param layer       index in the source model
 * @param dropped     the whole layer goes (ShortGPT)
 * @param keptFfn     FFN neurons kept
 * @param keptHeads   query heads kept
 * @param keptKvHeads key/value heads kept (every kept query head's KV head is kept)
 * @param removedQk   query/key RoPE pairs zeroed, index h*(d/2)+j (neuron granularity, masked only)
 * @param removedVo   value/output neurons zeroed, index h*d+j (neuron granularity, masked only)
 */
public record LayerPlan(
        int layer,
        boolean dropped,
        int[] keptFfn,
        int[] keptHeads,
        int[] keptKvHeads,
        int[] removedQk,
        int[] removedVo) {

    /** Parameters this layer loses. */
    public long removedParams(ModelShape.Layer s) {
        if (dropped) return s.params();
        return (long) (s.ffn() - keptFfn.length) * s.ffnNeuron()
                + (long) (s.heads() - keptHeads.length) * s.queryHead()
                + (long) (s.kvHeads() - keptKvHeads.length) * s.kvHead()
                + (long) removedQk.length * s.qkPair()
                + (long) removedVo.length * s.voNeuron();
    }

    /** Nothing removed. */
    public static LayerPlan keepAll(int layer, ModelShape.Layer s) {
        return new LayerPlan(
                layer, false, range(s.ffn()), range(s.heads()), range(s.kvHeads()), new int[0], new int[0]);
    }

    static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }
}
