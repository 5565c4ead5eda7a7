package io.cusprun.report;

import java.util.Locale;

/**
 * A {@link ResultsTable} as a Markdown table (the README's and a report's {@code table.md}): the
 * label left-aligned, numbers right-aligned, {@code –} for what was not measured, {@code *} after
 * a marked cell.
 */
public final class MarkdownTable {
    private MarkdownTable() {}

    public static String render(ResultsTable table) {
        StringBuilder t = new StringBuilder("|");
        StringBuilder align = new StringBuilder("|");
        for (ResultsTable.Column c : table.columns()) {
            t.append(' ').append(c.heading()).append(" |");
            align.append(c.kind() == ResultsTable.Kind.LABEL ? "---|" : "---:|");
        }
        t.append('\n').append(align).append('\n');
        for (ResultsTable.Row r : table.rows()) {
            t.append('|');
            for (int i = 0; i < table.columns().size(); i++) {
                t.append(' ')
                        .append(cell(table.columns().get(i), r.cells().get(i)))
                        .append(" |");
            }
            t.append('\n');
        }
        return t.toString();
    }

    /** A cell as Markdown and HTML show it (unescaped). */
    static String cell(ResultsTable.Column c, ResultsTable.Cell cell) {
        return switch (c.kind()) {
            case LABEL -> cell.label();
            case METRIC -> cell.text("–") + (cell.marked() ? " " + RepeatedTable.MARK : "");
            default -> number(c.kind(), cell.value());
        };
    }

    /** A structure value as every format writes it: ratios with 2 decimals, fractions with 3, counts whole. */
    static String number(ResultsTable.Kind kind, double v) {
        return switch (kind) {
            case RATIO -> String.format(Locale.ROOT, "%.2f", v);
            case FRACTION -> String.format(Locale.ROOT, "%.3f", v);
            case GROUPED -> String.format(Locale.ROOT, "%,d", (long) v);
            case COUNT -> String.format(Locale.ROOT, "%d", (long) v);
            default -> throw new IllegalArgumentException("not a structure column: " + kind);
        };
    }
}
