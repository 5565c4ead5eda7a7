package io.cusprun.prune;

import io.cusprun.SettingException;
import java.util.Optional;

/**
 * What the planner is asked for.
 *
 * @param ratio          fraction of decoder-block parameters to remove, in [0, 1)
 * @param mode           uniform or per-layer
 * @param chosenGranularity which units may go, when chosen; empty: the relevance's default ({@link #granularity()})
 * @param headUnit       whole KV groups or query heads per group (only matters when groups hold several heads)
 * @param docQuantile    1.0: a unit's statistic is its max rank over documents; below: that quantile (histogram)
 * @param headRule       how heads and KV groups aggregate their ranks over documents (FFN neurons: always docQuantile)
 * @param minFfnFraction per-layer floor: every layer keeps at least this fraction of its FFN neurons
 * @param masked         write a full-size checkpoint with removed weights zeroed
 * @param seed           seed of the random baseline
 * @param compensate     refit the kept columns of down_proj and o_proj on the documents (docs/method.md, "Compensation")
 * @param relevance      cusprun's FFN (and head/group) statistic: the paper's ablation rank or the cost after compensation
 */
public record PruneSettings(
        double ratio,
        PruneMode mode,
        Optional<Granularity> chosenGranularity,
        HeadUnit headUnit,
        double docQuantile,
        HeadRule headRule,
        double minFfnFraction,
        boolean masked,
        long seed,
        boolean compensate,
        Relevance relevance) {

    /**
     * Nothing removed yet (ratio 0), uniform, the compensated relevance with its granularity (FFN
     * neurons only) and compensation (docs/method.md): callers set at least the ratio.
     */
    public static final PruneSettings DEFAULTS = new PruneSettings(
            0.0,
            PruneMode.UNIFORM,
            Optional.empty(),
            HeadUnit.QUERY,
            1.0,
            HeadRule.ALL_DOCS,
            0.1,
            false,
            0,
            true,
            Relevance.COMPENSATED);

    public PruneSettings {
        if (!(ratio >= 0 && ratio < 1)) throw new SettingException("ratio", "must be in [0, 1), not " + ratio);
        if (!(docQuantile > 0 && docQuantile <= 1)) {
            throw new SettingException("docQuantile", "must be in (0, 1], not " + docQuantile);
        }
        if (headRule == null) throw new SettingException("headRule", "must be set");
        if (relevance == null) throw new SettingException("relevance", "must be set");
        if (!(minFfnFraction >= 0 && minFfnFraction < 1)) {
            throw new SettingException("minFfnFraction", "must be in [0, 1), not " + minFfnFraction);
        }
        if (chosenGranularity == null)
            throw new SettingException("granularity", "must be set (empty: the relevance's default)");
        if (chosenGranularity.orElse(null) == Granularity.NEURONS && !masked) {
            // neuron granularity leaves per-head sizes that no loader holds
            throw new SettingException("masked", "is required by neuron granularity (per-head sizes no loader holds)");
        }
    }

    /**
     * Which units cusprun may remove: the granularity chosen, else the relevance's default ({@link
     * Relevance#defaultGranularity()}): FFN neurons only with the compensated relevance, FFN neurons
     * and heads with the paper's. A plan's settings always hold a chosen one ({@link #resolvedFor}).
     */
    public Granularity granularity() {
        return chosenGranularity.orElse(relevance.defaultGranularity());
    }

    /**
     * These settings with the granularity fixed for {@code method}: the one chosen; else cusprun's
     * relevance default for cusprun's methods, and FFN neurons and heads for the others (as they are
     * published; the relevance is cusprun's statistic only).
     */
    public PruneSettings resolvedFor(Method method) {
        if (chosenGranularity.isPresent()) return this;
        boolean cusprun = method == Method.CUSPRUN || method == Method.CUSPRUN_GENERAL;
        return withGranularity(cusprun ? granularity() : Granularity.FFN_HEADS);
    }

    /** The granularity as a report states it: the one chosen, or each method's default. */
    public String granularityLabel() {
        return chosenGranularity
                .map(Granularity::label)
                .orElse(
                        relevance == Relevance.ABLATION
                                ? Relevance.ABLATION.defaultGranularity().label()
                                : "cusprun " + granularity().label() + ", the paper's rule and the baselines "
                                        + Relevance.ABLATION
                                                .defaultGranularity()
                                                .label());
    }

    public PruneSettings withRatio(double r) {
        return new PruneSettings(
                r,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withMode(PruneMode m) {
        return new PruneSettings(
                ratio,
                m,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withGranularity(Granularity g) {
        return new PruneSettings(
                ratio,
                mode,
                Optional.of(g),
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withHeadUnit(HeadUnit h) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                h,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withDocQuantile(double q) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                q,
                headRule,
                minFfnFraction,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withHeadRule(HeadRule r) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                r,
                minFfnFraction,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withMinFfnFraction(double f) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                f,
                masked,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withMasked(boolean m) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                m,
                seed,
                compensate,
                relevance);
    }

    public PruneSettings withSeed(long s) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                s,
                compensate,
                relevance);
    }

    public PruneSettings withCompensate(boolean c) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                seed,
                c,
                relevance);
    }

    public PruneSettings withRelevance(Relevance r) {
        return new PruneSettings(
                ratio,
                mode,
                chosenGranularity,
                headUnit,
                docQuantile,
                headRule,
                minFfnFraction,
                masked,
                seed,
                compensate,
                r);
    }
}
