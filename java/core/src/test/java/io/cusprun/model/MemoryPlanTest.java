package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.UnprunedGrams;
import io.cusprun.score.ScoreSettings;
import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compensation's terms in the memory plan (docs/memory.md, "Compensation"), on a known shape. */
class MemoryPlanTest {
    @TempDir
    Path dir;

    /** A Llama-3.2-1B-like shape: D 2048, F 8192, 16 layers, 32 heads of 64 (H d = D), 8 KV heads. */
    private ModelConfig oneB() throws IOException {
        Path file = dir.resolve("config.json");
        ModelConfig.builder(Architecture.LLAMA, 128_256, 2048, 8192, 16, 32, 8)
                .headDim(64)
                .write(file);
        return ModelConfig.read(file);
    }

    @Test
    void compensationTermsFollowTheFormula() throws IOException {
        ModelConfig c = oneB();
        long f = 8192, d = 2048, hd = 2048, layers = 16;
        int x = 3;
        long layerGrams = 8 * ((x + 1) * (f * f + hd * hd) + d * (f + hd));
        assertEquals(2_449_473_536L, layerGrams);
        assertEquals(layers * layerGrams, MemoryPlan.gramBytes(c, x, true));
        assertEquals(layerGrams, MemoryPlan.gramBytes(c, x, false));
        assertEquals(MemoryPlan.gramBytes(c, x, true), UnprunedGrams.heldBytes(c, x));

        // F > 2,048: the blocked greedy; the later X - 1 inverses beside the first's or its greedy's set
        long relevance = 24 * (x - 1) * f * f + Math.max(24 * f * f, 16 * f * f + 16 * d * f);
        assertEquals(4_831_838_208L, relevance); // docs/memory.md
        long heads = 8 * (3 * hd * hd + 2 * d * hd); // the block form on o_proj
        long refit = 16 * f * f + 48 * d * f; // N = max(F, H d) = F
        long work = Math.max(Math.max(relevance, heads), refit);
        assertEquals(relevance, work, "the greedy's working set is the larger here");
        assertEquals(layerGrams + work, MemoryPlan.compensationBytes(c, x, false, true, true));
        assertEquals((layers + 1) * layerGrams + work, MemoryPlan.compensationBytes(c, x, true, true, true));
        // the refit alone (the paper's rule with compensation): no greedy, only the refit's set
        assertEquals(layerGrams + refit, MemoryPlan.compensationBytes(c, x, false, false, true));
        assertTrue(refit < relevance);
        // the inverses each in turn: no later inverses held beside the first order
        long inTurn = Math.max(24 * f * f, 16 * f * f + 16 * d * f);
        assertEquals(1_610_612_736L, inTurn); // docs/memory.md
        assertEquals(
                layerGrams + Math.max(Math.max(inTurn, heads), refit),
                MemoryPlan.compensationBytes(c, x, false, true, false));
        // up to 2,048 neurons (the exact greedy, the dimensions in parallel) the schedule changes nothing
        Path narrow = dir.resolve("narrow.json");
        ModelConfig.builder(Architecture.LLAMA, 1000, 512, 2048, 4, 8, 2)
                .headDim(64)
                .write(narrow);
        ModelConfig n = ModelConfig.read(narrow);
        assertEquals(
                MemoryPlan.compensationBytes(n, x, false, true, true),
                MemoryPlan.compensationBytes(n, x, false, true, false));
    }

