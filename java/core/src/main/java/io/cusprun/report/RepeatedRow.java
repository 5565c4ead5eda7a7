package io.cusprun.report;

import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * One cell of a repeated comparison: the runs of one method (or one set of dimensions) at one
 * ratio, one run per resample of the scoring and calibration documents, in repeat order.
 *
 * @param label          the method, or the dimensions of a dimension-study expert
 * @param requestedRatio the ratio asked for
 * @param runs           one row per repeat (at least one)
 */
public record RepeatedRow(String label, double requestedRatio, List<ComparisonRow> runs) {
    public RepeatedRow {
        runs = List.copyOf(runs);
        if (runs.isEmpty()) throw new IllegalArgumentException("a repeated row needs at least one run");
    }

    public int repeats() {
        return runs.size();
    }

    /** Mean of a metric over the repeats (NaN when a run did not measure it). */
    public double mean(ToDoubleFunction<ComparisonRow> metric) {
        return mean(runs.stream().mapToDouble(metric).toArray());
    }

    /** Sample standard deviation (n - 1) of a metric over the repeats; 0 for a single run. */
    public double sd(ToDoubleFunction<ComparisonRow> metric) {
        return sd(runs.stream().mapToDouble(metric).toArray());
    }

    /**
     * The row of means: what a single-run table shows for this cell (parameters rounded). The
     * removed-unit counts (total and per layer) are the first repeat's, not a mean: they stay
     * whole numbers that add up over the layers, and they describe the plan of the single run's
     * documents (whose models {@code --keep} keeps). Under uniform pruning every repeat removes
     * the same numbers; every repeat's own counts are in {@link #runs}.
     */
    public ComparisonRow meanRow() {
        if (runs.size() == 1) {
            return runs.get(0);
        }
        ComparisonRow first = runs.get(0);
        return new ComparisonRow(
                        label,
                        requestedRatio,
                        mean(ComparisonRow::achievedBlockRatio),
                        mean(ComparisonRow::achievedTotalRatio),
                        Math.round(mean(r -> r.parameters())),
                        mean(ComparisonRow::expertPerplexity),
                        mean(ComparisonRow::generalPerplexity),
                        mean(ComparisonRow::expertAccuracy))
                .withRemoved(first.removed(), first.removedPerLayer());
    }

    /**
     * The paired difference {@code this - reference} of a metric over the repeats (both rows ran
     * on the same resamples): its mean and its standard error, the sample standard deviation of
     * the per-repeat differences over the square root of the number of repeats.
     */
    public Difference differenceTo(RepeatedRow reference, ToDoubleFunction<ComparisonRow> metric) {
        if (reference.runs.size() != runs.size()) {
            throw new IllegalArgumentException(
                    "paired rows need the same repeats: " + runs.size() + " and " + reference.runs.size());
        }
        double[] d = new double[runs.size()];
        for (int k = 0; k < d.length; k++) {
            d[k] = metric.applyAsDouble(runs.get(k)) - metric.applyAsDouble(reference.runs.get(k));
        }
        return new Difference(mean(d), sd(d) / Math.sqrt(d.length), d.length);
    }

    /**
     * A paired difference over {@code repeats} repeats.
     *
     * @param mean mean of the per-repeat differences
     * @param se   its standard error (sd of the differences / sqrt(repeats))
     */
    public record Difference(double mean, double se, int repeats) {
        /** Whether the difference exceeds twice its standard error (needs two repeats or more). */
        public boolean exceedsTwoSe() {
            return repeats > 1 && Double.isFinite(mean) && Double.isFinite(se) && Math.abs(mean) > 2 * se;
        }
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    static double sd(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double m = mean(v);
        double ss = 0;
        for (double x : v) ss += (x - m) * (x - m);
        return Math.sqrt(ss / (v.length - 1));
    }
}
