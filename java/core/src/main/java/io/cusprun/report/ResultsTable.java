package io.cusprun.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The results schema: one table of pruned models (rows) by what was measured of them (columns),
 * each metric cell with its mean, its standard deviation over the repeats and its paired
 * difference to the row it is compared with (the {@code *} mark when that exceeds twice its
 * standard error). Every format is rendered from it, each by one renderer: console text
 * ({@link TextTable}), Markdown ({@link MarkdownTable}), HTML ({@link HtmlTable}) and JSON
 * ({@link JsonTable}).
 *
 * @param columns the columns, the row label first
 * @param rows    the rows in the order they are shown
 */
public record ResultsTable(List<Column> columns, List<Row> rows) {
    public ResultsTable {
        columns = List.copyOf(columns);
        rows = List.copyOf(rows);
    }

    /** What a column holds, which decides how each format writes it. */
    public enum Kind {
        /** The row's label (method, or dimensions). */
        LABEL,
        /** A ratio asked for, two decimals. */
        RATIO,
        /** A fraction achieved, three decimals. */
        FRACTION,
        /** A whole number with thousands separators. */
        GROUPED,
        /** A whole number. */
        COUNT,
        /** A measured metric: mean (± sd with repeats), marked against the reference. */
        METRIC
    }

    /**
     * A column.
     *
     * @param key            its name in JSON
     * @param heading        its heading in Markdown and HTML
     * @param consoleHeading its (shorter) heading on the console
     * @param kind           what it holds
     * @param width          its console width for a single run (a metric takes {@link TextTable#REPEATED_WIDTH}
     *                       with repeats)
     * @param value          the value of a row ({@link ComparisonRow}); null for the label
     */
    public record Column(
            String key,
            String heading,
            String consoleHeading,
            Kind kind,
            int width,
            ToDoubleFunction<ComparisonRow> value) {}

    /**
     * A cell: the label (for {@link Kind#LABEL}) or the value (the mean over the repeats), and for
     * a metric its standard deviation and its paired difference to the reference.
     *
     * @param repeats    runs behind the value (1: a single run, no ± and no mark)
     * @param difference paired difference to the reference row, or null (single runs, the reference itself)
     */
    public record Cell(String label, double value, double sd, int repeats, RepeatedRow.Difference difference) {
        /** Whether the cell carries the mark: its difference exceeds twice its standard error. */
        public boolean marked() {
            return difference != null && difference.exceedsTwoSe();
        }

        /** {@code mean ± sd} with three decimals; the mean alone for a single run; {@code missing} when not measured. */
        public String text(String missing) {
            if (!Double.isFinite(value)) {
                return missing;
            }
            return repeats == 1
                    ? String.format(java.util.Locale.ROOT, "%.3f", value)
                    : String.format(java.util.Locale.ROOT, "%.3f ± %.3f", value, sd);
        }
    }

    /**
     * A row: one cell per column, and the runs it was computed from (every repeat's own row, for
     * JSON and the charts).
     */
    public record Row(List<Cell> cells, RepeatedRow source) {
        public Row {
            cells = List.copyOf(cells);
        }

        public String label() {
            return cells.get(0).label();
        }

        public double ratio() {
            return source.requestedRatio();
        }
    }

    /** The keys of the columns that count removed units (JSON groups them under {@code removed}). */
    public static final java.util.Set<String> REMOVED_KEYS =
            java.util.Set.of("ffn_neurons", "query_heads", "kv_groups");

    /** The comparison's columns: structure, quality, units removed. */
    public static final List<Column> COMPARISON_COLUMNS = List.of(
            new Column("method", "method", "method", Kind.LABEL, 18, null),
            new Column("ratio", "ratio", "ratio", Kind.RATIO, 5, ComparisonRow::requestedRatio),
            new Column(
                    "achieved_block_ratio",
                    "achieved (blocks)",
                    "blocks",
                    Kind.FRACTION,
                    9,
                    ComparisonRow::achievedBlockRatio),
            new Column(
                    "achieved_total_ratio",
                    "achieved (total)",
                    "total",
                    Kind.FRACTION,
                    9,
                    ComparisonRow::achievedTotalRatio),
            new Column("parameters", "parameters", "parameters", Kind.GROUPED, 13, r -> r.parameters()),
            new Column(
                    "expert_perplexity", "expert ppl", "expert ppl", Kind.METRIC, 11, ComparisonRow::expertPerplexity),
            new Column(
                    "general_perplexity",
                    "general ppl",
                    "general ppl",
                    Kind.METRIC,
                    11,
                    ComparisonRow::generalPerplexity),
            new Column("expert_acc", "expert MC acc", "expert acc", Kind.METRIC, 9, ComparisonRow::expertAccuracy),
            new Column(
                    "ffn_neurons",
                    "FFN removed",
                    "FFN removed",
                    Kind.GROUPED,
                    11,
                    r -> r.removed().ffnNeurons()),
            new Column(
                    "query_heads",
                    "heads removed",
                    "heads removed",
                    Kind.COUNT,
                    13,
                    r -> r.removed().queryHeads()),
            new Column(
                    "kv_groups",
                    "KV groups removed",
                    "KV removed",
                    Kind.COUNT,
                    10,
                    r -> r.removed().kvGroups()));

