package io.cusprun.prune;

import io.cusprun.SettingException;

/** Which units may be removed. */
public enum Granularity {
    /**
     * FFN neurons and whole heads / KV groups (the default with the ablation relevance and for the
     * baselines; sliced output).
     */
    FFN_HEADS("ffn+heads"),
    /** FFN neurons only (the default with the compensated relevance). */
    FFN("ffn"),
    /** FFN neurons, query/key RoPE pairs and value/output neurons; masked output only. */
    NEURONS("neurons");

    private final String label;

    Granularity(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public static Granularity parse(String s) {
        for (Granularity g : values()) if (g.label.equals(s)) return g;
        throw new SettingException("granularity", "must be ffn+heads, ffn or neurons, not '" + s + "'");
    }
}
