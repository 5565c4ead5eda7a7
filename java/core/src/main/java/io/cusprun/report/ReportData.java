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
 * @param rows the comparison table; the quality charts plot it against the ratio per method
 * @param baseline the unpruned model's row (ratio 0), or null
 */
public record ReportData(
        String title,
        String summary,
        Map<String, double[]> keptFractionPerLayer,
        List<String> overlapLabels,
        double[][] overlap,
        List<ComparisonRow> rows,
        ComparisonRow baseline) {}
