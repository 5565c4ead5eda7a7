package io.cusprun.report;

import java.util.List;
import java.util.Map;

/**
 * Everything the HTML report shows.
 *
 * @param title heading of the page
 * @param summary a few sentences under the heading (plain text)
 * @param keptFractionPerLayer per module ("mlp", "self_attn"), the fraction kept in each layer
 * @param overlapLabels labels of the irrelevant-neuron sets compared (e.g. "language:de")
 * @param overlap Jaccard overlap of those sets, square, same order as the labels
 * @param rows the comparison table (means over the repeats); the quality charts plot it against the ratio per method
 * @param baseline the unpruned model's row (ratio 0), or null
 * @param repeated the same cells with every repeat's run, in the order of {@code rows}; empty or
 *     single-run cells: no ± columns
 * @param dimensionStudy experts scored on each subset of the dimensions (one cell per subset); empty: no study
 */
public record ReportData(
        String title,
        String summary,
        Map<String, double[]> keptFractionPerLayer,
        List<String> overlapLabels,
        double[][] overlap,
        List<ComparisonRow> rows,
        ComparisonRow baseline,
        List<RepeatedRow> repeated,
        List<RepeatedRow> dimensionStudy) {

    public ReportData {
        repeated = List.copyOf(repeated);
        dimensionStudy = List.copyOf(dimensionStudy);
    }

    /** A single-run report without a dimension study. */
    public ReportData(
            String title,
            String summary,
            Map<String, double[]> keptFractionPerLayer,
            List<String> overlapLabels,
            double[][] overlap,
            List<ComparisonRow> rows,
            ComparisonRow baseline) {
        this(title, summary, keptFractionPerLayer, overlapLabels, overlap, rows, baseline, List.of(), List.of());
    }

    /** The comparison's table: the unpruned row, then every cell (the single runs without repeats). */
    public ResultsTable table() {
        return repeated.isEmpty() ? ResultsTable.ofRuns(baseline, rows) : ResultsTable.comparison(baseline, repeated);
    }

    /** The dimension study's table as the report shows it: the subsets, the ratio, the size and the quality. */
    public ResultsTable dimensionTable() {
        return ResultsTable.dimensionStudy(dimensionStudy)
                .select(List.of(
                        "method", "ratio", "parameters", "expert_perplexity", "general_perplexity", "expert_acc"))
                .withLabelHeading("dimensions");
    }

    /** How many resamples each cell ran on (1 without repeats). */
    public int repeats() {
        return repeated.isEmpty() ? 1 : repeated.get(0).repeats();
    }
}
