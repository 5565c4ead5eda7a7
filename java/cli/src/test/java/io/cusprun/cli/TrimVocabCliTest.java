package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import io.cusprun.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code prune --trim-vocab} on the demo model from the command line: the trimmed model is
 * written, evaluated by cusprun and exported to GGUF; misused options are one-line usage errors
 * that write nothing.
 */
class TrimVocabCliTest {
    private static final Path DATA = Fixtures.repositoryRoot().resolve("data");

    @TempDir
    Path dir;

    private static String[] prune(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of(
                "prune",
                "--model",
                DATA.resolve("demo-model").toString(),
                "--corpus",
                "language:de=" + DATA.resolve("corpora/language/de/score.jsonl"),
                "--corpus",
                "task:qa=" + DATA.resolve("corpora/task/qa/score.jsonl"),
                "--docs",
                "4",
                "--ratio",
                "0.2",
                "--out",
                out.toString()));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void aTrimmedModelIsWrittenEvaluatedAndExported() throws Exception {
        Path out = dir.resolve("de");
        CompareCommandTest.Run r = CompareCommandTest.run(prune(out, "--trim-vocab", "--vocab-min-count", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("vocabulary: kept "), r.err());
        JsonNode manifest = Json.read(out.resolve("cusprun-manifest.json"));
        int kept = manifest.path("vocabulary").path("kept").asInt();
        assertEquals(2, manifest.path("vocabulary").path("min_count").asInt());
        assertEquals(
                "de",
                manifest.path("vocabulary").path("corpora").path(0).path("name").asText());
        assertEquals(1, manifest.path("vocabulary").path("corpora").size(), "only the language corpus counts");
        assertTrue(kept > 256 && kept < 3000, "kept " + kept);
        assertEquals(
                kept, Json.read(out.resolve("config.json")).path("vocab_size").asInt());

        Path held = Files.writeString(
                dir.resolve("held.txt"), "Der Befehl ls zeigt die Dateien im Verzeichnis an.\n\n这是一个测试。\n");
        CompareCommandTest.Run eval =
                CompareCommandTest.run("eval", "--model", out.toString(), "--text", held.toString(), "--json");
        assertEquals(0, eval.code(), eval.err());
        JsonNode trimmed = Json.parse(eval.out(), "eval");
        assertTrue(trimmed.path("perplexity").isNumber(), eval.out());
        // bits per byte: the summed negative log-likelihood over the file's bytes, whatever the tokenizer
        double bits = trimmed.path("nll").asDouble() * trimmed.path("tokens").asLong() / Math.log(2);
        assertEquals(bits / Files.size(held), trimmed.path("bits_per_byte").asDouble(), 1e-12);

        Path gguf = dir.resolve("de.gguf");
        CompareCommandTest.Run export =
                CompareCommandTest.run("export", "--model", out.toString(), "--out", gguf.toString(), "--dtype", "f32");
        assertEquals(0, export.code(), export.err());
        assertTrue(Files.size(gguf) > 0);
    }

    @Test
    void misusedOptionsAreOneLineUsageErrors() {
        Path out = dir.resolve("never");
        for (String[] args : List.of(
                prune(out, "--vocab-min-count", "2"),
                prune(out, "--vocab-corpus", "language:de=" + DATA.resolve("corpora/language/de/score.jsonl")),
                prune(out, "--trim-vocab", "--masked"),
                prune(out, "--trim-vocab", "--vocab-min-count", "0"),
                prune(out, "--trim-vocab", "--vocab-corpus", "language:de=" + dir.resolve("missing.jsonl")))) {
            CompareCommandTest.Run r = CompareCommandTest.run(args);
            assertEquals(2, r.code(), String.join(" ", args) + "\n" + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains("vocab") || r.err().contains("--masked"), r.err());
            assertFalse(Files.exists(out), "nothing written");
        }
    }
}
