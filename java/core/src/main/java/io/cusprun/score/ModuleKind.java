package io.cusprun.score;

/**
 * The units whose relevance is ranked, one rank per (layer, module kind). The tensor name
 * of a statistic is {@code model.layers.<i>.<block>.<prefix><statistic>}, e.g.
 * {@code model.layers.3.self_attn.head_rank_max}.
 */
public enum ModuleKind {
    /** FFN neurons, F per layer. */
    MLP("mlp", ""),
    /** Query heads, H per layer. */
    HEAD("self_attn", "head_"),
    /** Key/value groups (all query heads of a KV head), Hkv per layer. */
    GROUP("self_attn", "group_"),
    /** Query/key neurons as RoPE pairs {j, j+d/2}, H*d/2 per layer (neuron granularity only). */
    QK("self_attn", "qk_"),
    /** Value/output neurons, H*d per layer (neuron granularity only). */
    VO("self_attn", "vo_");

    private final String block;
    private final String prefix;

    ModuleKind(String block, String prefix) {
        this.block = block;
        this.prefix = prefix;
    }

    public String tensorName(int layer, String statistic) {
        return "model.layers." + layer + "." + block + "." + prefix + statistic;
    }
}
