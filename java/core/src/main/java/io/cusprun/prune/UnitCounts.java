package io.cusprun.prune;

import java.util.List;

/**
 * How many units of each module a plan removes, in one layer or summed over layers. A dropped
 * layer (ShortGPT) removes all of its FFN neurons, query heads and key/value groups.
 *
 * @param ffnNeurons    FFN (SwiGLU) neurons removed
 * @param queryHeads    query heads removed (those of removed key/value groups included)
 * @param kvGroups      key/value heads (GQA groups) removed
 * @param layersDropped whole decoder layers removed
 * @param qkPairs       query/key RoPE pairs zeroed (neuron granularity)
 * @param voNeurons     value/output neurons zeroed (neuron granularity)
 */
public record UnitCounts(int ffnNeurons, int queryHeads, int kvGroups, int layersDropped, int qkPairs, int voNeurons) {
    /** Nothing removed. */
    public static final UnitCounts NONE = new UnitCounts(0, 0, 0, 0, 0, 0);

    /** What one layer's plan removes. */
    public static UnitCounts of(LayerPlan l, ModelShape.Layer s) {
        if (l.dropped()) return new UnitCounts(s.ffn(), s.heads(), s.kvHeads(), 1, 0, 0);
        return new UnitCounts(
                s.ffn() - l.keptFfn().length,
                s.heads() - l.keptHeads().length,
                s.kvHeads() - l.keptKvHeads().length,
                0,
                l.removedQk().length,
                l.removedVo().length);
    }

    /** All units of a layer of this shape (what an unpruned layer has). */
    public static UnitCounts all(ModelShape.Layer s) {
        return new UnitCounts(s.ffn(), s.heads(), s.kvHeads(), 1, 0, 0);
    }

    public UnitCounts plus(UnitCounts o) {
        return new UnitCounts(
                ffnNeurons + o.ffnNeurons,
                queryHeads + o.queryHeads,
                kvGroups + o.kvGroups,
                layersDropped + o.layersDropped,
                qkPairs + o.qkPairs,
                voNeurons + o.voNeurons);
    }

    public static UnitCounts sum(List<UnitCounts> counts) {
        UnitCounts t = NONE;
        for (UnitCounts c : counts) t = t.plus(c);
        return t;
    }

    /** Whether any attention unit (query head, KV group, query/key pair, value/output neuron) goes. */
    public boolean removesAttention() {
        return queryHeads > 0 || kvGroups > 0 || qkPairs > 0 || voNeurons > 0;
    }
}
