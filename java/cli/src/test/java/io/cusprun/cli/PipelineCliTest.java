package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.ModelConfig;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.score.PlantedModel;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** score / merge / prune end to end on the planted model, and their one-line errors. */
class PipelineCliTest {
    @TempDir
    static Path dir;

    static Path model, textA, textB, scoresA, scoresB;

    record Run(int code, String err) {}

    static Run run(String command, String... args) {
        String[] line = new String[args.length + 1];
        line[0] = command;
        System.arraycopy(args, 0, line, 1, args.length);
        CompareCommandTest.Run r = CompareCommandTest.run(line);
        return new Run(r.code(), r.err());
    }

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 13);
        textA = Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 8, 4, 20, 1)));
        Path b = Files.createDirectories(dir.resolve("b"));
        Files.writeString(b.resolve("1.txt"), PlantedModel.text(PlantedModel.documents('b', 4, 4, 20, 2)));
        StringBuilder jsonl = new StringBuilder();
        for (long[] d : PlantedModel.documents('b', 4, 4, 20, 3)) {
            jsonl.append("{\"text\": \"")
                    .append(PlantedModel.text(java.util.List.of(d)).trim())
                    .append("\"}\n");
        }
        Files.writeString(b.resolve("2.jsonl"), jsonl);
        textB = b;
        scoresA = dir.resolve("a.safetensors");
        scoresB = dir.resolve("b.safetensors");
        assertEquals(
                0,
                run(
                                "score",
                                "--model",
                                model.toString(),
                                "--corpus",
                                "language:a=" + textA,
                                "--out",
                                scoresA.toString(),
                                "--no-progress",
                                "--batch-tokens",
                                "40")
                        .code());
        assertEquals(
                0,
                run(
                                "score",
                                "--model",
                                model.toString(),
                                "--corpus",
                                "domain:b=" + textB,
                                "--out",
                                scoresB.toString(),
                                "--no-progress")
                        .code());
    }

    @Test
    void scoreFilesCarryCorporaAndSettings() throws Exception {
        ScoreSet a = ScoreFile.read(scoresA);
        assertEquals(8, a.corpus("a").documents());
        assertEquals(8, ScoreFile.read(scoresB).corpus("b").documents()); // folder: .txt then .jsonl
        assertFalse(Files.exists(dir.resolve("a.safetensors.partial")));
    }

    @Test
    void shardsMergeIntoTheFullRun() throws Exception {
        for (int i = 0; i < 2; i++) {
            assertEquals(
                    0,
                    run(
                                    "score",
                                    "--model",
                                    model.toString(),
                                    "--corpus",
                                    "language:a=" + textA,
                                    "--out",
                                    dir.resolve("s" + i).toString(),
                                    "--shard",
                                    i + "/2",
                                    "--no-progress",
                                    "--batch-tokens",
                                    "40",
                                    "--devices",
                                    "cpu,cpu")
                            .code());
        }
        Path merged = dir.resolve("merged.safetensors");
        Run m = run("merge", dir.resolve("s1").toString(), dir.resolve("s0").toString(), "--out", merged.toString());
        assertEquals(0, m.code(), m.err);
        assertTrue(ScoreFile.read(merged).sameAs(ScoreFile.read(scoresA)));
        Run again = run(
                "merge",
                dir.resolve("s0").toString(),
                dir.resolve("s0").toString(),
                "--out",
                dir.resolve("bad").toString());
        assertEquals(1, again.code());
        assertOneLine(again.err, "overlap");
        assertFalse(Files.exists(dir.resolve("bad")));
    }

    @Test
    void pruneWritesAnExpertAndDryRunWritesNothing() throws Exception {
        Path out = dir.resolve("expert");
        Run r = run(
                "prune",
                "--model",
                model.toString(),
                "--scores",
                scoresA.toString(),
                scoresB.toString(),
                "--ratio",
                "0.3",
                "--out",
                out.toString());
        assertEquals(0, r.code(), r.err);
        JsonNode manifest = new ObjectMapper()
                .readTree(out.resolve(CheckpointPruner.MANIFEST).toFile());
        assertEquals(2, manifest.get("corpora").size());
        assertEquals(0.3, manifest.get("achieved").get("block_ratio").asDouble(), 0.05);
        try (LlamaModel m = LlamaModel.load(out)) {
            assertEquals(
                    manifest.get("layers").get(0).get("ffn_kept").size(),
                    m.config().intermediateSize());
        }
        Path dry = dir.resolve("dry");
        assertEquals(
                0,
                run(
                                "prune",
                                "--model",
                                model.toString(),
                                "--scores",
                                scoresA.toString(),
                                "--ratio",
                                "0.3",
                                "--out",
                                dry.toString(),
                                "--dry-run")
                        .code());
        assertFalse(Files.exists(dry));
        Run exists = run(
                "prune",
                "--model",
                model.toString(),
                "--scores",
                scoresA.toString(),
                "--ratio",
                "0.3",
                "--out",
                out.toString());
        assertEquals(2, exists.code());
        assertOneLine(exists.err, "--force");
    }

    /**
     * prune's summary and --json count FFN neurons, query heads and KV groups per layer and in
     * total, and say in one line when no head goes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"0.05,query", "0.45,group"})
    void pruneAccountsForEveryModuleAndSaysWhenNoHeadGoes(String ratioAndUnit) throws Exception {
        String ratio = ratioAndUnit.split(",")[0], unit = ratioAndUnit.split(",")[1];
        String[] line = {
            "prune",
            "--model",
            model.toString(),
            "--scores",
            scoresA.toString(),
            "--ratio",
            ratio,
            "--head-unit",
            unit,
            "--dry-run"
        };
        CompareCommandTest.Run text = CompareCommandTest.run(line);
        String[] withJson = java.util.Arrays.copyOf(line, line.length + 1);
        withJson[line.length] = "--json";
        CompareCommandTest.Run json = CompareCommandTest.run(withJson);
        assertEquals(0, text.code(), text.err());
        assertEquals(0, json.code(), json.err());
        JsonNode plan = new ObjectMapper().readTree(json.out());
        int ffn = 0, heads = 0, kv = 0;
        for (JsonNode layer : plan.get("layers")) {
            JsonNode r = layer.get("removed");
            ffn += r.get("ffn_neurons").asInt();
            heads += r.get("query_heads").asInt();
            kv += r.get("kv_groups").asInt();
            assertTrue(layer.get("cuts").get("ffn_neurons").has("last_removed"), layer.toString());
        }
        JsonNode total = plan.get("removed");
        assertEquals(ffn, total.get("ffn_neurons").asInt());
        assertEquals(heads, total.get("query_heads").asInt());
        assertEquals(kv, total.get("kv_groups").asInt());
        assertEquals(
                PlantedModel.LAYERS * PlantedModel.HEADS,
                plan.get("source_units").get("query_heads").asInt());
        assertTrue(
                text.out()
                        .contains(String.format(
                                "removed units: FFN neurons %d of %d, query heads %d of %d, KV groups %d of %d",
                                ffn,
                                PlantedModel.LAYERS * PlantedModel.FFN,
                                heads,
                                PlantedModel.LAYERS * PlantedModel.HEADS,
                                kv,
                                PlantedModel.LAYERS * PlantedModel.KV_HEADS)),
                text.out());
        boolean noHeads = heads == 0 && kv == 0;
        // 5% of the blocks is less than one head; 45% takes group 1, silent on the scored text
        assertEquals(ratio.equals("0.05"), noHeads, plan.toString());
        long lines =
                text.out().lines().filter(l -> l.startsWith("no heads removed")).count();
        assertEquals(noHeads ? 1 : 0, lines, text.out());
        assertEquals(noHeads, plan.has("note"), plan.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"random", "magnitude", "wanda-sp", "flap", "shortgpt", "cusprun-general"})
    void baselinesGoThroughTheSameWriter(String method) throws Exception {
        Path out = dir.resolve("base-" + method);
        Run r = run(
                "prune",
                "--model",
                model.toString(),
                "--method",
                method,
                "--ratio",
                "0.4",
                "--corpus",
                "language:a=" + textA,
                "--out",
                out.toString(),
                "--mode",
                "per-layer");
        assertEquals(0, r.code(), r.err);
        ModelConfig cfg = ModelConfig.read(out);
        JsonNode manifest = new ObjectMapper()
                .readTree(out.resolve(CheckpointPruner.MANIFEST).toFile());
        assertEquals(method, manifest.get("method").asText());
        if (method.equals("shortgpt"))
            assertEquals(1, cfg.numHiddenLayers()); // one of two layers is 40%+ of the blocks
        // every method's manifest counts what went: whole layers for shortgpt, units for the others
        JsonNode removed = manifest.get("removed");
        assertEquals(
                PlantedModel.LAYERS - cfg.numHiddenLayers(),
                removed.get("layers").asInt());
        int ffn = 0;
        for (JsonNode layer : manifest.get("layers")) {
            ffn += layer.get("removed").get("ffn_neurons").asInt();
            JsonNode cut = layer.get("cuts").get(method.equals("shortgpt") ? "layer" : "ffn_neurons");
            assertEquals(
                    layer.get("removed")
                            .get(method.equals("shortgpt") ? "layers" : "ffn_neurons")
                            .asInt(),
                    cut.get("removed").asInt(),
                    layer.toString());
        }
        assertEquals(ffn, removed.get("ffn_neurons").asInt());
        assertTrue(ffn > 0, manifest.toString());
        try (LlamaModel m = LlamaModel.load(out)) {
            assertEquals(cfg.numHiddenLayers(), m.numLayers());
        }
    }

    @Test
    void neuronGranularityWritesAMaskedCheckpoint() throws Exception {
        Path scores = dir.resolve("neurons.safetensors");
        assertEquals(
                0,
                run(
                                "score",
                                "--model",
                                model.toString(),
                                "--corpus",
                                "language:a=" + textA,
                                "--out",
                                scores.toString(),
                                "--no-progress",
                                "--neurons")
                        .code());
        Path out = dir.resolve("neurons-masked");
        Run r = run(
                "prune",
                "--model",
                model.toString(),
                "--scores",
                scores.toString(),
                "--ratio",
                "0.2",
                "--granularity",
                "neurons",
                "--masked",
                "--out",
                out.toString());
        assertEquals(0, r.code(), r.err);
        JsonNode layer0 = new ObjectMapper()
                .readTree(out.resolve(CheckpointPruner.MANIFEST).toFile())
                .get("layers")
                .get(0);
        assertTrue(layer0.has("qk_pairs_zeroed")
                || layer0.has("vo_zeroed")
                || layer0.get("ffn_kept").size() < PlantedModel.FFN);
        assertEquals(
                CheckpointPruner.shapeOf(model).totalParams(),
                CheckpointPruner.shapeOf(out).totalParams());
        Run unmasked = run(
                "prune",
                "--model",
                model.toString(),
                "--scores",
                scores.toString(),
                "--ratio",
                "0.2",
                "--granularity",
                "neurons",
                "--out",
                dir.resolve("x").toString());
        assertEquals(2, unmasked.code());
        assertOneLine(unmasked.err, "--masked");
    }

    @Test
    void badInputGivesOneLineErrorsAndNoOutput() throws Exception {
        Path out = dir.resolve("never.safetensors");
        Run missing = run(
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "language:x=" + dir.resolve("nope.txt"),
                "--out",
                out.toString(),
                "--no-progress");
        assertEquals(1, missing.code());
        assertOneLine(missing.err, "not found");
        Run kind = run(
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "dialect:x=" + textA,
                "--out",
                out.toString(),
                "--no-progress");
        assertEquals(2, kind.code());
        assertOneLine(kind.err, "kind");
        assertFalse(Files.exists(out));

        Path other = PlantedModel.write(dir.resolve("other"), 99);
        Path pruned = dir.resolve("never-model");
        Run foreign = run(
                "prune",
                "--model",
                other.toString(),
                "--scores",
                scoresA.toString(),
                "--ratio",
                "0.3",
                "--out",
                pruned.toString());
        assertEquals(1, foreign.code());
        assertOneLine(foreign.err, "another model");
        assertFalse(Files.exists(pruned));
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary output left");
        }
    }

    static void assertOneLine(String err, String contains) {
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.contains(contains), err);
    }
}