    /**
     * A comparison's table: the unpruned model first (when not null), then every cell, each
     * metric compared with {@value RepeatedTable#REFERENCE} at the same ratio.
     */
    public static ResultsTable comparison(ComparisonRow baseline, List<RepeatedRow> cells) {
        List<Row> rows = new ArrayList<>();
        if (baseline != null) {
            rows.add(row(new RepeatedRow(baseline.method(), 0, List.of(baseline)), null, COMPARISON_COLUMNS));
        }
        for (RepeatedRow c : cells) {
            rows.add(row(c, RepeatedTable.reference(c, cells), COMPARISON_COLUMNS));
        }
        return new ResultsTable(COMPARISON_COLUMNS, rows);
    }

    /** Single runs as a table (one run per row, no ± and no marks). */
    public static ResultsTable ofRuns(ComparisonRow baseline, List<ComparisonRow> runs) {
        return comparison(
                baseline,
                runs.stream()
                        .map(r -> new RepeatedRow(r.method(), r.requestedRatio(), List.of(r)))
                        .toList());
    }

    /**
     * The dimension study's table: one row per subset of the dimensions, each compared with the
     * expert scored on all of them (the last row).
     */
    public static ResultsTable dimensionStudy(List<RepeatedRow> study) {
        RepeatedRow all = RepeatedTable.allDimensions(study);
        List<Row> rows = new ArrayList<>();
        for (RepeatedRow c : study) {
            rows.add(row(c, all, COMPARISON_COLUMNS));
        }
        return new ResultsTable(COMPARISON_COLUMNS, rows);
    }

    /** One row of single-run values (the running log's line). */
    public static Row single(ComparisonRow r) {
        return row(new RepeatedRow(r.method(), r.requestedRatio(), List.of(r)), null, COMPARISON_COLUMNS);
    }

    private static Row row(RepeatedRow c, RepeatedRow reference, List<Column> columns) {
        ComparisonRow mean = c.meanRow();
        List<Cell> cells = new ArrayList<>();
        for (Column col : columns) {
            if (col.kind() == Kind.LABEL) {
                cells.add(new Cell(c.label(), Double.NaN, 0, c.repeats(), null));
            } else if (col.kind() == Kind.METRIC) {
                RepeatedRow.Difference d =
                        c.repeats() > 1 && reference != null && reference != c && reference.repeats() == c.repeats()
                                ? c.differenceTo(reference, col.value())
                                : null;
                cells.add(new Cell(null, c.mean(col.value()), c.sd(col.value()), c.repeats(), d));
            } else {
                double v = col.kind() == Kind.RATIO
                        ? c.requestedRatio()
                        : col.value().applyAsDouble(mean);
                cells.add(new Cell(null, v, 0, c.repeats(), null));
            }
        }
        return new Row(cells, c);
    }

    /** The cell of row {@code row} in the column keyed {@code key} (IllegalArgumentException if there is none). */
    public Cell cell(int row, String key) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).key().equals(key)) return rows.get(row).cells().get(i);
        }
        throw new IllegalArgumentException("no column " + key);
    }

    /** How many runs the rows were computed from (the most of any row; 1 for single runs). */
    public int repeats() {
        return rows.stream().mapToInt(r -> r.source().repeats()).max().orElse(1);
    }

    /** The same table with only the columns whose keys are listed, in this table's order. */
    public ResultsTable select(List<String> keys) {
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            if (keys.contains(columns.get(i).key())) keep.add(i);
        }
        return new ResultsTable(
                keep.stream().map(columns::get).toList(),
                rows.stream()
                        .map(r -> new Row(keep.stream().map(r.cells()::get).toList(), r.source()))
                        .toList());
    }

    /** The same table with the label column headed {@code heading} (the dimension study's "dimensions"). */
    public ResultsTable withLabelHeading(String heading) {
        List<Column> cols = new ArrayList<>(columns);
        Column l = cols.get(0);
        cols.set(0, new Column(l.key(), heading, l.consoleHeading(), l.kind(), l.width(), l.value()));
        return new ResultsTable(cols, rows);
    }

    /** The same table with the rows after the first {@code fixed} sorted by ratio, then label (the report's order). */
    public ResultsTable sortedByRatio(int fixed) {
        List<Row> sorted = new ArrayList<>(rows.subList(0, fixed));
        rows.subList(fixed, rows.size()).stream()
                .sorted(Comparator.comparingDouble(Row::ratio).thenComparing(Row::label))
                .forEach(sorted::add);
        return new ResultsTable(columns, sorted);
    }
}
