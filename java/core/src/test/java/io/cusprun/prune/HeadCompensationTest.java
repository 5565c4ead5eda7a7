package io.cusprun.prune;

import static io.cusprun.testing.Fixtures.corpus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.DType;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.Tensors;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The block form of the compensated relevance (heads, KV groups) and the o_proj refit when KV groups go. */
class HeadCompensationTest {
    @TempDir
    Path dir;

    /**
     * Each greedy step removes the block a brute-force search over every remaining block finds
     * cheapest (the ridge objective's minimum over refits of all remaining channels, solved
     * directly), at that cost; for blocks of 1 it is structured OBS's order.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2, 3})
    void greedyBlockChoiceMatchesABruteForceSearchOnATinyLayer(int size) {
        Random r = new Random(11 + size);
        int d = 3, blocks = 4, n = blocks * size, t = 40;
        double[][] w = new double[d][n], a = new double[t][n];
        for (double[] row : w) for (int k = 0; k < n; k++) row[k] = r.nextGaussian();
        // correlated channels, of unequal scale, so that compensation changes the choice
        double[] mix = new double[n];
        for (int k = 0; k < n; k++) mix[k] = r.nextGaussian();
        for (double[] row : a) {
            double common = r.nextGaussian();
            for (int k = 0; k < n; k++) row[k] = (r.nextGaussian() + 0.8 * mix[k] * common) * (1 + k % 3);
        }
        double[][] g = new double[n][n];
        for (double[] row : a) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) g[i][j] += row[i] * row[j];
        double[][] h = ridge(g);
        HeadCompensation.Greedy greedy;
        int[] obs = null;
        try (PointerScope scope = new PointerScope()) {
            greedy = HeadCompensation.greedy(CompensationTest.tensor(w), CompensationTest.tensor(g), size);
            if (size == 1)
                obs = StructuredObs.greedy(CompensationTest.tensor(w), CompensationTest.tensor(g))
                        .order();
        }
        BruteForce bf = bruteForceGreedy(w, h, size, blocks);
        double before = 0;
        for (int step = 0; step < blocks; step++) {
            assertEquals(bf.order()[step], greedy.order()[step], "step " + step);
            assertEquals(
                    bf.error()[step] - before,
                    greedy.cost()[step],
                    1e-9 * Math.max(1, bf.error()[step]),
                    "cost of step " + step);
            before = bf.error()[step];
        }
        if (obs != null) assertArrayEquals(obs, greedy.order());
    }

    @Test
    void blockSizeMustDivideTheChannels() {
        try (PointerScope scope = new PointerScope()) {
            Tensor w = torch.ones(2, 6).to(torch.ScalarType.Double);
            Tensor g = torch.eye(6).to(torch.ScalarType.Double);
            assertThrowsIllegal(() -> HeadCompensation.greedy(w, g, 4));
        }
    }

    private static void assertThrowsIllegal(Runnable r) {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, r::run);
    }

    /**
     * On a model, with one dimension, the statistics equal the brute-force greedy order on the
     * Gram of o_proj's input collected independently (the in-memory model's attention outputs), in
     * every layer, for query heads and KV groups; FFN statistics are passed through.
     */
    @ParameterizedTest
    @EnumSource(
            value = Family.class,
            names = {"LLAMA2", "LLAMA3", "QWEN2"})
    void statisticsAreTheGreedyPositionsOnTheModelsAttentionGram(Family family) throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(family, family == Family.LLAMA2 ? DType.F32 : DType.BF16));
        ModelShape shape = CheckpointPruner.shapeOf(model);
        TokenizedCorpus corpus = corpus("a", 21, 6, 30);
        UnitScores given = uniform(shape);
        UnitScores out = HeadCompensation.of(given, model, List.of(corpus));
        int layers = shape.numLayers();
        int heads = shape.layer(0).heads(), kv = shape.layer(0).kvHeads(), d = shape.headDim();
        double[][][] grams = new double[layers][heads * d][heads * d];
        try (LlamaModel m = LlamaModel.load(model)) {
            for (long[] doc : corpus.documents()) {
                try (PointerScope scope = new PointerScope()) {
                    m.hiddenStates(Batch.pack(List.of(doc)), new LayerHooks() {
                        @Override
                        public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
                            return LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE)
                                    .ffnActivation(layer, gate, up, batch);
                        }

                        @Override
                        public void attentionOutput(int layer, Tensor z, Batch batch) {
                            int n = heads * d;
                            double[] x = Tensors.toDoubles(z.reshape(z.size(0), n)
                                    .to(torch.ScalarType.Double)
                                    .contiguous());
                            int tokens = x.length / n;
                            for (int t = 0; t < tokens; t++)
                                for (int i = 0; i < n; i++)
                                    for (int j = 0; j < n; j++) grams[layer][i][j] += x[t * n + i] * x[t * n + j];
                        }
                    });
                }
            }
        }
        try (Checkpoint cp = Checkpoint.open(model);
                PointerScope scope = new PointerScope()) {
            for (int l = 0; l < layers; l++) {
                double[] o = Tensors.toDoubles(cp.tensor(ModelShape.layerPrefix(l) + "self_attn.o_proj.weight")
                        .to(torch.ScalarType.Double)
                        .contiguous());
                int n = heads * d, rows = o.length / n;
                double[][] w = new double[rows][n];
                for (int i = 0; i < rows; i++) System.arraycopy(o, i * n, w[i], 0, n);
                UnitScores.Layer got = out.layers().get(l);
                assertArrayEquals(given.layers().get(l).ffn().stat(), got.ffn().stat(), "FFN kept");
                assertArrayEquals(
                        bruteForceRanks(w, grams[l], d, heads), got.heads().stat(), 1e-12, "heads " + l);
                assertArrayEquals(
                        bruteForceRanks(w, grams[l], d * (heads / kv), kv),
                        got.groups().stat(),
                        1e-12,
                        "groups " + l);
            }
        }
    }

    /**
     * The held Grams ({@link UnprunedGrams#hold}, one pass that also serves the FFN relevance and
     * the refit) give the same head and group statistics, bit for bit, as the block form's own
     * pass: the same per-dimension Grams of o_proj's input, each divided by its corpus' tokens.
     */
    @ParameterizedTest
    @EnumSource(
            value = Family.class,
            names = {"LLAMA3", "QWEN2", "LLAMA_PRUNED"})
    void heldGramsGiveTheSameStatisticsAsTheOwnPass(Family family) throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(family, DType.BF16));
        ModelShape shape = CheckpointPruner.shapeOf(model);
        List<TokenizedCorpus> corpora = List.of(corpus("a", 41, 6, 30), corpus("b", 42, 4, 20));
        UnitScores given = uniform(shape);
        UnitScores own = HeadCompensation.of(given, model, corpora);
        UnitScores held = HeadCompensation.of(given, UnprunedGrams.hold(model, corpora));
        boolean gqa = false;
        for (int l = 0; l < shape.numLayers(); l++) {
            UnitScores.Layer a = own.layers().get(l), b = held.layers().get(l);
            assertArrayEquals(a.heads().stat(), b.heads().stat(), "heads " + l);
            assertArrayEquals(a.heads().tie(), b.heads().tie(), "heads " + l);
            assertArrayEquals(a.groups().stat(), b.groups().stat(), "groups " + l);
            assertArrayEquals(a.groups().tie(), b.groups().tie(), "groups " + l);
            assertArrayEquals(given.layers().get(l).ffn().stat(), b.ffn().stat(), "FFN kept");
            gqa |= shape.layer(l).kvHeads() < shape.layer(l).heads()
                    && shape.layer(l).kvHeads() > 1;
        }
        assertTrue(gqa, "a layer with several KV groups of several heads");
    }

    /**
     * Through the API: {@code --relevance compensated} with heads allowed gives heads and groups
     * the block form's statistic, the max over dimensions of each dimension's own (the paper's
     * intersection), keeps the FFN statistic of the FFN-only run, and with {@code --granularity
     * ffn} leaves the ablation statistic of heads untouched.
     */
    @Test
    void compensatedRelevanceRanksHeadsPerDimensionAndTakesTheMax() throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(Family.LLAMA3, DType.BF16));
        ExpertPruner pruner = ExpertPruner.open(model);
        // a second dimension of another kind of text: few distinct tokens, repeated
        List<long[]> narrow = new ArrayList<>();
        for (long[] doc : Fixtures.randomDocs(32, 24, 24, 24, 24))
            narrow.add(Arrays.stream(doc).map(t -> 10 + t % 3).toArray());
        List<TokenizedCorpus> corpora = List.of(
                corpus("a", 31, 6, 30),
                new TokenizedCorpus(new CorpusSpec(CorpusKind.DOMAIN, "b", Path.of("b")), narrow));
        var scored = pruner.scoreTokenized(corpora, io.cusprun.score.ScoreSettings.DEFAULTS)
                .corpora();
        PruneSettings comp = PruneSettings.DEFAULTS.withRelevance(Relevance.COMPENSATED);
        UnitScores ablation = (UnitScores) pruner.statistics(
                Method.CUSPRUN,
                io.cusprun.api.PruneData.scored(scored).withDocuments(corpora),
                PruneSettings.DEFAULTS.withRelevance(Relevance.ABLATION));
        UnitScores ffnOnly = (UnitScores) pruner.statistics(
                Method.CUSPRUN,
                io.cusprun.api.PruneData.scored(scored).withDocuments(corpora),
                comp.withGranularity(Granularity.FFN));
        UnitScores both = (UnitScores) pruner.statistics(
                Method.CUSPRUN,
                io.cusprun.api.PruneData.scored(scored).withDocuments(corpora),
                comp.withGranularity(Granularity.FFN_HEADS)); // FFN neurons only is the compensated default
        UnitScores a = HeadCompensation.of(ffnOnly, model, List.of(corpora.get(0)));
        UnitScores b = HeadCompensation.of(ffnOnly, model, List.of(corpora.get(1)));
        boolean differ = false;
        for (int l = 0; l < both.numLayers(); l++) {
            UnitScores.Layer got = both.layers().get(l);
            assertArrayEquals(ffnOnly.layers().get(l).ffn().stat(), got.ffn().stat(), "FFN, layer " + l);
            assertArrayEquals(
                    ablation.layers().get(l).heads().stat(),
                    ffnOnly.layers().get(l).heads().stat());
            assertArrayEquals(
                    ablation.layers().get(l).groups().stat(),
                    ffnOnly.layers().get(l).groups().stat());
            for (int u = 0; u < 2; u++) {
                double[] x = u == 0
                        ? a.layers().get(l).heads().stat()
                        : a.layers().get(l).groups().stat();
                double[] y = u == 0
                        ? b.layers().get(l).heads().stat()
                        : b.layers().get(l).groups().stat();
                double[] want = new double[x.length];
                for (int k = 0; k < x.length; k++) want[k] = Math.max(x[k], y[k]);
                double[] have = u == 0 ? got.heads().stat() : got.groups().stat();
                assertArrayEquals(want, have, "layer " + l);
                differ |= !Arrays.equals(x, y);
            }
        }
        assertTrue(differ, "the two dimensions rank some heads differently (else the max tests nothing)");
    }

    /** With compensation on, removing whole KV groups: o_proj's refit lowers the held-out error, and masked equals sliced. */
    @ParameterizedTest
    @EnumSource(
            value = Family.class,
            names = {"LLAMA3", "MISTRAL", "QWEN2"})
    void kvGroupRemovalIsRefittedAndMaskedEqualsSliced(Family family) throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(family, family == Family.MISTRAL ? DType.F32 : DType.BF16));
        ExpertPruner pruner = ExpertPruner.open(model);
        List<TokenizedCorpus> fitting = List.of(corpus("a", 1, 12, 40), corpus("b", 2, 6, 30));
        List<TokenizedCorpus> heldOut = List.of(corpus("a", 101, 8, 40), corpus("b", 102, 8, 30));
        PrunePlan plan = groupPlan(pruner.shape(), false, true);
        try (Compensation.Refit refit = Compensation.fit(model, plan, fitting)) {
            for (Compensation.LayerFit f : Compensation.evaluate(model, plan, refit, heldOut)) {
                assertNotNull(f.attention(), "layer " + f.layer() + " loses a KV group");
                assertNull(f.ffn(), "no FFN neuron goes");
                assertTrue(f.attention().errorBefore() > 0);
                assertTrue(
                        f.attention().errorAfter() < f.attention().errorBefore(),
                        "layer " + f.layer() + ": held-out o_proj error "
                                + f.attention().errorAfter() + " not below "
                                + f.attention().errorBefore());
            }
        }
        Provenance prov = new Provenance("fp", List.of(), List.of());
        Path sliced = dir.resolve("sliced"), masked = dir.resolve("masked"), plain = dir.resolve("plain");
        pruner.write(
                groupPlan(pruner.shape(), false, true),
                sliced,
                io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting));
        pruner.write(
                groupPlan(pruner.shape(), true, true),
                masked,
                io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting));
        pruner.write(
                groupPlan(pruner.shape(), false, false),
                plain,
                io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting));
        float[] a = logits(sliced, heldOut), b = logits(masked, heldOut);
        float scale = 0;
        for (float v : b) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5 * scale, "logit " + i);
        assertFalse(Arrays.equals(logits(plain, heldOut), a), "compensation changed the model");
    }

    /** Every layer loses its first KV group (its key/value head and all its query heads). */
    private static PrunePlan groupPlan(ModelShape shape, boolean masked, boolean compensate) {
        List<LayerPlan> layers = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            ModelShape.Layer s = shape.layer(l);
            int g = s.groupSize();
            layers.add(new LayerPlan(
                    l,
                    false,
                    IntStream.range(0, s.ffn()).toArray(),
                    IntStream.range(g, s.heads()).toArray(),
                    IntStream.range(1, s.kvHeads()).toArray(),
                    new int[0],
                    new int[0]));
        }
        PruneSettings settings = PruneSettings.DEFAULTS
                .withMasked(masked)
                .withCompensate(compensate)
                .withHeadUnit(HeadUnit.GROUP);
        return new PrunePlan(shape, settings, Method.RANDOM, 0, layers);
    }

    private static float[] logits(Path model, List<TokenizedCorpus> docs) throws Exception {
        try (LlamaModel m = LlamaModel.load(model);
                PointerScope scope = new PointerScope()) {
            return Tensors.toFloats(m.logits(Batch.pack(docs.get(0).documents().subList(0, 2))));
        }
    }

    private static UnitScores uniform(ModelShape shape) {
        List<UnitScores.Layer> layers = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            int f = shape.layer(l).ffn();
            double[] stat = new double[f];
            for (int k = 0; k < f; k++) stat[k] = (k * 7 % f) / (double) f;
            layers.add(new UnitScores.Layer(new UnitScores.Ranked(stat, stat.clone()), null, null, null, null));
        }
        return new UnitScores(Method.CUSPRUN, layers);
    }

    /** Each block's position in the brute-force greedy order over (count − 1), on the ridge objective. */
    private static double[] bruteForceRanks(double[][] w, double[][] g, int size, int count) {
        int[] order = bruteForceGreedy(w, ridge(g), size, count).order();
        double[] rank = new double[count];
        for (int step = 0; step < count; step++) rank[order[step]] = count == 1 ? 0 : step / (double) (count - 1);
        return rank;
    }

    /** {@code g} with the ridge the greedy adds: λ = RIDGE × the mean of the diagonal. */
    private static double[][] ridge(double[][] g) {
        int n = g.length;
        double mean = 0;
        for (int i = 0; i < n; i++) mean += g[i][i] / n;
        double[][] h = new double[n][n];
        for (int i = 0; i < n; i++) {
            h[i] = g[i].clone();
            h[i][i] += StructuredObs.RIDGE * mean;
        }
        return h;
    }

    /** The brute-force greedy: the block removed at each step, and the refit error after it. */
    private record BruteForce(int[] order, double[] error) {}

    /** At each step, the block of {@code size} columns whose removal (with the earlier ones) the refit repairs best. */
    private static BruteForce bruteForceGreedy(double[][] w, double[][] h, int size, int blocks) {
        int[] order = new int[blocks];
        double[] error = new double[blocks];
        List<Integer> removed = new ArrayList<>();
        for (int step = 0; step < blocks; step++) {
            int best = -1;
            double bestErr = Double.POSITIVE_INFINITY;
            for (int b = 0; b < blocks; b++) {
                if (removed.contains(b)) continue;
                List<Integer> cand = new ArrayList<>();
                for (int q : removed) for (int j = 0; j < size; j++) cand.add(q * size + j);
                for (int j = 0; j < size; j++) cand.add(b * size + j);
                double e = CompensationTest.bruteForceError(w, h, cand);
                if (e < bestErr) {
                    best = b;
                    bestErr = e;
                }
            }
            order[step] = best;
            error[step] = bestErr;
            removed.add(best);
        }
        return new BruteForce(order, error);
    }
}
