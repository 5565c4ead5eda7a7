package io.cusprun.report;

import io.cusprun.prune.UnitCounts;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One pruned model in a comparison: the method, the requested and achieved ratios, its size, its
 * quality on the expert and general held-out sets, and the units it removed by module. A metric
 * that was not measured is NaN.
 *
 * @param removed          units removed, summed over layers ({@link UnitCounts#NONE} unpruned)
 * @param removedPerLayer  units removed in each source layer (empty for the unpruned model)
 */
public record ComparisonRow(
        String method,
        double requestedRatio,
        double achievedBlockRatio,
        double achievedTotalRatio,
        long parameters,
        double expertPerplexity,
        double generalPerplexity,
        double expertAccuracy,
        UnitCounts removed,
        List<UnitCounts> removedPerLayer) {

    public ComparisonRow {
        removedPerLayer = List.copyOf(removedPerLayer);
    }

    /** A row that removed nothing (the unpruned model) or whose units were not counted. */
    public ComparisonRow(
            String method,
            double requestedRatio,
            double achievedBlockRatio,
            double achievedTotalRatio,
            long parameters,
            double expertPerplexity,
            double generalPerplexity,
            double expertAccuracy) {
        this(
                method,
                requestedRatio,
                achievedBlockRatio,
                achievedTotalRatio,
                parameters,
                expertPerplexity,
                generalPerplexity,
                expertAccuracy,
                UnitCounts.NONE,
                List.of());
    }

    /** This row with the units its model removed, in total and per source layer. */
    public ComparisonRow withRemoved(UnitCounts total, List<UnitCounts> perLayer) {
        return new ComparisonRow(
                method,
                requestedRatio,
                achievedBlockRatio,
                achievedTotalRatio,
                parameters,
                expertPerplexity,
                generalPerplexity,
                expertAccuracy,
                total,
                perLayer);
    }

    /**
     * One line naming the pruned models that removed no attention unit (no query head, KV group,
     * query/key pair or value/output neuron), or null when every pruned model removed some.
     */
    public static String noHeadsNote(List<ComparisonRow> rows) {
        Map<String, List<String>> none = new LinkedHashMap<>();
        Map<String, Integer> perMethod = new LinkedHashMap<>();
        for (ComparisonRow r : rows) {
            perMethod.merge(r.method(), 1, Integer::sum);
            if (!r.removed().removesAttention()) {
                none.computeIfAbsent(r.method(), m -> new ArrayList<>())
                        .add(String.format(Locale.ROOT, "%.2f", r.requestedRatio()));
            }
        }
        if (none.isEmpty()) return null;
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : none.entrySet()) {
            boolean all = e.getValue().size() == perMethod.get(e.getKey());
            parts.add(all ? e.getKey() : e.getKey() + " at " + String.join(", ", e.getValue()));
        }
        boolean every = none.size() == perMethod.size()
                && none.entrySet().stream().allMatch(e -> e.getValue().size() == perMethod.get(e.getKey()));
        boolean wholeMethods = parts.stream().noneMatch(p -> p.contains(" at "));
        return (every
                        ? "no heads removed by any method at any ratio"
                        : "no heads removed by " + String.join(wholeMethods ? ", " : "; ", parts))
                + ": only FFN neurons were pruned there";
    }
}
