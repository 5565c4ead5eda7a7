package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.score.PlantedModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --stream}, {@code --memory-budget} and {@code --dry-run} on every command that runs the
 * model: the streamed run writes the same bytes (score files, pruned checkpoints) and prints the
 * same numbers (eval, compare) as the in-memory one; a budget too small is one line, exit 2.
 */
class StreamingCliTest {
    @TempDir
    static Path dir;

    static Path model, corpus, held;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 5);
        corpus = Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 12, 6, 20, 21)));
        held = Files.writeString(dir.resolve("held.txt"), PlantedModel.text(PlantedModel.documents('b', 6, 6, 20, 22)));
    }

    static CompareCommandTest.Run run(String... args) {
        return CompareCommandTest.run(args);
    }

    @Test
    void scoreAndPruneWriteTheSameBytesStreamed() throws Exception {
        for (String mode : new String[] {"memory", "stream"}) {
            String[] extra = mode.equals("stream") ? new String[] {"--stream"} : new String[0];
            CompareCommandTest.Run s = run(concat(
                    new String[] {
                        "score",
                        "--model",
                        model.toString(),
                        "--corpus",
                        "language:a=" + corpus,
                        "--out",
                        dir.resolve("scores-" + mode + ".safetensors").toString(),
                        "--batch-tokens",
                        "40",
                        "--no-progress"
                    },
                    extra));
            assertEquals(0, s.code(), s.err());
            CompareCommandTest.Run p = run(concat(
                    new String[] {
                        "prune",
                        "--model",
                        model.toString(),
                        "--corpus",
                        "language:a=" + corpus,
                        "--ratio",
                        "0.3",
                        "--out",
                        dir.resolve("pruned-" + mode).toString()
                    },
                    extra));
            assertEquals(0, p.code(), p.err());
        }
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("scores-memory.safetensors")),
                Files.readAllBytes(dir.resolve("scores-stream.safetensors")));
        assertArrayEquals(
                Files.readAllBytes(dir.resolve("pruned-memory/model.safetensors")),
                Files.readAllBytes(dir.resolve("pruned-stream/model.safetensors")));
    }

    @Test
    void evalAndCompareGiveTheSameNumbersStreamed() throws Exception {
        JsonNode[] evals = new JsonNode[2];
        JsonNode[] compares = new JsonNode[2];
        for (int i = 0; i < 2; i++) {
            String[] extra = i == 1 ? new String[] {"--stream"} : new String[0];
            CompareCommandTest.Run e = run(concat(
                    new String[] {"eval", "--model", model.toString(), "--text", held.toString(), "--json"}, extra));
            assertEquals(0, e.code(), e.err());
            evals[i] = JSON.readTree(e.out());
            CompareCommandTest.Run c = run(concat(
                    new String[] {
                        "compare",
                        "--model",
                        model.toString(),
                        "--corpus",
                        "language:a=" + corpus,
                        "--ratio",
                        "0.3",
                        "--method",
                        "cusprun,wanda-sp,shortgpt",
                        "--eval-expert",
                        corpus.toString(),
                        "--eval-general",
                        held.toString(),
                        "--report",
                        dir.resolve("report" + i).toString(),
                        "--json"
                    },
                    extra));
            assertEquals(0, c.code(), c.err());
            compares[i] = JSON.readTree(c.out()).get("rows");
        }
        assertEquals(
                evals[0].get("perplexity").asDouble(),
                evals[1].get("perplexity").asDouble(),
                0.0);
        assertTrue(compares[0].size() >= 3);
        assertEquals(compares[0], compares[1]);
    }

    @Test
    void dryRunShowsThePlanAndABudgetTooSmallIsOneLine() {
        CompareCommandTest.Run plan = run(
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + corpus,
                "--out",
                dir.resolve("never.safetensors").toString(),
                "--dry-run",
                "--stream",
                "--memory-budget",
                "2G");
        assertEquals(0, plan.code(), plan.err());
        assertTrue(plan.out().contains("mode: layer-streamed"), plan.out());
        assertTrue(plan.out().contains("estimated peak: host"), plan.out());
        assertFalse(Files.exists(dir.resolve("never.safetensors")));
        CompareCommandTest.Run resident =
                run("eval", "--model", model.toString(), "--text", held.toString(), "--dry-run");
        assertTrue(resident.out().contains("mode: in memory"), resident.out());
        CompareCommandTest.Run small =
                run("eval", "--model", model.toString(), "--text", held.toString(), "--memory-budget", "10M");
        assertEquals(2, small.code());
        assertEquals(1, small.err().strip().lines().count(), small.err());
        assertTrue(small.err().contains("is too small") && small.err().contains("--memory-budget "), small.err());
        CompareCommandTest.Run bad =
                run("eval", "--model", model.toString(), "--text", held.toString(), "--memory-budget", "lots");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--memory-budget: not a size: lots"), bad.err());
    }

    /**
     * A budget too small for the compensation pass that follows scoring is refused before the
     * scoring (by {@code compare}, before its first evaluation too), in one line naming that pass;
     * without compensation the same budget gets as far as the model's own check.
     */
    @Test
    void aBudgetTooSmallForCompensationIsRefusedBeforeTheScoring() {
        CliInputs inputs = new CliInputs(model, corpus, held, null, null);
        String[] prune = inputs.prune(dir.resolve("never-pruned"), "cusprun", "--memory-budget", "10M");
        CompareCommandTest.Run compensated = run(prune);
        assertEquals(2, compensated.code(), compensated.err());
        assertEquals(1, compensated.err().strip().lines().count(), compensated.err());
        assertTrue(compensated.err().contains("compensation's pass"), compensated.err());
        CompareCommandTest.Run plain = run(concat(prune, new String[] {"--no-compensate", "--relevance", "ablation"}));
        assertEquals(2, plain.code(), plain.err());
        assertTrue(plain.err().contains("one layer and one batch"), plain.err());
        assertFalse(Files.exists(dir.resolve("never-pruned")));

        String[] compare = inputs.compareWith(
                "cusprun,wanda-sp", "--report", dir.resolve("never-compared").toString(), "--memory-budget", "10M");
        CompareCommandTest.Run compared = run(compare);
        assertEquals(2, compared.code(), compared.err());
        assertEquals(1, compared.err().strip().lines().count(), compared.err());
        assertTrue(compared.err().contains("compensation's pass"), compared.err());
        CompareCommandTest.Run plainCompare =
                run(concat(compare, new String[] {"--no-compensate", "--relevance", "ablation"}));
        assertEquals(2, plainCompare.code(), plainCompare.err());
        assertTrue(plainCompare.err().contains("one layer and one batch"), plainCompare.err());
        assertFalse(Files.exists(dir.resolve("never-compared")));
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
