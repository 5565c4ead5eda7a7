package io.cusprun.api;

import io.cusprun.report.ComparisonRow;
import io.cusprun.report.RepeatedRow;
import io.cusprun.report.RepeatedTable;
import java.util.List;
import java.util.Locale;

/**
 * A comparison's console text: the running log's lines, the final table and the vocabulary
 * table, as {@code compare} and {@code demo} print them ({@link Comparison} computes the rows).
 */
public final class ComparisonText {
    private ComparisonText() {}

    /** One line of the vocabulary table. */
    public static String formatVocabulary(Comparison.VocabularyRow r) {
        return String.format(
                Locale.ROOT,
                "%-22s %5.2f %,10d %,13d %13.4f %14.4f %11s %11s",
                r.label(),
                r.ratio(),
                r.vocabulary(),
                r.parameters(),
                r.expertBitsPerByte(),
                r.generalBitsPerByte(),
                num(r.expertPerplexity()),
                num(r.generalPerplexity()));
    }

    /** The header of {@link #formatVocabulary}'s lines. */
    public static String vocabularyHeader() {
        return String.format(
                Locale.ROOT,
                "%-22s %5s %10s %13s %13s %14s %11s %11s",
                "model",
                "ratio",
                "vocabulary",
                "parameters",
                "expert bits/B",
                "general bits/B",
                "expert ppl",
                "general ppl");
    }

    /** One line of the running log and of the final table. */
    public static String format(ComparisonRow r) {
        return String.format(
                Locale.ROOT,
                "%-18s %5.2f %9.3f %9.3f %,13d %11s %11s %9s %,11d %13d %10d",
                r.method(),
                r.requestedRatio(),
                r.achievedBlockRatio(),
                r.achievedTotalRatio(),
                r.parameters(),
                num(r.expertPerplexity()),
                num(r.generalPerplexity()),
                num(r.expertAccuracy()),
                r.removed().ffnNeurons(),
                r.removed().queryHeads(),
                r.removed().kvGroups());
    }

    public static String header() {
        return String.format(
                Locale.ROOT,
                "%-18s %5s %9s %9s %13s %11s %11s %9s %11s %13s %10s",
                "method",
                "ratio",
                "blocks",
                "total",
                "parameters",
                "expert ppl",
                "general ppl",
                "expert acc",
                "FFN removed",
                "heads removed",
                "KV removed");
    }

    /** The line naming the pruned models that removed no head, or null (see {@link ComparisonRow#noHeadsNote}). */
    public static String noHeadsNote(List<ComparisonRow> rows) {
        return ComparisonRow.noHeadsNote(rows);
    }

    /** As above for a comparison's cells: a cell is named when none of its repeats removed a head. */
    public static String noHeadsNote(Comparison.Result result) {
        return RepeatedTable.noHeadsNote(result.cells());
    }

    /**
     * A cell of a repeated comparison: means of the structure columns, {@code mean ± sd} of the
     * metrics, each marked when its paired difference to cusprun at the same ratio (in {@code
     * all}) exceeds twice its standard error, then the units removed (the first repeat's, see
     * {@link RepeatedRow#meanRow}).
     */
    public static String format(RepeatedRow c, List<RepeatedRow> all) {
        return format(c, RepeatedTable.reference(c, all));
    }

    /** A cell of a repeated comparison, marked against {@code reference} (null: no marks). */
    public static String format(RepeatedRow c, RepeatedRow reference) {
        ComparisonRow m = c.meanRow();
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT,
                "%-18s %5.2f %9.3f %9.3f %,13d",
                c.label(),
                c.requestedRatio(),
                m.achievedBlockRatio(),
                m.achievedTotalRatio(),
                m.parameters()));
        for (RepeatedTable.Metric metric : RepeatedTable.Metric.values()) {
            String v = RepeatedTable.value(c, metric, "-")
                    + (RepeatedTable.markedAgainst(c, reference, metric) ? RepeatedTable.MARK : " ");
            s.append(String.format(Locale.ROOT, " %18s", v));
        }
        s.append(String.format(
                Locale.ROOT,
                " %,11d %13d %10d",
                m.removed().ffnNeurons(),
                m.removed().queryHeads(),
                m.removed().kvGroups()));
        return s.toString();
    }

    /** The header of {@link #format(RepeatedRow, List)}'s lines. */
    public static String repeatedHeader() {
        return String.format(
                Locale.ROOT,
                "%-18s %5s %9s %9s %13s %18s %18s %18s %11s %13s %10s",
                "method",
                "ratio",
                "blocks",
                "total",
                "parameters",
                "expert ppl ",
                "general ppl ",
                "expert acc ",
                "FFN removed",
                "heads removed",
                "KV removed");
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "-";
    }
}
