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
