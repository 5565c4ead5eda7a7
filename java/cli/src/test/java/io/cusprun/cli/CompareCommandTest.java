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

    static Path model, scoreA, scoreB, heldA, heldB, general;

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
        scoreB = Files.writeString(dir.resolve("b.txt"), PlantedModel.text(PlantedModel.documents('b', 10, 6, 20, 16)));
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
        // cusprun as asked (the compensated relevance, refitted), as in the paper and the paper's rule
        // refitted; wanda-sp as published and compensated; random, magnitude and cusprun-general once
        assertEquals(16, rows.size(), "8 rows x 2 ratios");
        java.util.List<String> labels = new java.util.ArrayList<>();
        for (JsonNode row : rows) labels.add(row.get("method").asText());
        assertEquals(
                java.util.List.of(
                        "cusprun",
                        "cusprun-paper",
                        "cusprun-paper+comp",
                        "random",
                        "magnitude",
                        "wanda-sp",
                        "wanda-sp+comp",
                        "cusprun-general"),
                labels.stream().distinct().toList());
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
        assertEquals(8, expertAt40.values().stream().distinct().count(), expertAt40.toString());
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

    /** compare on three corpora with the dimension study; more options appended. */
    static Run studyRun(String report, String... more) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
                "compare",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + scoreA,
                "--corpus",
                "language:b=" + scoreB,
                "--corpus",
                "domain:mixed=" + general,
                "--ratio",
                "0.3",
                "--method",
                "cusprun,random,magnitude",
                // one row per method, in this order (the rows of compensation are compared elsewhere)
                "--no-compensate",
                "--relevance",
                "ablation",
                "--docs",
                "6",
                "--eval-expert",
                heldA.toString(),
                "--eval-general",
                heldB.toString(),
                "--dimension-study",
                "--report",
                dir.resolve(report).toString()));
        args.addAll(java.util.List.of(more));
        return run(args.toArray(String[]::new));
    }

    @Test
    void repeatsGiveMeanAndSdOfTheirRunsAndTheFirstRepeatIsTheSingleRun() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        Run one = studyRun("report-1", "--json");
        assertEquals(0, one.code(), one.err());
        JsonNode single = mapper.readTree(one.out());
        assertFalse(single.has("repeats"), "one run: the single-run JSON");
        assertFalse(single.get("rows").get(0).has("runs"));

        // the dimension study: each corpus alone, each pair, all three, at the middle ratio
        JsonNode study = single.get("dimension_study").get("rows");
        assertEquals(7, study.size(), study.toString());
        assertEquals("[\"a\"]", study.get(0).get("dimensions").toString());
        assertEquals("[\"a\",\"b\"]", study.get(3).get("dimensions").toString());
        assertEquals("[\"a\",\"b\",\"mixed\"]", study.get(6).get("dimensions").toString());
        // all three dimensions is the expert itself: the same plan, the same numbers as cusprun's row
        JsonNode cusprun = single.get("rows").get(0);
        assertEquals("cusprun", cusprun.get("method").asText());
        for (String key : new String[] {"parameters", "expert_perplexity", "general_perplexity"}) {
            assertEquals(cusprun.get(key), study.get(6).get(key), key);
        }
        // a single language is a different expert than the other language
        assertTrue(study.get(0).get("expert_perplexity").asDouble()
                != study.get(1).get("expert_perplexity").asDouble());

        Path report = dir.resolve("report-2");
        Run two = studyRun("report-2", "--repeats", "2");
        assertEquals(0, two.code(), two.err());
        assertTrue(two.out().contains("±") && two.out().contains("SE = sd(difference)"), two.out());
        assertTrue(two.out().contains("dimension study"), two.out());
        String header = two.out().lines().findFirst().orElseThrow();
        assertTrue(header.contains("expert ppl") && header.endsWith("KV removed"), two.out());
        String md = Files.readString(report.resolve("table.md"));
        assertTrue(md.lines().findFirst().orElseThrow().endsWith("| heads removed | KV groups removed |"), md);
        JsonNode repeated = mapper.readTree(report.resolve("results.json").toFile());
        assertEquals(2, repeated.get("repeats").asInt());
        assertEquals(single.get("unpruned"), repeated.get("unpruned"), "the held-out sets are not resampled");
        JsonNode rows = repeated.get("rows");
        assertEquals(3, rows.size());
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            JsonNode runs = row.get("runs");
            assertEquals(2, runs.size());
            // repeat 1 scores the first documents, as the single run does
            assertEquals(single.get("rows").get(i), runs.get(0), "repeat 1 of 2 is the single run");
            // the cell's removed units are repeat 1's (each run keeps its own)
            assertEquals(runs.get(0).get("removed"), row.get("removed"));
            assertEquals(runs.get(0).get("removed_per_layer"), row.get("removed_per_layer"));
            for (String key : new String[] {"expert_perplexity", "general_perplexity"}) {
                double a = runs.get(0).get(key).asDouble();
                double b = runs.get(1).get(key).asDouble();
                assertEquals((a + b) / 2, row.get(key).asDouble(), 1e-9 * a, key);
                assertEquals(
                        Math.abs(a - b) / Math.sqrt(2), row.get(key + "_sd").asDouble(), 1e-9 * a, key);
            }
        }
        JsonNode cus = rows.get(0).get("runs");
        // (the planted model's planted units decide cusprun's selection whatever the documents, so
        // that the resampled documents change the expert is checked on the demo model)
        JsonNode rnd = rows.get(1).get("runs");
        assertTrue(
                rnd.get(0).get("expert_perplexity").asDouble()
                        != rnd.get(1).get("expert_perplexity").asDouble(),
                "repeat 2 seeds the random baseline with --seed + 1");
        JsonNode mag = rows.get(2);
        assertEquals("magnitude", mag.get("method").asText());
        assertEquals(0.0, mag.get("expert_perplexity_sd").asDouble(), "magnitude reads no documents");
        // the paired difference to cusprun and its standard error, from the runs
        for (int i = 1; i < rows.size(); i++) {
            JsonNode vs = rows.get(i).get("vs_cusprun").get("expert_perplexity");
            double d0 = rows.get(i).get("runs").get(0).get("expert_perplexity").asDouble()
                    - cus.get(0).get("expert_perplexity").asDouble();
            double d1 = rows.get(i).get("runs").get(1).get("expert_perplexity").asDouble()
                    - cus.get(1).get("expert_perplexity").asDouble();
            assertEquals((d0 + d1) / 2, vs.get("difference").asDouble(), 1e-9);
            assertEquals(Math.abs(d0 - d1) / 2, vs.get("se").asDouble(), 1e-9);
            assertEquals(
                    Math.abs(d0 + d1) / 2 > Math.abs(d0 - d1),
                    vs.get("exceeds_2se").asBoolean());
        }
        assertEquals(7, repeated.get("dimension_study").get("rows").size());
        JsonNode allThree = repeated.get("dimension_study").get("rows").get(6);
        assertEquals(rows.get(0).get("expert_perplexity_sd"), allThree.get("expert_perplexity_sd"));
        assertFalse(allThree.has("vs_all"), "the reference of the study has no difference to itself");
        // each subset against all three dimensions, paired over the repeats
        JsonNode pairAb = repeated.get("dimension_study").get("rows").get(3);
        double e0 = pairAb.get("runs").get(0).get("general_perplexity").asDouble()
                - allThree.get("runs").get(0).get("general_perplexity").asDouble();
        double e1 = pairAb.get("runs").get(1).get("general_perplexity").asDouble()
                - allThree.get("runs").get(1).get("general_perplexity").asDouble();
        JsonNode vsAll = pairAb.get("vs_all").get("general_perplexity");
        assertEquals((e0 + e1) / 2, vsAll.get("difference").asDouble(), 1e-9);
        assertEquals(Math.abs(e0 - e1) / 2, vsAll.get("se").asDouble(), 1e-9);
        String html = Files.readString(report.resolve("index.html"));
        assertTrue(html.contains("Dimension study") && html.contains("±"));
        assertTrue(Files.isRegularFile(report.resolve("dimension_study.png")));
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
