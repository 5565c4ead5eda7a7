package io.cusprun.report;

import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * How a repeated comparison is shown: a cell as {@code mean ± sd}, a mark on the cells whose
 * paired difference to cusprun at the same ratio exceeds twice its standard error, and the
 * Markdown table of the whole comparison (the README's table).
 */
public final class RepeatedTable {
    /** The method every other one is compared with. */
    public static final String REFERENCE = "cusprun";
    /** The mark on a cell whose difference to the reference exceeds twice its standard error. */
    public static final String MARK = "*";

    private RepeatedTable() {}

    /** The metrics shown per cell, with their table headings. */
    public enum Metric {
        EXPERT_PERPLEXITY("expert ppl", "expert_perplexity", ComparisonRow::expertPerplexity),
        GENERAL_PERPLEXITY("general ppl", "general_perplexity", ComparisonRow::generalPerplexity),
        EXPERT_ACCURACY("expert MC acc", "expert_acc", ComparisonRow::expertAccuracy);

        public final String heading;
        public final String key;
        public final ToDoubleFunction<ComparisonRow> value;

        Metric(String heading, String key, ToDoubleFunction<ComparisonRow> value) {
            this.heading = heading;
            this.key = key;
            this.value = value;
        }
    }

    /** {@code mean ± sd} with three decimals; the mean alone for a single run; {@code missing} when not measured. */
    public static String value(RepeatedRow row, Metric metric, String missing) {
        double mean = row.mean(metric.value);
        if (!Double.isFinite(mean)) {
            return missing;
        }
        if (row.repeats() == 1) {
            return String.format(Locale.ROOT, "%.3f", mean);
        }
        return String.format(Locale.ROOT, "%.3f ± %.3f", mean, row.sd(metric.value));
    }

    /** The reference method's cell at the row's ratio, or null (also for the reference itself). */
    public static RepeatedRow reference(RepeatedRow row, List<RepeatedRow> all) {
        if (row.label().equals(REFERENCE)) {
            return null;
        }
        return all.stream()
                .filter(r -> r.label().equals(REFERENCE) && r.requestedRatio() == row.requestedRatio())
                .findFirst()
                .orElse(null);
    }

    /** The paired difference of the row to cusprun at its ratio, or null when there is none to compare. */
    public static RepeatedRow.Difference difference(RepeatedRow row, List<RepeatedRow> all, Metric metric) {
        return differenceTo(row, reference(row, all), metric);
    }

    /** The paired difference of the row to {@code reference}; null when the reference is null or the row itself. */
    public static RepeatedRow.Difference differenceTo(RepeatedRow row, RepeatedRow reference, Metric metric) {
        return reference == null || reference == row || reference.repeats() != row.repeats()
                ? null
                : row.differenceTo(reference, metric.value);
    }

    /** Whether the cell is marked: its difference to cusprun at the same ratio exceeds twice its standard error. */
    public static boolean marked(RepeatedRow row, List<RepeatedRow> all, Metric metric) {
        return markedAgainst(row, reference(row, all), metric);
    }

    /** Whether the cell's paired difference to {@code reference} exceeds twice its standard error. */
    public static boolean markedAgainst(RepeatedRow row, RepeatedRow reference, Metric metric) {
        RepeatedRow.Difference d = differenceTo(row, reference, metric);
        return d != null && d.exceedsTwoSe();
    }

    /**
     * The line naming the cells in which no repeat removed an attention unit, or null (see {@link
     * ComparisonRow#noHeadsNote}): a cell whose repeat 1 kept every head but another repeat removed
     * some is not named, although the table shows repeat 1's counts.
     */
    public static String noHeadsNote(List<RepeatedRow> cells) {
        return ComparisonRow.noHeadsNote(cells.stream()
                .map(c -> c.runs().stream()
                        .filter(r -> r.removed().removesAttention())
                        .findFirst()
                        .orElse(c.runs().get(0)))
                .toList());
    }

    /** The dimension study's reference: the expert scored on all dimensions (its last cell). */
    public static RepeatedRow allDimensions(List<RepeatedRow> study) {
        return study.isEmpty() ? null : study.get(study.size() - 1);
    }

    /** How the dimension study's cells are marked. */
    public static String dimensionMarkNote() {
        return MARK + " marks a cell whose paired difference to the expert scored on all dimensions (the last row) "
                + "exceeds twice its standard error.";
    }

    /** One sentence on how the marks are computed, for the report and the README. */
    public static String markNote(int repeats) {
        return String.format(
                Locale.ROOT,
                "Each cell is the mean ± standard deviation over %d resamples of the scoring and calibration "
                        + "documents (the held-out sets stay fixed). %s marks a cell whose difference to cusprun at the "
                        + "same ratio exceeds twice its standard error, computed from the paired per-resample "
                        + "differences: SE = sd(difference) / √%d.",
                repeats,
                MARK,
                repeats);
    }

    /**
     * The comparison as a Markdown table: the unpruned row, then every cell in the order of the
     * report's rows; with repeats, {@code mean ± sd} and the marks; last the units removed
     * (FFN neurons, query heads, KV groups; with repeats, the first repeat's, see {@link RepeatedRow#meanRow}).
     */
    public static String markdown(ReportData data) {
        StringBuilder t = new StringBuilder(
                "| method | ratio | achieved (blocks) | achieved (total) | parameters | expert ppl | general ppl "
                        + "| expert MC acc | FFN removed | heads removed | KV groups removed |\n"
                        + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<RepeatedRow> cells = data.repeated().isEmpty()
                ? data.rows().stream()
                        .map(r -> new RepeatedRow(r.method(), r.requestedRatio(), List.of(r)))
                        .toList()
                : data.repeated();
        if (data.baseline() != null) {
            t.append(markdownRow(new RepeatedRow("unpruned", 0, List.of(data.baseline())), cells));
        }
        cells.forEach(c -> t.append(markdownRow(c, cells)));
        return t.toString();
    }

    private static String markdownRow(RepeatedRow c, List<RepeatedRow> all) {
        ComparisonRow m = c.meanRow();
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT,
                "| %s | %.2f | %.3f | %.3f | %,d |",
                c.label(),
                c.requestedRatio(),
                m.achievedBlockRatio(),
                m.achievedTotalRatio(),
                m.parameters()));
        for (Metric metric : Metric.values()) {
            s.append(' ').append(value(c, metric, "–"));
            if (marked(c, all, metric)) {
                s.append(' ').append(MARK);
            }
            s.append(" |");
        }
        s.append(String.format(
                Locale.ROOT,
                " %,d | %d | %d |",
                m.removed().ffnNeurons(),
                m.removed().queryHeads(),
                m.removed().kvGroups()));
        return s.append('\n').toString();
    }

    /** The dimension study as a Markdown table (one row per subset of the dimensions). */
    public static String dimensionMarkdown(ReportData data) {
        StringBuilder t =
                new StringBuilder("| dimensions | ratio | parameters | expert ppl | general ppl | expert MC acc |\n"
                        + "|---|---:|---:|---:|---:|---:|\n");
        RepeatedRow all = allDimensions(data.dimensionStudy());
        for (RepeatedRow c : data.dimensionStudy()) {
            t.append(String.format(
                    Locale.ROOT,
                    "| %s | %.2f | %,d |",
                    c.label(),
                    c.requestedRatio(),
                    c.meanRow().parameters()));
            for (Metric metric : Metric.values()) {
                t.append(' ').append(value(c, metric, "–"));
                if (markedAgainst(c, all, metric)) {
                    t.append(' ').append(MARK);
                }
                t.append(" |");
            }
            t.append('\n');
        }
        if (all != null && all.repeats() > 1) {
            t.append('\n').append(dimensionMarkNote()).append('\n');
        }
        return t.toString();
    }
}
