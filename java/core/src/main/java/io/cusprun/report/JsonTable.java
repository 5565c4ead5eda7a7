package io.cusprun.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.prune.PruneReport;

/**
 * A {@link ResultsTable} as JSON (results.json's rows): each row an object keyed by the columns'
 * keys, the units removed grouped under {@code removed} (with {@code removed_per_layer}); a row
 * of several runs adds {@code <metric>_sd}, its paired differences to the reference under a key
 * the caller names ({@code vs_cusprun}) and every run as a single-run row under {@code runs}. A
 * value that was not measured is null (JSON has no NaN).
 */
public final class JsonTable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The comparison's columns, for the single runs under {@code runs}. */
    private static final ResultsTable SINGLE = new ResultsTable(ResultsTable.COMPARISON_COLUMNS, java.util.List.of());

    private JsonTable() {}

    /** Every row, in order. */
    public static ArrayNode rows(ResultsTable table, String vsKey) {
        ArrayNode a = JSON.createArrayNode();
        table.rows().forEach(r -> a.add(row(table, r, vsKey)));
        return a;
    }

    /** One row; {@code vsKey} names its differences to the reference (when it ran more than once). */
    public static ObjectNode row(ResultsTable table, ResultsTable.Row r, String vsKey) {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode vs = JSON.createObjectNode();
        boolean repeated = r.source().repeats() > 1;
        for (int i = 0; i < table.columns().size(); i++) {
            ResultsTable.Column c = table.columns().get(i);
            ResultsTable.Cell cell = r.cells().get(i);
            switch (c.kind()) {
                case LABEL -> o.put(c.key(), cell.label());
                case GROUPED, COUNT -> {
                    if (!ResultsTable.REMOVED_KEYS.contains(c.key())) o.put(c.key(), (long) cell.value());
                }
                case METRIC -> {
                    putFinite(o, c.key(), cell.value());
                    RepeatedRow.Difference d = cell.difference();
                    if (d != null && Double.isFinite(d.mean())) {
                        ObjectNode dn = vs.putObject(c.key());
                        dn.put("difference", d.mean());
                        dn.put("se", d.se());
                        dn.put("exceeds_2se", d.exceedsTwoSe());
                    }
                }
                default -> o.put(c.key(), cell.value());
            }
        }
        ComparisonRow mean = r.source().meanRow();
        o.set("removed", PruneReport.counts(mean.removed()));
        o.set("removed_per_layer", PruneReport.counts(mean.removedPerLayer()));
        if (repeated) {
            for (int i = 0; i < table.columns().size(); i++) {
                ResultsTable.Column c = table.columns().get(i);
                if (c.kind() == ResultsTable.Kind.METRIC) {
                    putFinite(o, c.key() + "_sd", r.cells().get(i).sd());
                }
            }
            if (!vs.isEmpty()) o.set(vsKey, vs);
            ArrayNode runs = o.putArray("runs");
            for (ComparisonRow run : r.source().runs()) {
                runs.add(row(SINGLE, ResultsTable.single(run), vsKey));
            }
        }
        return o;
    }

    /** JSON has no NaN: an unmeasured value is null. */
    public static void putFinite(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }
}
