package io.cusprun.report;

import java.util.List;
import java.util.Locale;

/**
 * What a repeated comparison compares: each cell with cusprun at the same ratio (the {@code *}
 * mark when the paired difference exceeds twice its standard error), and the notes that explain
 * the marks. The table itself is a {@link ResultsTable}.
 */
public final class RepeatedTable {
    /** The method every other one is compared with. */
    public static final String REFERENCE = "cusprun";
    /** The mark on a cell whose difference to the reference exceeds twice its standard error. */
    public static final String MARK = "*";

    private RepeatedTable() {}

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
}