    @Test
    void thePlanCountsCompensationOnTheHost() throws IOException {
        ModelConfig c = oneB();
        long tokens = 300_000, docs = 600;
        MemorySettings roomy = MemorySettings.DEFAULTS.withBudget(1L << 50);
        MemoryPlan streamed = MemoryPlan.of(
                c,
                DType.BF16,
                LoadOptions.DEFAULTS,
                roomy,
                MemoryPlan.Work.compensate(2048, 64, 512, tokens, docs, 3, false, true));
        MemoryPlan held = MemoryPlan.of(
                c,
                DType.BF16,
                LoadOptions.DEFAULTS,
                roomy,
                MemoryPlan.Work.compensate(2048, 64, 512, tokens, docs, 3, true, true));
        assertTrue(streamed.streamed() && !streamed.prefetch(), "layer-major: one layer read at a time");
        // holding adds every layer's Grams and nothing else
        assertEquals(
                MemoryPlan.compensationBytes(c, 3, true, true, true)
                        - MemoryPlan.compensationBytes(c, 3, false, true, true),
                held.peakHost() - streamed.peakHost());
        // every document's hidden state stays resident, with the Grams and the process
        long hidden = tokens * 2048 * LoadOptions.DEFAULTS.dtype().byteSize();
        assertTrue(
                streamed.peakHost()
                        >= MemoryPlan.compensationBytes(c, 3, false, true, true) + MemoryPlan.PROCESS_BYTES + hidden,
                streamed.describe(tokens / docs));

        // a budget below it is refused, naming the smallest that works, and that one is taken
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> MemoryPlan.of(
                        c,
                        DType.BF16,
                        LoadOptions.DEFAULTS,
                        MemorySettings.DEFAULTS.withBudget(8L << 30),
                        MemoryPlan.Work.compensate(2048, 64, 512, tokens, docs, 3, false, true)));
        assertTrue(e.getMessage().contains("compensation's pass"), e.getMessage());
        String suggested = e.getMessage().replaceAll(".*--memory-budget (\\d+M)\\).*", "$1");
        MemoryPlan ok = MemoryPlan.of(
                c,
                DType.BF16,
                LoadOptions.DEFAULTS,
                MemorySettings.DEFAULTS.withBudget(MemorySettings.parseSize(suggested)),
                MemoryPlan.Work.compensate(2048, 64, 512, tokens, docs, 3, false, true));
        assertEquals(streamed.peakHost(), ok.peakHost());
    }

    /**
     * ExpertPruner plans compensation's pass before it runs: the Grams held when the plan with
     * them fits, one layer's at a time when only that fits, refused (naming the smallest budget)
     * when not even that does.
     */
    @Test
    void expertPrunerHoldsTheGramsOnlyWhereThePlanFits() throws Exception {
        Path model = Fixtures.write(dir.resolve("model"), Fixtures.spec(Fixtures.Family.LLAMA3, DType.BF16));
        List<TokenizedCorpus> docs = List.of(new TokenizedCorpus(
                new CorpusSpec(CorpusKind.LANGUAGE, "a", Path.of("a")), Fixtures.randomDocs(5, 30, 30, 30)));
        try (ExpertPruner pruner = ExpertPruner.open(model)) {
            ExpertPruner.CompensationPlan roomy = pruner.withMemory(MemorySettings.DEFAULTS.withBudget(1L << 40))
                    .compensationPlan(docs, true, 0);
            assertTrue(roomy.work().heldGrams());
            ExpertPruner.CompensationPlan tight = pruner.withMemory(
                            MemorySettings.DEFAULTS.withBudget(roomy.plan().peakHost() - 1))
                    .compensationPlan(docs, true, 0);
            assertFalse(tight.work().heldGrams());
            assertTrue(tight.plan().peakHost() < roomy.plan().peakHost());
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> pruner.withMemory(MemorySettings.DEFAULTS.withBudget(
                                    tight.plan().peakHost() - 1))
                            .compensationPlan(docs, true, 0));
            assertTrue(e.getMessage().contains("--memory-budget "), e.getMessage());
        }
    }

    /**
     * Where the streamed pass with the later ridge inverses computed ahead does not fit, ExpertPruner
     * plans them each in turn: {@code 24 (X − 1) F²} bytes less; below that it refuses.
     */
    @Test
    void theGreedysInversesGoInTurnWhereAheadDoesNotFit() throws Exception {
        int f = io.cusprun.prune.StructuredObs.EXACT_CHANNELS + 52;
        Fixtures.Spec wide = new Fixtures.Spec(
                Fixtures.Family.LLAMA3, DType.BF16, Fixtures.VOCAB, 32, 1, f, 4, 2, 16, true, 12, null);
        Path model = Fixtures.write(dir.resolve("wide"), wide);
        List<TokenizedCorpus> docs =
                List.of(Fixtures.corpus("a", 1, 3, 20), Fixtures.corpus("b", 2, 3, 20), Fixtures.corpus("c", 3, 3, 20));
        try (ExpertPruner pruner = ExpertPruner.open(model)) {
            ExpertPruner.CompensationPlan held = pruner.withMemory(roomy()).compensationPlan(docs, true, 0);
            assertTrue(held.work().heldGrams() && held.work().inversesAhead());
            ExpertPruner.CompensationPlan ahead =
                    pruner.withMemory(budget(held.plan().peakHost() - 1)).compensationPlan(docs, true, 0);
            assertFalse(ahead.work().heldGrams());
            assertTrue(ahead.work().inversesAhead());
            ExpertPruner.CompensationPlan inTurn =
                    pruner.withMemory(budget(ahead.plan().peakHost() - 1)).compensationPlan(docs, true, 0);
            assertFalse(inTurn.work().inversesAhead());
            assertEquals(
                    24L * 2 * f * f, ahead.plan().peakHost() - inTurn.plan().peakHost());
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> pruner.withMemory(budget(inTurn.plan().peakHost() - 1))
                            .compensationPlan(docs, true, 0));
            assertTrue(e.getMessage().contains("--memory-budget "), e.getMessage());
        }
    }

    private static MemorySettings budget(long bytes) {
        return MemorySettings.DEFAULTS.withBudget(bytes);
    }

    /**
     * The scored corpora a caller keeps through compensation (prune holds them for the manifest,
     * compare for every method of a draw) count in its plan, at the bytes scoring's plan gives
     * their accumulators: with them a budget that held the pass without them is refused.
     */
    @Test
    void scoredCorporaHeldThroughCompensationCountInItsPlan() throws Exception {
        Path model = Fixtures.write(dir.resolve("model"), Fixtures.spec(Fixtures.Family.LLAMA3, DType.BF16));
        List<TokenizedCorpus> docs = List.of(
                new TokenizedCorpus(
                        new CorpusSpec(CorpusKind.LANGUAGE, "a", Path.of("a")), Fixtures.randomDocs(5, 30, 30, 31)),
                new TokenizedCorpus(
                        new CorpusSpec(CorpusKind.TASK, "b", Path.of("b")), Fixtures.randomDocs(4, 20, 40, 32)));
        ScoreSettings scoring = ScoreSettings.DEFAULTS;
        try (ExpertPruner pruner = ExpertPruner.open(model)) {
            long held = io.cusprun.api.PruneData.scored(
                            pruner.scoreTokenized(docs, scoring).corpora())
                    .heapBytes();
            // what scoring's plan counts for the same two corpora's accumulators
            ModelConfig c = ModelConfig.read(model);
            MemoryPlan.Work work = MemoryPlan.Work.score(2048, 16, 40, 200, 9);
            long accumulators = MemoryPlan.of(
                                    c,
                                    DType.BF16,
                                    LoadOptions.DEFAULTS,
                                    roomy(),
                                    work.withRanks(2, scoring.bins(), false))
                            .peakHost()
                    - MemoryPlan.of(c, DType.BF16, LoadOptions.DEFAULTS, roomy(), work)
                            .peakHost();
            assertTrue(held > 0);
            assertEquals(accumulators, held);

            ExpertPruner.CompensationPlan without = pruner.withMemory(roomy()).compensationPlan(docs, true, 0);
            ExpertPruner.CompensationPlan with = pruner.withMemory(roomy()).compensationPlan(docs, true, held);
            assertEquals(without.work().heldGrams(), with.work().heldGrams());
            assertEquals(without.plan().peakHost() + held, with.plan().peakHost());
            // a budget that streamed the pass without the scores is refused with them, naming the least
            MemorySettings streamedBudget = MemorySettings.DEFAULTS.withBudget(pruner.withMemory(
                            MemorySettings.DEFAULTS.withBudget(without.plan().peakHost() - 1))
                    .compensationPlan(docs, true, 0)
                    .plan()
                    .peakHost());
            assertFalse(pruner.withMemory(streamedBudget)
                    .compensationPlan(docs, true, 0)
                    .work()
                    .heldGrams());
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> pruner.withMemory(streamedBudget).compensationPlan(docs, true, held));
            assertTrue(e.getMessage().contains("--memory-budget "), e.getMessage());
        }
    }

    private static MemorySettings roomy() {
        return MemorySettings.DEFAULTS.withBudget(1L << 40);
    }
}
