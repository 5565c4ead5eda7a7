package io.cusprun.prune;

import io.cusprun.SettingException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What makes cusprun's FFN neuron irrelevant to a dimension (docs/method.md, "Compensated
 * relevance"). Both keep the paper's intersection: a neuron goes only where it is cheap for every
 * dimension.
 */
public enum Relevance {
    /**
     * The paper's rule: the neuron's per-document percentile rank of its ablation relevance (the
     * scored statistic); by default heads and KV groups may go too, as in the paper.
     */
    ABLATION("ablation", Granularity.FFN_HEADS),
    /**
     * The cost of removing the neuron once the remaining ones compensate (structured OBS on the
     * dimension's Gram), as its position in the greedy removal order; query heads and KV groups by the
     * block form ({@link HeadCompensation}) where the granularity removes them. By default only FFN
     * neurons go: on both bundled models removing heads costs more than the FFN neurons of the same
     * size (docs/heads.md).
     */
    COMPENSATED("compensated", Granularity.FFN);

    private final String label;
    private final Granularity defaultGranularity;

    Relevance(String label, Granularity defaultGranularity) {
        this.label = label;
        this.defaultGranularity = defaultGranularity;
    }

    /** The units that may go when no granularity is chosen. */
    public Granularity defaultGranularity() {
        return defaultGranularity;
    }

    public String label() {
        return label;
    }

    /** Every choice's label, in declaration order, joined by {@code separator}. */
    public static String labels(String separator) {
        return Arrays.stream(values()).map(Relevance::label).collect(Collectors.joining(separator));
    }

    public static Relevance parse(String s) {
        for (Relevance r : values()) if (r.label.equals(s)) return r;
        throw new SettingException("relevance", "must be one of " + labels(", ") + ", not '" + s + "'");
    }
}
