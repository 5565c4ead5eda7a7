package io.cusprun.api;

import static io.cusprun.testing.Fixtures.corpus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.DType;
import io.cusprun.model.ModelConfig;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.Relevance;
import io.cusprun.prune.SpilledGrams;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ScoreSettings;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Grams too big to hold are spilled to disk by the compensated relevance's pass when a refit
 * follows, and the refit reads them back: the pruned model's bytes are those of the held Grams
 * and of a second pass, and the model runs over the documents once.
 */
class SpilledGramsPruneTest {
    @TempDir
    Path dir;

    private enum Grams {
        /** Held in memory (the tiny model's fit under the threshold). */
        HELD,
        /** Not held: spilled by the relevance's pass. */
        SPILLED,
        /** Not held and no room to spill: every reader runs the model again. */
        STREAMED
    }

    private record Run(byte[] weights, byte[] config, Path spilled) {}

    /**
     * The default prune (compensated relevance, refit) with the Grams held, spilled and streamed:
     * the same model bytes. Spilled, the files are there from the relevance's pass until close,
     * one per layer; with no room the pass says so on the progress stream, naming the bytes and where.
     * Not held, the relevance's pass and the refit draw a bar over the layers on that stream;
     * held (the quick case), none.
     */
    @ParameterizedTest
    @EnumSource(
            value = Granularity.class,
            names = {"FFN", "FFN_HEADS"})
    void heldSpilledAndStreamedGramsGiveTheSameModel(Granularity granularity) throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(Family.LLAMA3, DType.BF16));
        List<TokenizedCorpus> docs = List.of(corpus("a", 1, 10, 40), corpus("b", 2, 6, 30), corpus("c", 3, 4, 50));
        PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.3).withGranularity(granularity);
        assertEquals(Relevance.COMPENSATED, settings.relevance());
        assertTrue(settings.compensate());
        ByteArrayOutputStream heldErr = new ByteArrayOutputStream(), spilledErr = new ByteArrayOutputStream();
        Run held = prune(model, docs, settings, Grams.HELD, "held-" + granularity, stream(heldErr));
        Run spilled = prune(model, docs, settings, Grams.SPILLED, "spilled-" + granularity, stream(spilledErr));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Run streamed = prune(model, docs, settings, Grams.STREAMED, "streamed-" + granularity, stream(err));
        assertNull(held.spilled());
        assertNull(streamed.spilled());
        assertNotNull(spilled.spilled());
        assertArrayEquals(held.weights(), spilled.weights(), "spilled Grams: the held model's bytes");
        assertArrayEquals(held.weights(), streamed.weights(), "a second pass: the held model's bytes");
        assertArrayEquals(held.config(), spilled.config());
        long bytes = SpilledGrams.spilledBytes(ModelConfig.read(model), docs.size());
        String line = err.toString(StandardCharsets.UTF_8);
        assertTrue(line.contains(String.format(java.util.Locale.ROOT, "%,d bytes", bytes)), line);
        assertTrue(line.contains(Path.of(System.getProperty("java.io.tmpdir")).toString()), line);
        assertEquals(
                1, line.lines().filter(s -> s.startsWith("cusprun: the Grams")).count(), line);

        int layers = ModelConfig.read(model).numHiddenLayers();
        for (String bars : List.of(spilledErr.toString(StandardCharsets.UTF_8), line)) {
            for (String task : List.of("relevance 100%", "refit 100%")) {
                assertTrue(bars.contains(task), bars);
            }
            assertTrue(bars.contains(layers + "/" + layers + " layers"), bars);
        }
        String quick = heldErr.toString(StandardCharsets.UTF_8);
        assertFalse(quick.contains(" layers ("), quick);
    }

    private static PrintStream stream(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    /**
     * Statistics, plan, write; the spill directory (null: none) as it was after the statistics,
     * checked to hold one file per layer through the write and to be gone after close.
     */
    private Run prune(Path model, List<TokenizedCorpus> docs, PruneSettings settings, Grams grams, String name)
            throws Exception {
        return prune(model, docs, settings, grams, name, null);
    }

    /** As above, with the pruner's notes on {@code notes}. */
    private Run prune(
            Path model, List<TokenizedCorpus> docs, PruneSettings settings, Grams grams, String name, PrintStream notes)
            throws Exception {
        Path out = dir.resolve(name);
        Path spilled;
        try (ExpertPruner pruner = ExpertPruner.open(model).withProgress(notes)) {
            if (grams != Grams.HELD) pruner.heldGramsBytes = 0;
            if (grams == Grams.STREAMED) pruner.usableSpace = d -> 0;
            assertEquals(
                    grams == Grams.HELD,
                    pruner.compensationPlan(docs, true, 0).work().heldGrams());
            List<CorpusScores> scored =
                    pruner.scoreTokenized(docs, ScoreSettings.DEFAULTS).corpora();
            PrunePlan plan = pruner.plan(
                    pruner.statistics(Method.CUSPRUN, PruneData.scored(scored).withDocuments(docs), settings),
                    settings);
            spilled = pruner.spilledGrams();
            int layers = pruner.shape().numLayers();
            if (spilled != null) assertEquals(layers, files(spilled), "one file per layer after the relevance");
            pruner.write(
                    plan,
                    out,
                    WriteOptions.of(pruner.provenance(PruneData.scored(scored))).withDocuments(docs));
            assertEquals(spilled, pruner.spilledGrams(), "the refit reads the same spill");
            if (spilled != null) assertEquals(layers, files(spilled));
        }
        if (spilled != null) assertFalse(Files.exists(spilled), "deleted on close");
        return new Run(
                Files.readAllBytes(out.resolve("model.safetensors")),
                Files.readAllBytes(out.resolve("config.json")),
                spilled);
    }

    private static long files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".grams")).count();
        }
    }

    /**
     * The refit reads the spill instead of running the model again: with the spilled files gone it
     * fails. A prune whose statistic is the paper's rule, or that does not refit, spills nothing.
     */
    @Test
    void theRefitReadsTheSpillAndOnlyARefitAfterTheCompensatedRelevanceSpills() throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(Family.QWEN2, DType.BF16));
        List<TokenizedCorpus> docs = List.of(corpus("a", 11, 8, 40), corpus("b", 12, 6, 30));
        try (ExpertPruner pruner = ExpertPruner.open(model)) {
            pruner.heldGramsBytes = 0;
            List<CorpusScores> scored =
                    pruner.scoreTokenized(docs, ScoreSettings.DEFAULTS).corpora();
            PruneData data = PruneData.scored(scored).withDocuments(docs);
            WriteOptions write =
                    WriteOptions.of(pruner.provenance(PruneData.scored(scored))).withDocuments(docs);
            for (PruneSettings settings : List.of(
                    PruneSettings.DEFAULTS.withRatio(0.3).withRelevance(Relevance.ABLATION),
                    PruneSettings.DEFAULTS.withRatio(0.3).withCompensate(false))) {
                PrunePlan plan = pruner.plan(pruner.statistics(Method.CUSPRUN, data, settings), settings);
                assertNull(pruner.spilledGrams(), settings.relevance() + ", compensate " + settings.compensate());
                pruner.write(plan, dir.resolve("out-" + settings.relevance() + "-" + settings.compensate()), write);
                assertNull(pruner.spilledGrams());
            }
            PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.3);
            PrunePlan plan = pruner.plan(pruner.statistics(Method.CUSPRUN, data, settings), settings);
            Path spilled = pruner.spilledGrams();
            assertNotNull(spilled);
            try (Stream<Path> s = Files.list(spilled)) {
                for (Path f : s.toList()) Files.delete(f);
            }
            IOException missing = assertThrows(IOException.class, () -> pruner.write(plan, dir.resolve("out"), write));
            assertTrue(missing.getMessage().contains(spilled.toString()), missing.getMessage());
        }
    }
}
