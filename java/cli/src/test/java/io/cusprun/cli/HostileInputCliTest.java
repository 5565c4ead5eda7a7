package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.model.DType;
import io.cusprun.model.SafetensorsHeader;
import io.cusprun.model.TensorInfo;
import io.cusprun.score.PlantedModel;
import io.cusprun.testing.CheckpointFuzzer;
import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile model directories and score files through the commands, in-process: exit 1 or 2 with
 * exactly one line on stderr and no stack trace, or exit 0 with the answer of the unmutated model.
 */
class HostileInputCliTest {

    @TempDir
    static Path dir;

    static Path text;

    @BeforeAll
    static void setUp() throws IOException {
        Random r = new Random(3);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            b.append(Fixtures.WORDS.get(r.nextInt(Fixtures.WORDS.size()))).append(i % 12 == 11 ? ".\n" : " ");
        }
        text = Files.writeString(dir.resolve("text.txt"), b.toString());
    }

    static CompareCommandTest.Run run(String... args) {
        return CompareCommandTest.run(args);
    }

    /** Exit 1 or 2, one line on stderr, no stack trace; returns the line. */
    static String cleanFailure(CompareCommandTest.Run r, String what) {
        assertTrue(r.code() == 1 || r.code() == 2, what + ": exit " + r.code() + ", stderr " + r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), what + ": one stderr line: " + r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception:"), what + ": stack trace: " + r.err());
        return lines.get(0);
    }

    private static String[] command(int kind, Path model, Path out) {
        return switch (kind) {
            case 0 -> new String[] {"inspect", "--model", model.toString(), "--json"};
            case 1 -> new String[] {"eval", "--model", model.toString(), "--text", text.toString(), "--json"};
            default ->
                new String[] {
                    "score",
                    "--model",
                    model.toString(),
                    "--corpus",
                    "language:t=" + text,
                    "--out",
                    out.toString(),
                    "--no-progress",
                    "--max-tokens",
                    "32"
                };
        };
    }

    @Test
    void fuzzedModelsThroughEvalInspectAndScore() throws IOException {
        CheckpointFuzzer fuzzer = new CheckpointFuzzer(dir.resolve("fuzz"), 99);
        Map<String, String[]> baseline = new HashMap<>();
        for (Path base : fuzzer.baseDirs()) {
            String name = base.getFileName().toString().substring("base-".length());
            String[] outs = new String[2];
            for (int k = 0; k < 2; k++) {
                CompareCommandTest.Run r = run(command(k, base, null));
                assertEquals(0, r.code(), name + ": " + r.err());
                outs[k] = answer(r.out(), base);
            }
            baseline.put(name, outs);
        }
        int refused = 0;
        int loaded = 0;
        for (int i = 0; i < 45; i++) {
            Path caseDir = dir.resolve("case");
            CheckpointFuzzer.Case c = fuzzer.next(caseDir);
            int kind = i % 3;
            Path out = dir.resolve("scores-" + i);
            CompareCommandTest.Run r = run(command(kind, caseDir, out));
            if (r.code() == 0) {
                loaded++;
                if (!c.mayChange() && kind < 2) {
                    assertEquals(
                            baseline.get(c.base())[kind], answer(r.out(), caseDir), c + ": exit 0 with another answer");
                }
                if (kind == 2) {
                    assertTrue(Files.isRegularFile(out), c.toString());
                }
            } else {
                refused++;
                String line = cleanFailure(r, c.toString());
                assertFalse(line.contains("header length") && c.mutation().contains("etc/passwd"), line);
            }
        }
        assertTrue(refused > 20, "refused " + refused + ", loaded " + loaded);
    }

    /** The output without the model's path and file sizes (padding or metadata may change those, not the model). */
    private static String answer(String out, Path model) {
        return out.replace(model.toString(), "MODEL").replaceAll("\"(file_)?bytes\":\\d+", "");
    }

    /** Overwrites every element of an F32 tensor. */
    static void fill(Path file, String tensor, float value) throws IOException {
        SafetensorsHeader h = SafetensorsHeader.read(file);
        TensorInfo t = h.tensor(tensor);
        ByteBuffer b = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            b.putFloat(value);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(b.flip(), h.dataStart() + t.begin());
        }
    }

    @Test
    void nanWeightsStopEvalScoreAndMagnitudePruning() throws IOException {
        Path model = Fixtures.write(dir.resolve("nan"), Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32));
        fill(model.resolve("model.safetensors"), "model.layers.1.self_attn.o_proj.weight", Float.NaN);
        String tensor = "model.layers.1.self_attn.o_proj.weight";
        assertTrue(cleanFailure(run(command(1, model, null)), "eval").contains(tensor));
        assertTrue(cleanFailure(run(command(2, model, dir.resolve("nan.scores"))), "score")
                .contains(tensor));
        assertFalse(Files.exists(dir.resolve("nan.scores")));
        Path pruned = dir.resolve("nan-pruned");
        assertTrue(cleanFailure(
                        run(
                                "prune",
                                "--model",
                                model.toString(),
                                "--method",
                                "magnitude",
                                "--ratio",
                                "0.3",
                                "--out",
                                pruned.toString()),
                        "prune")
                .contains(tensor));
        assertFalse(Files.exists(pruned));
    }

    @Test
    void overflowingActivationsStopEval() throws IOException {
        Path model = Fixtures.write(dir.resolve("overflow"), Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32));
        fill(model.resolve("model.safetensors"), "model.layers.0.mlp.down_proj.weight", 3e38f);
        String line = cleanFailure(run(command(1, model, null)), "eval");
        assertTrue(line.contains("document 1") && line.contains("log-likelihood"), line);
    }

    @Test
    void inspectRefusesWhatEvalRefuses() throws IOException {
        Path model = Fixtures.write(dir.resolve("layers"), Fixtures.spec(Fixtures.Family.LLAMA3, DType.F32));
        Path cfg = model.resolve("config.json");
        ObjectNode c = (ObjectNode) new ObjectMapper().readTree(cfg.toFile());
        c.put("num_hidden_layers", 1);
        Files.writeString(cfg, c.toString());
        String inspect = cleanFailure(run(command(0, model, null)), "inspect");
        String eval = cleanFailure(run(command(1, model, null)), "eval");
        assertTrue(inspect.contains("model.layers.1.") && inspect.contains("config.json has 1 layers"), inspect);
        assertEquals(inspect.substring(inspect.indexOf(':')), eval.substring(eval.indexOf(':')));
    }

    @Test
    void badScoreFilesAreRefusedByMergeAndPrune() throws IOException {
        Path model = PlantedModel.write(dir.resolve("planted"), 13);
        Path corpus =
                Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 6, 4, 20, 1)));
        Path good = dir.resolve("good.scores");
        CompareCommandTest.Run r = run(
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + corpus,
                "--out",
                good.toString(),
                "--no-progress");
        assertEquals(0, r.code(), r.err());
        Object[][] patches = {
            {"mlp.rank_max", 4, Float.NaN},
            {"mlp.rank_max", 4, 2.0f},
            {"self_attn.head_rank_hist", 4, -1},
            {"mlp.relevance_sum", 8, Double.POSITIVE_INFINITY}
        };
        for (Object[] p : patches) {
            Path bad = dir.resolve("bad-" + p[0] + ".scores");
            Files.copy(good, bad, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            SafetensorsHeader h = SafetensorsHeader.read(bad);
            TensorInfo t = h.tensor("a/model.layers.1." + p[0]);
            ByteBuffer v = ByteBuffer.allocate((int) p[1]).order(ByteOrder.LITTLE_ENDIAN);
            if (p[2] instanceof Float f) {
                v.putFloat(f);
            } else if (p[2] instanceof Integer n) {
                v.putInt(n);
            } else {
                v.putDouble((Double) p[2]);
            }
            try (FileChannel ch = FileChannel.open(bad, StandardOpenOption.WRITE)) {
                ch.write(v.flip(), h.dataStart() + t.begin());
            }
            String merge = cleanFailure(
                    run(
                            "merge",
                            good.toString(),
                            bad.toString(),
                            "--out",
                            dir.resolve("m").toString()),
                    "merge " + p[0]);
            assertTrue(merge.contains(bad.toString()) && merge.contains("corpus a"), merge);
            assertFalse(Files.exists(dir.resolve("m")));
            String prune = cleanFailure(
                    run(
                            "prune",
                            "--model",
                            model.toString(),
                            "--scores",
                            bad.toString(),
                            "--ratio",
                            "0.3",
                            "--out",
                            dir.resolve("p").toString()),
                    "prune " + p[0]);
            assertTrue(prune.contains(bad.toString()), prune);
            assertFalse(Files.exists(dir.resolve("p")));
        }
    }
}
