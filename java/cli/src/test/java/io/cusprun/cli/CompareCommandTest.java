package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.score.PlantedModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** compare end to end on the planted two-language model: table, JSON, report, errors. */
class CompareCommandTest {
    @TempDir
    static Path dir;

    static Path model, scoreA, heldA, heldB, general;

    record Run(int code, String out, String err) {}

    /** Runs the CLI on its own streams: exit code, stdout and stderr. */
    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 5);
        scoreA = Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 10, 6, 20, 11)));
        heldA = Files.writeString(
                dir.resolve("held-a.txt"), PlantedModel.text(PlantedModel.documents('a', 6, 6, 20, 12)));
        heldB = Files.writeString(
                dir.resolve("held-b.txt"), PlantedModel.text(PlantedModel.documents('b', 6, 6, 20, 13)));
        general = Files.writeString(
                dir.resolve("general.txt"),
                PlantedModel.text(PlantedModel.documents('a', 4, 6, 20, 14))
                        + PlantedModel.text(PlantedModel.documents('b', 4, 6, 20, 15)));
    }

    @Test
    void comparesEveryMethodAtEveryRatio() throws Exception {
        Path report = dir.resolve("report");
        Run r = run(
                "compare",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + scoreA,
                "--general-corpus",
                general.toString(),
                "--overlap-corpus",
                "language:b=" + heldB,
                "--ratio",
                "0.2,0.4",
                "--method",
                "cusprun,random,magnitude,wanda-sp,cusprun-general",
                "--eval-expert",
                heldA.toString(),
                "--eval-general",
                heldB.toString(),
                "--report",
                report.toString(),
                "--keep",
                dir.resolve("kept").toString(),
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        JsonNode rows = json.get("rows");
        assertEquals(10, rows.size(), "5 methods x 2 ratios");
        double unprunedExpert = json.get("unpruned").get("expert_perplexity").asDouble();
        assertTrue(unprunedExpert > 1 && Double.isFinite(unprunedExpert));
        Map<String, Double> expertAt40 = new HashMap<>();
        for (JsonNode row : rows) {
            double requested = row.get("ratio").asDouble();
            // the planner hits the ratio as closely as the unit sizes allow
            assertEquals(requested, row.get("achieved_block_ratio").asDouble(), 0.06, row.toString());
            assertTrue(row.get("parameters").asLong()
                    < json.get("unpruned").get("parameters").asLong());
            assertTrue(row.get("expert_acc").isNull(), "no multiple-choice file given");
            if (requested == 0.4) {
                expertAt40.put(
                        row.get("method").asText(), row.get("expert_perplexity").asDouble());
            }
        }
        // each method's own plan is evaluated (the planted model is random apart from its planted units,
        // so which method wins says nothing here; the pipeline's tests check what cusprun keeps)
        assertEquals(5, expertAt40.values().stream().distinct().count(), expertAt40.toString());
        assertTrue(expertAt40.values().stream().allMatch(p -> p > 1 && Double.isFinite(p)), expertAt40.toString());
        assertTrue(Files.isRegularFile(report.resolve("index.html")));
        assertTrue(Files.isRegularFile(report.resolve("overlap.png")));
        assertEquals(
                json, new ObjectMapper().readTree(report.resolve("results.json").toFile()));
        // --keep leaves every pruned model, each with its manifest
        JsonNode manifest = new ObjectMapper()
                .readTree(dir.resolve("kept/wanda-sp-40/cusprun-manifest.json").toFile());
        assertTrue(manifest.toString().contains("wanda-sp"), manifest.toString());
        // every row counts the units its kept model lost, per layer and in total, as its manifest does
        boolean someWithoutHeads = false;
        for (JsonNode row : rows) {
            JsonNode m = new ObjectMapper()
                    .readTree(dir.resolve(String.format(
                                    "kept/%s-%02d/cusprun-manifest.json",
                                    row.get("method").asText(),
                                    Math.round(row.get("ratio").asDouble() * 100)))
                            .toFile());
            assertEquals(m.get("removed"), row.get("removed"), row.toString());
            int ffn = 0;
            for (int l = 0; l < PlantedModel.LAYERS; l++) {
                JsonNode layer = m.get("layers").get(l);
                assertEquals(layer.get("removed"), row.get("removed_per_layer").get(l));
                ffn += PlantedModel.FFN - layer.get("ffn_kept").size();
            }
            assertEquals(ffn, row.get("removed").get("ffn_neurons").asInt());
            someWithoutHeads |= row.get("removed").get("query_heads").asInt() == 0
                    && row.get("removed").get("kv_groups").asInt() == 0;
        }
        assertEquals(someWithoutHeads, json.has("note"), json.toString());
        String html = Files.readString(report.resolve("index.html"));
        assertTrue(html.contains("<th>heads removed</th>") && html.contains("Removed per layer"));
    }

    @Test
    void missingEvalFileIsOneLineAndWritesNothing() {
        Path report = dir.resolve("no-report");
        Run r = run(
                "compare",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + scoreA,
                "--ratio",
                "0.3",
                "--method",
                "random",
                "--eval-expert",
                dir.resolve("absent.jsonl").toString(),
                "--eval-general",
                heldB.toString(),
                "--report",
                report.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("absent.jsonl"), r.err());
        assertFalse(Files.exists(report));
    }

    @Test
    void generalMethodWithoutGeneralCorpusIsUsageError() {
        Run r = run(
                "compare",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + scoreA,
                "--ratio",
                "0.3",
                "--method",
                "cusprun-general",
                "--eval-expert",
                heldA.toString(),
                "--eval-general",
                heldB.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--general-corpus"), r.err());
    }
}
