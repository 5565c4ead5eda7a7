package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.model.ModelConfig;
import io.cusprun.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main job on the bundled model and corpora, cut down to two methods, one ratio, a few
 * documents and two repeats so it fits the test suite; the full demo is the README's first command.
 */
class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void prunesTheBundledModelIntoAGermanTechnicalExpert() throws Exception {
        Path data = Fixtures.repositoryRoot().resolve("data");
        Path out = dir.resolve("demo");
        CompareCommandTest.Run r = CompareCommandTest.run(
                "demo",
                "--data",
                data.toString(),
                "--out",
                out.toString(),
                "--method",
                "cusprun,magnitude",
                "--ratio",
                "0.35",
                "--docs",
                "6",
                "--eval-docs",
                "6",
                "--repeats",
                "2",
                "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(
                "[\"language:de\",\"domain:technical\",\"task:qa\"]",
                json.get("expert_corpora").toString());
        JsonNode base = json.get("unpruned");
        // cusprun (compensated relevance, refitted on the scoring documents), cusprun as in the paper,
        // the paper's rule refitted, magnitude as published
        assertEquals(4, json.get("rows").size());
        assertEquals("cusprun-paper", json.get("rows").get(1).get("method").asText());
        assertEquals("cusprun-paper+comp", json.get("rows").get(2).get("method").asText());
        for (JsonNode row : json.get("rows")) {
            assertEquals(0.35, row.get("achieved_block_ratio").asDouble(), 0.03, row.toString());
            assertTrue(row.get("expert_acc").asDouble() >= 0
                    && row.get("expert_acc").asDouble() <= 1);
            // a trained model loses quality when a third of its blocks go without post-training
            assertTrue(
                    row.get("expert_perplexity").asDouble()
                            > base.get("expert_perplexity").asDouble(),
                    row.toString());
        }
        // the second repeat scores six other documents per corpus: another expert; magnitude reads no documents
        JsonNode cusprun = json.get("rows").get(0).get("runs");
        assertTrue(cusprun.get(0).get("expert_perplexity").asDouble()
                != cusprun.get(1).get("expert_perplexity").asDouble());
        assertTrue(json.get("rows").get(0).get("expert_perplexity_sd").asDouble() > 0);
        JsonNode magnitude = json.get("rows").get(3).get("runs");
        assertEquals(magnitude.get(0), magnitude.get(1));
        Path expert = out.resolve("models/cusprun-35");
        ModelConfig pruned = ModelConfig.read(expert);
        ModelConfig source = ModelConfig.read(data.resolve("demo-model"));
        assertTrue(pruned.intermediateSize() < source.intermediateSize());
        assertTrue(Files.isRegularFile(expert.resolve("cusprun-manifest.json")));
        assertTrue(Files.isRegularFile(expert.resolve("tokenizer.json")));
        assertTrue(Files.isRegularFile(out.resolve("report/index.html")));
        assertTrue(Files.isRegularFile(out.resolve("report/overlap.png")));
    }
}
