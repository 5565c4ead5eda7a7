package io.cusprun.report;

/**
 * One pruned model in a comparison: the method, the requested and achieved ratios, its size and
 * its quality on the expert and general held-out sets. A metric that was not measured is NaN.
 */
public record ComparisonRow(
        String method,
        double requestedRatio,
        double achievedBlockRatio,
        double achievedTotalRatio,
        long parameters,
        double expertPerplexity,
        double generalPerplexity,
        double expertAccuracy) {}
