package io.cusprun.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.prune.UnitCounts;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    @TempDir
    Path tmp;

    private static ReportData sample(Random rnd) {
        Map<String, double[]> kept = new LinkedHashMap<>();
        kept.put("mlp", rnd.doubles(6, 0.4, 1.0).toArray());
        kept.put("self_attn", rnd.doubles(6, 0.4, 1.0).toArray());
        List<String> labels = List.of("language:de", "language:en", "domain:technical");
        double[][] overlap = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                overlap[i][j] = i == j ? 1.0 : rnd.nextDouble();
            }
        }
        List<ComparisonRow> rows = new ArrayList<>();
        for (String m : List.of("cusprun", "random", "magnitude")) {
            for (double r : new double[] {0.25, 0.35}) {
                List<UnitCounts> perLayer = new ArrayList<>();
                for (int l = 0; l < 6; l++) {
                    int heads = m.equals("cusprun") ? 1 + rnd.nextInt(4) : 0; // only cusprun removes heads
                    perLayer.add(new UnitCounts(rnd.nextInt(700), heads, heads / 2, 0, 0, 0));
                }
                rows.add(new ComparisonRow(
                        m,
                        r,
                        r + 0.001,
                        r * 0.8,
                        1_000_000L + rnd.nextInt(1000),
                        10 + rnd.nextDouble() * 5,
                        20 + rnd.nextDouble(),
                        rnd.nextDouble(),
                        UnitCounts.sum(perLayer),
                        perLayer));
            }
        }
        ComparisonRow base = new ComparisonRow("unpruned", 0, 0, 0, 2_000_000L, 9.5, 18.0, 0.6);
        return new ReportData("Demo <expert>", "German & technical", kept, labels, overlap, rows, base);
    }

    @Test
    void writesPageAndReadableCharts() throws IOException {
        Path dir = tmp.resolve("report");
        Path index = ReportWriter.write(sample(new Random(7)), dir);
        String html = Files.readString(index);
        assertTrue(html.contains("Demo &lt;expert&gt;"), "title is escaped");
        assertTrue(html.contains("<td>magnitude</td><td>0.35</td>"), "every row is in the table");
        ReportData data = sample(new Random(7));
        for (ComparisonRow r : data.rows()) {
            UnitCounts t = r.removed();
            assertTrue(
                    html.contains(String.format(
                            Locale.ROOT,
                            "<td>%,d</td><td>%d</td><td>%d</td></tr>",
                            t.ffnNeurons(),
                            t.queryHeads(),
                            t.kvGroups())),
                    "totals of " + r);
            StringBuilder cells = new StringBuilder(
                    String.format(Locale.ROOT, "<td>%s</td><td>%.2f</td>", r.method(), r.requestedRatio()));
            for (UnitCounts c : r.removedPerLayer())
                cells.append(String.format(
                        Locale.ROOT, "<td>%d / %d / %d</td>", c.ffnNeurons(), c.queryHeads(), c.kvGroups()));
            assertTrue(html.contains(cells), "per-layer counts of " + r);
        }
        assertTrue(html.contains("no heads removed by random, magnitude: only FFN neurons"), html);
        for (String png : List.of(
                "expert_perplexity.png",
                "general_perplexity.png",
                "expert_accuracy.png",
                "kept_per_layer.png",
                "overlap.png")) {
            assertTrue(html.contains("src=\"" + png + "\""), png + " linked");
            BufferedImage img = ImageIO.read(dir.resolve(png).toFile());
            assertNotNull(img, png + " is a PNG");
            assertTrue(img.getWidth() >= 400 && img.getHeight() >= 300, png + " size");
        }
        // nothing but the report directory is left in its parent
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList());
        }
    }

    @Test
    void repeatedReportShowsSpreadMarksAndTheDimensionStudy() throws IOException {
        Random rnd = new Random(5);
        ReportData single = sample(rnd);
        List<RepeatedRow> cells = new ArrayList<>();
        for (String m : List.of("cusprun", "random")) {
            for (double r : new double[] {0.25, 0.35}) {
                List<ComparisonRow> runs = new ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    double shift = m.equals("random") ? 5 : 0; // random is clearly worse at every resample
                    // the repeats remove different counts: the table shows the first repeat's
                    UnitCounts removed = new UnitCounts(1000 + rnd.nextInt(2000), k, k / 2, 0, 0, 0);
                    runs.add(RepeatedRowTest.run(m, r, 10 + shift + k + rnd.nextDouble() * 0.1, 20, 0.3)
                            .withRemoved(removed, List.of(removed)));
                }
                cells.add(new RepeatedRow(m, r, runs));
            }
        }
        List<RepeatedRow> study = new ArrayList<>();
        for (String dims : List.of("de", "technical", "de + technical")) {
            List<ComparisonRow> runs = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                runs.add(RepeatedRowTest.run(dims, 0.35, 11 + rnd.nextDouble(), 21 + rnd.nextDouble(), 0.3));
            }
            study.add(new RepeatedRow(dims, 0.35, runs));
        }
        ReportData data = new ReportData(
                single.title(),
                single.summary(),
                single.keptFractionPerLayer(),
                single.overlapLabels(),
                single.overlap(),
                cells.stream().map(RepeatedRow::meanRow).toList(),
                single.baseline(),
                cells,
                study);
        Path dir = tmp.resolve("report");
        String html = Files.readString(ReportWriter.write(data, dir));
        assertTrue(html.contains("SE = sd(difference) / √3"), "the report says how the SE is computed");
        assertTrue(html.contains("<h2>Dimension study</h2>"));
        assertTrue(html.contains("<td>de + technical</td>"));
        BufferedImage img = ImageIO.read(dir.resolve("dimension_study.png").toFile());
        assertNotNull(img, "dimension study chart is a PNG");
        String md = Files.readString(dir.resolve(ReportWriter.TABLE));
        List<String> randomRows =
                md.lines().filter(l -> l.startsWith("| random |")).toList();
        assertEquals(2, randomRows.size(), md);
        for (String l : randomRows) {
            // the random rows differ from cusprun's by 5 with an SE near 0.05: marked in expert ppl only
            String[] cols = l.split("\\|");
            assertTrue(cols[6].contains("±") && cols[6].contains(RepeatedTable.MARK), l);
            assertFalse(cols[7].contains(RepeatedTable.MARK), l);
        }
        assertEquals(
                cells.size() + study.size(),
                md.lines().filter(l -> l.startsWith("| ") && l.contains("±")).count(),
                md);
        // the units removed close every row of the comparison: the first repeat's counts
        assertTrue(
                md.startsWith("| method |")
                        && md.lines()
                                .findFirst()
                                .orElseThrow()
                                .endsWith("| FFN removed | heads removed | KV groups removed |"),
                md);
        for (RepeatedRow c : cells) {
            UnitCounts first = c.runs().get(0).removed();
            String suffix = String.format(
                    java.util.Locale.ROOT,
                    "| %,d | %d | %d |",
                    first.ffnNeurons(),
                    first.queryHeads(),
                    first.kvGroups());
            String prefix = String.format(java.util.Locale.ROOT, "| %s | %.2f |", c.label(), c.requestedRatio());
            assertEquals(
                    1,
                    md.lines()
                            .filter(l -> l.startsWith(prefix) && l.endsWith(suffix))
                            .count(),
                    prefix + suffix + "\n" + md);
            assertTrue(
                    html.contains(String.format(
                            java.util.Locale.ROOT,
                            "<td>%,d</td><td>%d</td><td>%d</td></tr>",
                            first.ffnNeurons(),
                            first.queryHeads(),
                            first.kvGroups())),
                    "the report's repeated table counts the units too");
        }
        assertEquals(
                MarkdownTable.render(data.table()).lines().count(),
                md.lines().takeWhile(l -> !l.isBlank()).count());
        // a single-run report's table has no spread and no marks
        ReportWriter.write(single, tmp.resolve("single"));
        String singleMd = Files.readString(tmp.resolve("single").resolve(ReportWriter.TABLE));
        assertFalse(singleMd.contains("±"), singleMd);
        assertEquals(2 + 1 + single.rows().size(), singleMd.lines().count(), singleMd);
    }

    @Test
    void failedWriteLeavesNothingBehind() throws IOException {
        ReportData bad = sample(new Random(3));
        bad = new ReportData(
                bad.title(),
                bad.summary(),
                bad.keptFractionPerLayer(),
                bad.overlapLabels(),
                new double[1][1],
                bad.rows(),
                bad.baseline()); // overlap matrix too small for 3 labels
        Path dir = tmp.resolve("report");
        ReportData finalBad = bad;
        assertThrows(RuntimeException.class, () -> ReportWriter.write(finalBad, dir));
        assertFalse(Files.exists(dir));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count(), "temporary directory removed");
        }
    }
}
