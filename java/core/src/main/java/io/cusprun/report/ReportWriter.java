package io.cusprun.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.AtomicOutput;
import io.cusprun.OutputPolicy;
import io.cusprun.prune.UnitCounts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Writes the HTML report: {@code index.html} plus PNG charts in one directory that opens in a
 * browser with no server. Built in a temporary sibling directory and renamed into place, so a
 * failed run leaves no half-written report.
 */
public final class ReportWriter {
    /** The generator tag in every report's head: how a report is recognised as cusprun's. */
    static final String GENERATOR = "<meta name=\"generator\" content=\"cusprun\">";

    /** A report directory: cusprun wrote it when its index.html is a cusprun report. */
    public static final OutputPolicy.Kind OUTPUT = OutputPolicy.Kind.directory("report", ReportWriter::isReport);

    /** The Markdown table of the comparison (and of the dimension study) in every report: the README's table. */
    public static final String TABLE = "table.md";

    private ReportWriter() {}

    /** The report's manifest: every other file with its size, and their fingerprint. */
    public static final String MANIFEST = "cusprun-report.json";

    /** Every file a report folder may hold: the page, its charts, the table and compare's results.json. */
    static final Set<String> FILES = Set.of(
            "index.html",
            TABLE,
            "results.json",
            "expert_perplexity.png",
            "general_perplexity.png",
            "expert_accuracy.png",
            "kept_per_layer.png",
            "overlap.png",
            "dimension_study.png");

    /**
     * Whether {@code dir} holds a cusprun report: index.html with the generator tag, and a
     * {@value #MANIFEST} whose files and fingerprint are what the folder holds (anything else:
     * NotOursException listing it).
     */
    public static boolean isReport(Path dir) throws IOException {
        Path index = dir.resolve("index.html");
        if (!Files.isRegularFile(index)) {
            return false;
        }
        JsonNode m;
        try {
            m = new ObjectMapper().readTree(dir.resolve(MANIFEST).toFile());
        } catch (IOException e) {
            throw new OutputPolicy.NotOursException("no valid " + MANIFEST);
        }
        if (m == null || !"cusprun-report/1".equals(m.path("format").asText())) {
            throw new OutputPolicy.NotOursException(MANIFEST + " is not a cusprun report manifest");
        }
        java.util.SortedMap<String, String> recorded = OutputPolicy.recordedListing(m, MANIFEST);
        OutputPolicy.checkListing(dir, recorded, Set.of(MANIFEST));
        byte[] head = new byte[4096];
        int n;
        try (java.io.InputStream in = Files.newInputStream(index)) {
            n = in.readNBytes(head, 0, head.length);
        }
        String text = new String(head, 0, n, StandardCharsets.UTF_8);
        return text.contains(GENERATOR);
    }

    public static Path write(ReportData data, Path dir) throws IOException {
        return write(data, dir, Map.of());
    }

