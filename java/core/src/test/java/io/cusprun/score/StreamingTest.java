package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.eval.ScoreRequest;
import io.cusprun.eval.TokenScorer;
import io.cusprun.model.Batch;
import io.cusprun.model.Decoder;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.StreamedDecoder;
import io.cusprun.prune.LayerScores;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.prune.UnitScores;
import io.cusprun.testing.Fixtures;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The layer-streamed mode gives the in-memory answers: bit-identical hidden states, logits and
 * log-likelihoods, scores (rank statistics and exact sums, also through shards and a resumed
 * run) and calibration statistics, on every supported family, with chunks that split the
 * batches unevenly.
 */
class StreamingTest {
    @TempDir
    static Path dir;

    static List<Fixtures.Spec> families() {
        return Fixtures.committed();
    }

    /** A streamed plan whose chunks hold about {@code batches} batches of {@code cost} bytes each. */
    static MemoryPlan plan(Decoder model, boolean prefetch, double batches, long cost) {
        long perToken = (long) model.config().hiddenSize() * 4;
        return new MemoryPlan(true, prefetch, 0, 0, perToken, 0, (long) (batches * cost), 0, 0, false);
    }

    static List<Batch> batches(long seed, int... lengths) {
        List<Batch> out = new ArrayList<>();
        List<long[]> docs = Fixtures.randomDocs(seed, lengths);
        for (int i = 0; i < docs.size(); i += 2) {
            out.add(Batch.pack(docs.subList(i, Math.min(docs.size(), i + 2))));
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("families")
    void streamedDecoderGivesTheResidentModelsActivations(Fixtures.Spec spec) throws Exception {
        Path model = Fixtures.write(dir.resolve("decoder"), spec);
        List<Batch> batches = batches(spec.seed(), 7, 13, 5, 9, 16, 3, 11, 8, 4); // 5 batches of uneven size
        List<ScoreRequest> requests = new ArrayList<>();
        for (long[] d : Fixtures.randomDocs(spec.seed() + 1, 12, 6, 17, 9, 3)) requests.add(new ScoreRequest(d, 1));
        try (LlamaModel resident = LlamaModel.load(model)) {
            List<float[]> want = hidden(resident, batches);
            List<float[]> wantLogits = logits(resident, batches);
            double[] wantLl = new TokenScorer(resident, 20).logLikelihoods(requests);
            for (boolean prefetch : new boolean[] {false, true}) {
                MemoryPlan p = plan(resident, prefetch, 2.5, 10L * spec.hiddenSize() * 4);
                try (StreamedDecoder streamed = StreamedDecoder.open(model, LoadOptions.DEFAULTS, p)) {
                    assertTrue(p.chunks(batches).size() >= 2, "the plan splits the batches");
                    List<float[]> got = hidden(streamed, batches);
                    for (int b = 0; b < batches.size(); b++) {
                        assertArrayEquals(want.get(b), got.get(b), spec.name() + " batch " + b);
                    }
                    List<float[]> gotLogits = logits(streamed, batches);
                    for (int b = 0; b < batches.size(); b++) {
                        assertArrayEquals(wantLogits.get(b), gotLogits.get(b), spec.name() + " logits " + b);
                    }
                    assertArrayEquals(wantLl, new TokenScorer(streamed, 20).logLikelihoods(requests));
                }
            }
        }
    }

    static List<float[]> hidden(Decoder d, List<Batch> batches) {
        float[][] out = new float[batches.size()][];
        d.run(
                batches,
                b -> LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE),
                (b, h) -> out[b] = io.cusprun.model.Tensors.toFloats(h));
        return List.of(out);
    }

    static List<float[]> logits(Decoder d, List<Batch> batches) {
        float[][] out = new float[batches.size()][];
        d.run(batches, b -> LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE), (b, h) -> {
            try (PointerScope s = new PointerScope()) {
                Tensor l = d.project(h).to(torch.ScalarType.Float);
                out[b] = io.cusprun.model.Tensors.toFloats(l);
            }
        });
        return List.of(out);
    }

