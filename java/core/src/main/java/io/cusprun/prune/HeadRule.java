package io.cusprun.prune;

import io.cusprun.SettingException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How the per-document ranks of query heads and key/value groups become one statistic per
 * corpus (docs/heads.md). FFN neurons and neuron-level units always use the all-document rule.
 * Every rule takes the max over the expert's dimensions afterwards, so a head still has to be
 * irrelevant to all of them.
 */
public enum HeadRule {
    /** The paper's rule: max percentile rank over documents (or the {@code docQuantile} quantile). */
    ALL_DOCS("all-docs"),
    /** Mean percentile rank over documents (from the rank histogram, bin centres). */
    MEAN("mean"),
    /** Percentile rank of the unit's share of the corpus' summed relevance (pooled over documents). */
    POOLED("pooled");

    private final String label;

    HeadRule(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Every rule's label, in declaration order, joined by {@code separator}. */
    public static String labels(String separator) {
        return Arrays.stream(values()).map(HeadRule::label).collect(Collectors.joining(separator));
    }

    public static HeadRule parse(String s) {
        for (HeadRule r : values()) if (r.label.equals(s)) return r;
        throw new SettingException("headRule", "must be one of " + labels(", ") + ", not '" + s + "'");
    }
}
