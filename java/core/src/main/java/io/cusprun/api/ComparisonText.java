package io.cusprun.api;

import io.cusprun.report.ComparisonRow;
import io.cusprun.report.RepeatedTable;
import io.cusprun.report.TextTable;
import java.util.List;
import java.util.Locale;

/**
 * A comparison's console text beyond its results table (which {@link TextTable} writes): the
 * running log's lines and the vocabulary table, as {@code compare} and {@code demo} print them.
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

    /** One line of the running log: a single run in the columns of the final table ({@link TextTable}). */
    public static String format(ComparisonRow r) {
        return TextTable.line(r);
    }

    /** The line naming the pruned models that removed no head, or null (see {@link ComparisonRow#noHeadsNote}). */
    public static String noHeadsNote(List<ComparisonRow> rows) {
        return ComparisonRow.noHeadsNote(rows);
    }

    /** As above for a comparison's cells: a cell is named when none of its repeats removed a head. */
    public static String noHeadsNote(Comparison.Result result) {
        return RepeatedTable.noHeadsNote(result.cells());
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "-";
    }
}