    @ParameterizedTest
    @MethodSource("families")
    void streamedScoresAreBitIdentical(Fixtures.Spec spec) throws Exception {
        Path model = Fixtures.write(dir.resolve("score"), spec);
        List<TokenizedCorpus> corpora = List.of(
                new TokenizedCorpus(
                        new CorpusSpec(CorpusKind.LANGUAGE, "a", dir),
                        Fixtures.randomDocs(spec.seed(), 9, 14, 5, 20, 7, 11, 3, 16)),
                new TokenizedCorpus(
                        new CorpusSpec(CorpusKind.TASK, "b", dir),
                        Fixtures.randomDocs(spec.seed() + 7, 12, 4, 18, 6, 10)));
        ScoreSettings settings = ScoreSettings.DEFAULTS
                .withBins(8)
                .withBatchTokens(24)
                .withBatchDocs(3)
                .withNeurons(true);
        try (ScoreTarget target = ScoreTarget.open(model, RelevanceBackends.byName("native"))) {
            ScoreSet reference = Scorer.score(target, corpora, settings);
            // a budget whose chunk holds about 2.5 batches: uneven chunks
            Scorer.Options roomy = Scorer.Options.DEFAULTS.withMemory(
                    MemorySettings.DEFAULTS.withStream(true).withBudget(1L << 40));
            MemoryPlan p = Scorer.plans(target, corpora, settings, roomy).get("cpu");
            assertTrue(p.streamed());
            long budget = p.fixedBytes() + (long) (2.5 * p.batchCost(24, 3));
            Scorer.Options streamed = Scorer.Options.DEFAULTS.withMemory(
                    MemorySettings.DEFAULTS.withStream(true).withBudget(budget));
            MemoryPlan tight = Scorer.plans(target, corpora, settings, streamed).get("cpu");
            assertTrue(tight.chunkBytes() < 3 * p.batchCost(24, 3), "chunks of a few batches: " + tight);

            ScoreSet got = Scorer.run(target, corpora, settings, streamed).scores();
            assertTrue(got.sameAs(reference), () -> spec.name() + ": " + ExactnessTest.describeDiff(got, reference));

            // two streamed workers, shards merged, and a resumed run stay exact
            ScoreSet merged = null;
            for (int i : new int[] {1, 0}) {
                ScoreSet shard = Scorer.run(
                                target,
                                corpora,
                                settings,
                                streamed.withMemory(MemorySettings.DEFAULTS
                                                .withStream(true)
                                                .withBudget(2 * budget))
                                        .withDevices(List.of("cpu", "cpu"))
                                        .withShard(ShardSpec.parse(i + "/2")))
                        .scores();
                merged = merged == null ? shard : merged.merge(shard);
            }
            ScoreSet mergedFinal = merged;
            assertTrue(mergedFinal.sameAs(reference), () -> ExactnessTest.describeDiff(mergedFinal, reference));
            Path partial = dir.resolve(spec.name() + ".partial");
            Scorer.Result first = Scorer.run(
                    target,
                    corpora,
                    settings,
                    streamed.withPartial(partial, false).withStopAfter(2));
            assertFalse(first.complete());
            ScoreSet resumed = Scorer.run(target, corpora, settings, streamed.withPartial(partial, true))
                    .scores();
            assertTrue(resumed.sameAs(reference), () -> ExactnessTest.describeDiff(resumed, reference));
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void streamedCalibrationGivesTheSameStatistics(Fixtures.Spec spec) throws Exception {
        Path model = Fixtures.write(dir.resolve("calibration"), spec);
        List<TokenizedCorpus> calibration = List.of(new TokenizedCorpus(
                new CorpusSpec(CorpusKind.DOMAIN, "c", dir),
                Fixtures.randomDocs(spec.seed() + 3, 30, 12, 25, 8, 19, 4)));
        ExpertPruner resident = ExpertPruner.open(model);
        // a budget just above the smallest: chunks of a few batches
        ExpertPruner streamed = ExpertPruner.open(model)
                .withMemory(MemorySettings.DEFAULTS.withStream(true).withBudget(1L << 40));
        for (Method m : new Method[] {Method.WANDA_SP, Method.FLAP, Method.SHORTGPT}) {
            PruneStatistics want = resident.statistics(
                    m,
                    io.cusprun.api.PruneData.documents(calibration),
                    io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
            PruneStatistics got = streamed.statistics(
                    m,
                    io.cusprun.api.PruneData.documents(calibration),
                    io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
            assertSameStatistics(want, got, spec.name() + " " + m.label());
        }
    }

    static void assertSameStatistics(PruneStatistics want, PruneStatistics got, String what) {
        if (want instanceof LayerScores w) {
            assertArrayEquals(w.scores(), ((LayerScores) got).scores(), what);
            return;
        }
        List<UnitScores.Layer> a = ((UnitScores) want).layers(), b = ((UnitScores) got).layers();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            UnitScores.Layer x = a.get(i), y = b.get(i);
            for (UnitScores.Ranked[] pair :
                    new UnitScores.Ranked[][] {{x.ffn(), y.ffn()}, {x.heads(), y.heads()}, {x.groups(), y.groups()}}) {
                if (pair[0] == null) continue;
                assertArrayEquals(pair[0].stat(), pair[1].stat(), what + " layer " + i);
                assertArrayEquals(pair[0].tie(), pair[1].tie(), what + " layer " + i);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("families")
    void aBudgetBelowOneLayerAndOneBatchNamesTheSmallestThatWorks(Fixtures.Spec spec) throws Exception {
        Path model = Fixtures.write(dir.resolve("budget"), spec);
        MemoryPlan.Work work = MemoryPlan.Work.eval(64, 32, 1000, 20);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> io.cusprun.model.Decoders.plan(
                        model,
                        LoadOptions.DEFAULTS,
                        MemorySettings.DEFAULTS.withStream(false).withBudget(1 << 20),
                        work));
        String msg = e.getMessage();
        assertTrue(msg.startsWith("memory budget 1.0 MB is too small"), msg);
        String suggested = msg.replaceAll(".*--memory-budget (\\d+M)\\).*", "$1");
        MemoryPlan ok = io.cusprun.model.Decoders.plan(
                model,
                LoadOptions.DEFAULTS,
                MemorySettings.DEFAULTS.withStream(true).withBudget(MemorySettings.parseSize(suggested)),
                work);
        assertTrue(ok.streamed());
        MemoryPlan roomy = io.cusprun.model.Decoders.plan(
                model,
                LoadOptions.DEFAULTS,
                MemorySettings.DEFAULTS.withStream(false).withBudget(1L << 34),
                work);
        assertFalse(roomy.streamed(), "a model that fits runs in memory");
        assertTrue(Map.of().isEmpty());
    }
}
