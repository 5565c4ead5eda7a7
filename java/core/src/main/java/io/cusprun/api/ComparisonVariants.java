package io.cusprun.api;

import io.cusprun.prune.Method;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.Relevance;
import java.util.ArrayList;
import java.util.List;

/** The rows a method gives in a comparison: as asked, as published, and with compensation. */
final class ComparisonVariants {
    private ComparisonVariants() {}

    /** A row group of the table: a method run with these settings, under this label. */
    record Variant(Method method, String label, PruneSettings settings) {}

    /** The label suffix of a baseline run with compensation. */
    static final String COMPENSATED = "+comp";

    /** The label of cusprun as in the paper (ablation relevance, no compensation). */
    static final String PAPER = "cusprun-paper";

    /**
     * The rows a method gives in the table, for the settings asked: cusprun with the settings
     * asked ({@code cusprun}), then, unless that is already the paper's method, cusprun as in the
     * paper (the ablation relevance, no compensation; {@value #PAPER}) and the paper's rule with
     * compensation ({@value #PAPER}{@value #COMPENSATED}, unless that is what was asked);
     * wanda-sp and flap as published and, when compensation is asked, with it ({@value
     * #COMPENSATED}); magnitude and random as published; the other methods with the settings asked.
     */
    static List<Variant> of(Method method, PruneSettings asked) {
        PruneSettings published = asked.withCompensate(false).withRelevance(Relevance.ABLATION);
        List<Variant> out = new ArrayList<>();
        switch (method) {
            case CUSPRUN -> {
                out.add(new Variant(method, method.label(), asked));
                if (!asked.equals(published)) {
                    out.add(new Variant(method, PAPER, published));
                    PruneSettings paperCompensated = published.withCompensate(true);
                    if (!asked.equals(paperCompensated)) {
                        out.add(new Variant(method, PAPER + COMPENSATED, paperCompensated));
                    }
                }
            }
            case WANDA_SP, FLAP -> {
                out.add(new Variant(method, method.label(), published));
                if (asked.compensate()) {
                    out.add(new Variant(method, method.label() + COMPENSATED, published.withCompensate(true)));
                }
            }
            case MAGNITUDE, RANDOM -> out.add(new Variant(method, method.label(), published));
            default -> out.add(new Variant(method, method.label(), asked));
        }
        return out;
    }
}
