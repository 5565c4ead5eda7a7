package io.cusprun.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.prune.UnitCounts;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The results table's renderers against the format strings the console, the Markdown table and
 * results.json were written with before the table model (the reference here), on random rows:
 * values of every size, unmeasured metrics, one or three repeats, counts over a thousand.
 */
class ResultsTableTest {
    private static final String[] METHODS = {"cusprun", "wanda-sp", "random", "cusprun-general-long-name"};

    @Test
    void everyFormatWritesWhatTheReferenceFormatsWrote() throws Exception {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 40; trial++) {
            int repeats = trial % 2 == 0 ? 1 : 3;
            List<RepeatedRow> cells = new ArrayList<>();
            for (String m : METHODS) {
                for (double ratio : new double[] {0.25, 0.45}) {
                    List<ComparisonRow> runs = new ArrayList<>();
                    for (int k = 0; k < repeats; k++) runs.add(run(rnd, m, ratio));
                    cells.add(new RepeatedRow(m, ratio, runs));
                }
            }
            ComparisonRow baseline = new ComparisonRow("unpruned", 0, 0, 0, 6_294_784, 45.4, 51.9, Double.NaN);
            ResultsTable table = ResultsTable.comparison(baseline, cells);
            List<String> text = TextTable.lines(table);
            assertEquals(repeats > 1 ? repeatedHeader() : header(), text.get(0));
            assertEquals(singleLine(baseline), text.get(1));
            String md = MarkdownTable.render(table);
            List<String> mdLines = md.lines().toList();
            assertEquals(
                    "| method | ratio | achieved (blocks) | achieved (total) | parameters | expert ppl | general ppl "
                            + "| expert MC acc | FFN removed | heads removed | KV groups removed |",
                    mdLines.get(0));
            assertEquals("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", mdLines.get(1));
            JsonNode json = new ObjectMapper()
                    .readTree(JsonTable.rows(table, "vs_cusprun").toString());
            for (int i = 0; i < cells.size(); i++) {
                RepeatedRow c = cells.get(i);
                RepeatedRow ref = cells.stream()
                        .filter(r -> r.label().equals("cusprun") && r.requestedRatio() == c.requestedRatio())
                        .findFirst()
                        .orElseThrow();
                RepeatedRow reference = c == ref ? null : ref;
                assertEquals(repeats > 1 ? repeatedLine(c, reference) : singleLine(c.meanRow()), text.get(i + 2));
                assertEquals(markdownRow(c, reference), mdLines.get(i + 3));
                JsonNode row = json.get(i + 1);
                assertEquals(c.label(), row.get("method").asText());
                assertEquals(c.meanRow().parameters(), row.get("parameters").asLong());
                assertEquals(
                        c.runs().get(0).removed().ffnNeurons(),
                        row.get("removed").get("ffn_neurons").asInt());
                double mean = c.mean(ComparisonRow::expertPerplexity);
                assertEquals(
                        Double.isFinite(mean) ? mean : null,
                        row.get("expert_perplexity").isNull()
                                ? null
                                : row.get("expert_perplexity").asDouble());
                assertEquals(repeats > 1, row.has("runs"));
                if (repeats > 1 && reference != null && Double.isFinite(mean)) {
                    RepeatedRow.Difference d = c.differenceTo(reference, ComparisonRow::expertPerplexity);
                    if (Double.isFinite(d.mean())) {
                        JsonNode vs = row.get("vs_cusprun").get("expert_perplexity");
                        assertEquals(d.mean(), vs.get("difference").asDouble());
                        assertEquals(d.exceedsTwoSe(), vs.get("exceeds_2se").asBoolean());
                    }
                }
            }
        }
    }

    @Test
    void theReportOrderSortsByRatioAfterTheFixedRows() {
        Random rnd = new Random(3);
        List<ComparisonRow> runs =
                List.of(run(rnd, "wanda-sp", 0.45), run(rnd, "cusprun", 0.45), run(rnd, "wanda-sp", 0.25));
        ComparisonRow baseline = new ComparisonRow("unpruned", 0, 0, 0, 100, 1, 2, 0.5);
        ResultsTable sorted = ResultsTable.ofRuns(baseline, runs).sortedByRatio(1);
        assertEquals(
                List.of("unpruned", "wanda-sp", "cusprun", "wanda-sp"),
                sorted.rows().stream().map(ResultsTable.Row::label).toList());
        assertEquals(0.25, sorted.rows().get(1).ratio());
        String html = HtmlTable.render(sorted);
        assertTrue(html.startsWith("<table>\n<tr><th>method</th><th>ratio</th>"), html);
        assertEquals(1 + 1 + 4 + 1, html.lines().count(), html);
    }

    private static ComparisonRow run(Random rnd, String method, double ratio) {
        double ppl = rnd.nextInt(5) == 0 ? Double.NaN : 40 + rnd.nextDouble() * 100;
        double acc = rnd.nextBoolean() ? Double.NaN : rnd.nextDouble();
        UnitCounts removed = new UnitCounts(rnd.nextInt(200_000), rnd.nextInt(3_000), rnd.nextInt(40), 0, 0, 0);
        return new ComparisonRow(
                        method,
                        ratio,
                        ratio + rnd.nextGaussian() * 0.01,
                        ratio * 0.75,
                        rnd.nextLong(1, 80_000_000_000L),
                        ppl,
                        50 + rnd.nextDouble() * 10,
                        acc)
                .withRemoved(removed, List.of(removed));
    }

    // the reference: the format strings of the console and Markdown writers before the table model

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "-";
    }

    private static String singleLine(ComparisonRow r) {
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

    private static String header() {
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

    private static String repeatedHeader() {
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

    private static final List<java.util.function.ToDoubleFunction<ComparisonRow>> METRICS =
            List.of(ComparisonRow::expertPerplexity, ComparisonRow::generalPerplexity, ComparisonRow::expertAccuracy);

    private static String value(RepeatedRow row, java.util.function.ToDoubleFunction<ComparisonRow> m, String missing) {
        double mean = row.mean(m);
        if (!Double.isFinite(mean)) return missing;
        if (row.repeats() == 1) return String.format(Locale.ROOT, "%.3f", mean);
        return String.format(Locale.ROOT, "%.3f ± %.3f", mean, row.sd(m));
    }

    private static boolean marked(
            RepeatedRow c, RepeatedRow reference, java.util.function.ToDoubleFunction<ComparisonRow> m) {
        return reference != null
                && reference.repeats() == c.repeats()
                && c.differenceTo(reference, m).exceedsTwoSe();
    }

    private static String repeatedLine(RepeatedRow c, RepeatedRow reference) {
        ComparisonRow m = c.meanRow();
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT,
                "%-18s %5.2f %9.3f %9.3f %,13d",
                c.label(),
                c.requestedRatio(),
                m.achievedBlockRatio(),
                m.achievedTotalRatio(),
                m.parameters()));
        for (var metric : METRICS) {
            String v = value(c, metric, "-") + (marked(c, reference, metric) ? "*" : " ");
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

    private static String markdownRow(RepeatedRow c, RepeatedRow reference) {
        ComparisonRow m = c.meanRow();
        StringBuilder s = new StringBuilder(String.format(
                Locale.ROOT,
                "| %s | %.2f | %.3f | %.3f | %,d |",
                c.label(),
                c.requestedRatio(),
                m.achievedBlockRatio(),
                m.achievedTotalRatio(),
                m.parameters()));
        for (var metric : METRICS) {
            s.append(' ').append(value(c, metric, "–"));
            if (marked(c, reference, metric)) s.append(" *");
            s.append(" |");
        }
        s.append(String.format(
                Locale.ROOT,
                " %,d | %d | %d |",
                m.removed().ffnNeurons(),
                m.removed().queryHeads(),
                m.removed().kvGroups()));
        return s.toString();
    }
}