    /**
     * Writes the report, with {@code extraFiles} (a name in {@link #FILES} to its text, e.g.
     * compare's results.json) and the manifest that lists every file; returns index.html.
     */
    public static Path write(ReportData data, Path dir, Map<String, String> extraFiles) throws IOException {
        System.setProperty("java.awt.headless", "true");
        AtomicOutput.writeDirectory(dir, tmp -> {
            StringBuilder html = new StringBuilder();
            html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
                    .append(GENERATOR)
                    .append("\n<title>")
                    .append(esc(data.title()))
                    .append("</title>\n<style>")
                    .append("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}")
                    .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;")
                    .append("text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}")
                    .append("img{max-width:100%;border:1px solid #eee;margin:0.5em 0}</style></head><body>\n")
                    .append("<h1>")
                    .append(esc(data.title()))
                    .append("</h1>\n");
            if (data.summary() != null && !data.summary().isBlank()) {
                html.append("<p>").append(esc(data.summary())).append("</p>\n");
            }
            if (!data.rows().isEmpty()) {
                html.append("<h2>Expert and general quality</h2>\n");
                if (data.repeats() > 1) {
                    html.append("<p>")
                            .append(esc(RepeatedTable.markNote(data.repeats())))
                            .append("</p>\n");
                }
                html.append(HtmlTable.render(data.table().sortedByRatio(data.baseline() == null ? 0 : 1)));
                String none = data.repeated().isEmpty()
                        ? ComparisonRow.noHeadsNote(data.rows())
                        : RepeatedTable.noHeadsNote(data.repeated());
                if (none != null) html.append("<p><strong>").append(esc(none)).append(".</strong></p>\n");
                Charts.qualityVsRatio(
                        "Expert perplexity (lower is better)",
                        "perplexity",
                        data.rows(),
                        data.baseline(),
                        ComparisonRow::expertPerplexity,
                        tmp.resolve("expert_perplexity.png"));
                Charts.qualityVsRatio(
                        "General perplexity (lower is better)",
                        "perplexity",
                        data.rows(),
                        data.baseline(),
                        ComparisonRow::generalPerplexity,
                        tmp.resolve("general_perplexity.png"));
                html.append("<img src=\"expert_perplexity.png\" alt=\"expert perplexity against ratio\">\n");
                html.append("<img src=\"general_perplexity.png\" alt=\"general perplexity against ratio\">\n");
                if (data.rows().stream().anyMatch(r -> Double.isFinite(r.expertAccuracy()))) {
                    Charts.qualityVsRatio(
                            "Expert multiple-choice accuracy",
                            "acc",
                            data.rows(),
                            data.baseline(),
                            ComparisonRow::expertAccuracy,
                            tmp.resolve("expert_accuracy.png"));
                    html.append("<img src=\"expert_accuracy.png\" alt=\"expert accuracy against ratio\">\n");
                }
            }
            if (data.keptFractionPerLayer() != null
                    && !data.keptFractionPerLayer().isEmpty()) {
                Charts.keptFraction(data.keptFractionPerLayer(), tmp.resolve("kept_per_layer.png"));
                html.append(
                        "<h2>What was kept</h2>\n<img src=\"kept_per_layer.png\" alt=\"kept fraction per layer\">\n");
            }
            if (data.rows().stream().anyMatch(r -> !r.removedPerLayer().isEmpty())) {
                html.append("<h2>Removed per layer</h2>\n<p>FFN neurons / query heads / key-value groups removed ")
                        .append("in each source layer (a dropped layer loses all of them).</p>\n")
                        .append(perLayerTable(data));
            }
            if (data.overlapLabels() != null && data.overlapLabels().size() > 1) {
                Charts.overlapHeatmap(data.overlapLabels(), data.overlap(), tmp.resolve("overlap.png"));
                html.append("<h2>Which neurons are irrelevant where</h2>\n<p>Jaccard overlap of the neurons each ")
                        .append("corpus alone would prune at the same ratio: languages and domains that share little ")
                        .append("need different experts.</p>\n<img src=\"overlap.png\" alt=\"overlap heatmap\">\n");
            }
            if (!data.dimensionStudy().isEmpty()) {
                html.append(dimensionStudy(data));
                Charts.dimensionStudy(data.dimensionStudy(), data.baseline(), tmp.resolve("dimension_study.png"));
                html.append("<img src=\"dimension_study.png\" alt=\"dimension study\">\n");
            }
            html.append("</body></html>\n");
            Files.writeString(tmp.resolve("index.html"), html.toString(), StandardCharsets.UTF_8);
            StringBuilder md = new StringBuilder(MarkdownTable.render(data.table()));
            if (data.repeats() > 1) {
                md.append('\n').append(RepeatedTable.markNote(data.repeats())).append('\n');
            }
            if (!data.dimensionStudy().isEmpty()) {
                md.append('\n').append(MarkdownTable.render(data.dimensionTable()));
                if (data.dimensionStudy().get(0).repeats() > 1) {
                    md.append('\n').append(RepeatedTable.dimensionMarkNote()).append('\n');
                }
            }
            Files.writeString(tmp.resolve(TABLE), md.toString(), StandardCharsets.UTF_8);
            for (Map.Entry<String, String> e : extraFiles.entrySet()) {
                if (!FILES.contains(e.getKey())) throw new IllegalArgumentException("not a report file: " + e.getKey());
                Files.writeString(tmp.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
            }
            // what the folder holds: --force later replaces it only if unchanged
            ObjectNode m = new ObjectMapper().createObjectNode().put("format", "cusprun-report/1");
            m.setAll(OutputPolicy.recordListing(OutputPolicy.listing(tmp, Set.of(MANIFEST))));
            Files.writeString(tmp.resolve(MANIFEST), m.toPrettyString() + "\n", StandardCharsets.UTF_8);
        });
        return dir.resolve("index.html");
    }

    /** The dimension study's section: what each subset of the expert's dimensions keeps. */
    private static String dimensionStudy(ReportData data) {
        RepeatedRow first = data.dimensionStudy().get(0);
        StringBuilder t = new StringBuilder("<h2>Dimension study</h2>\n<p>")
                .append(esc(String.format(
                        Locale.ROOT,
                        "cusprun at %.0f%% with the statistics of each single dimension, each pair and all of them "
                                + "(a unit is removed when it is irrelevant to every dimension in the set), evaluated "
                                + "on the same held-out sets%s.",
                        first.requestedRatio() * 100,
                        first.repeats() > 1
                                ? "; mean ± standard deviation over " + first.repeats() + " resamples"
                                : "")))
                .append("</p>\n")
                .append(HtmlTable.render(data.dimensionTable()));
        if (first.repeats() > 1) {
            t.append("<p>").append(esc(RepeatedTable.dimensionMarkNote())).append("</p>\n");
        }
        return t.toString();
    }

    private static String perLayerTable(ReportData data) {
        int layers = data.rows().stream()
                .mapToInt(r -> r.removedPerLayer().size())
                .max()
                .orElse(0);
        StringBuilder t = new StringBuilder("<table>\n<tr><th>method</th><th>ratio</th>");
        for (int l = 0; l < layers; l++) t.append("<th>layer ").append(l).append("</th>");
        t.append("</tr>\n");
        sorted(data).filter(r -> !r.removedPerLayer().isEmpty()).forEach(r -> {
            t.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%.2f</td>", esc(r.method()), r.requestedRatio()));
            for (UnitCounts c : r.removedPerLayer()) {
                t.append(String.format(
                        Locale.ROOT, "<td>%d / %d / %d</td>", c.ffnNeurons(), c.queryHeads(), c.kvGroups()));
            }
            t.append("</tr>\n");
        });
        return t.append("</table>\n").toString();
    }

    private static java.util.stream.Stream<ComparisonRow> sorted(ReportData data) {
        return data.rows().stream()
                .sorted(Comparator.comparingDouble(ComparisonRow::requestedRatio)
                        .thenComparing(ComparisonRow::method));
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
