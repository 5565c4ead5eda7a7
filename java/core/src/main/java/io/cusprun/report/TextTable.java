package io.cusprun.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A {@link ResultsTable} as console text: fixed-width columns, the label left-aligned. A metric
 * of a single run is its value ({@code -} when not measured); with repeats it is {@code mean ±
 * sd} followed by the mark or a space, in {@value #REPEATED_WIDTH} characters.
 */
public final class TextTable {
    /** Width of a metric's column with repeats. */
    public static final int REPEATED_WIDTH = 18;

    private TextTable() {}

    /** The header line; with {@code repeated}, the metric columns are {@value #REPEATED_WIDTH} wide. */
    public static String header(ResultsTable table, boolean repeated) {
        List<String> parts = new ArrayList<>();
        for (ResultsTable.Column c : table.columns()) {
            if (c.kind() == ResultsTable.Kind.METRIC && repeated) {
                parts.add(pad(c.consoleHeading() + " ", REPEATED_WIDTH, false));
            } else {
                parts.add(pad(c.consoleHeading(), c.width(), c.kind() == ResultsTable.Kind.LABEL));
            }
        }
        return String.join(" ", parts);
    }

    /** The header of the table's own rows: repeated when any row ran more than once. */
    public static String header(ResultsTable table) {
        return header(table, table.repeats() > 1);
    }

    /** One row's line. */
    public static String line(ResultsTable table, ResultsTable.Row row) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < table.columns().size(); i++) {
            ResultsTable.Column c = table.columns().get(i);
            ResultsTable.Cell cell = row.cells().get(i);
            parts.add(
                    switch (c.kind()) {
                        case LABEL -> pad(cell.label(), c.width(), true);
                        case METRIC ->
                            cell.repeats() == 1
                                    ? pad(cell.text("-"), c.width(), false)
                                    : pad(
                                            cell.text("-") + (cell.marked() ? RepeatedTable.MARK : " "),
                                            REPEATED_WIDTH,
                                            false);
                        default -> pad(MarkdownTable.number(c.kind(), cell.value()), c.width(), false);
                    });
        }
        return String.join(" ", parts);
    }

    /** A single run's line (the running log's), in the comparison's columns. */
    public static String line(ComparisonRow r) {
        return line(new ResultsTable(ResultsTable.COMPARISON_COLUMNS, List.of()), ResultsTable.single(r));
    }

    /** The header and every row, one line each. */
    public static List<String> lines(ResultsTable table) {
        List<String> out = new ArrayList<>();
        out.add(header(table));
        table.rows().forEach(r -> out.add(line(table, r)));
        return out;
    }

    private static String pad(String s, int width, boolean left) {
        return String.format(Locale.ROOT, "%" + (left ? "-" : "") + width + "s", s);
    }
}
