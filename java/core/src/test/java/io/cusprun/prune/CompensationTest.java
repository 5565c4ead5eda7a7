package io.cusprun.prune;

import static io.cusprun.testing.Fixtures.corpus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.DType;
import io.cusprun.model.LayerStepper;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.Tensors;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Compensation (docs/method.md, "Compensation") on random models of every family. */
class CompensationTest {
    @TempDir
    Path dir;

    /** Families with a stock layout (the per-layer sized fixture is covered by the same code). */
    enum Case {
        LLAMA2_F32(Family.LLAMA2, DType.F32),
        LLAMA3_BF16(Family.LLAMA3, DType.BF16),
        MISTRAL_F32(Family.MISTRAL, DType.F32),
        QWEN2_BF16(Family.QWEN2, DType.BF16);

        final Family family;
        final DType dtype;

        Case(Family family, DType dtype) {
            this.family = family;
            this.dtype = dtype;
        }
    }

    /** Two dimensions of unequal size: the fit's documents. */
    private static List<TokenizedCorpus> fitting() {
        return List.of(corpus("a", 1, 12, 40), corpus("b", 2, 6, 30));
    }

    /** Other documents of the same kind, never seen by the fit. */
    private static List<TokenizedCorpus> heldOut() {
        return List.of(corpus("a", 101, 8, 40), corpus("b", 102, 8, 30));
    }

    /**
     * A plan removing a random 40 % of every layer's FFN neurons and, with {@code heads}, the
     * last query head of every group (so o_proj is refitted too).
     */
    private static PrunePlan plan(ModelShape shape, boolean heads, boolean masked, boolean compensate) {
        Random r = new Random(7);
        List<LayerPlan> layers = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            ModelShape.Layer s = shape.layer(l);
            List<Integer> ffn = new ArrayList<>();
            for (int k = 0; k < s.ffn(); k++) ffn.add(k);
            java.util.Collections.shuffle(ffn, r);
            int[] keptFfn = ffn.subList(0, s.ffn() * 3 / 5).stream()
                    .mapToInt(Integer::intValue)
                    .sorted()
                    .toArray();
            int g = s.groupSize();
            int[] keptHeads = IntStream.range(0, s.heads()).toArray();
            int[] kv = IntStream.range(0, s.kvHeads()).toArray();
            if (heads && g > 1) {
                keptHeads = IntStream.range(0, s.heads())
                        .filter(h -> h % g != g - 1)
                        .toArray();
            } else if (heads) { // multi-head attention: the last head goes with its group
                keptHeads = IntStream.range(0, s.heads() - 1).toArray();
                kv = IntStream.range(0, s.kvHeads() - 1).toArray();
            }
            layers.add(new LayerPlan(l, false, keptFfn, keptHeads, kv, new int[0], new int[0]));
        }
        PruneSettings settings = PruneSettings.DEFAULTS.withMasked(masked).withCompensate(compensate);
        return new PrunePlan(shape, settings, Method.RANDOM, 0, layers);
    }

    private Path model(Case c) throws Exception {
        return Fixtures.write(dir, Fixtures.spec(c.family, c.dtype));
    }

    /**
     * A layer-major pass frees each layer's weights when the caller's scope for it closes, not at
     * some later garbage collection (over an 8B model's 32 layers that held gigabytes beyond the
     * memory plan); without a scope, asking for a layer is an error rather than a leak.
     */
    @Test
    void aSteppersLayerIsFreedWithTheCallersScope() throws Exception {
        Path model = model(Case.LLAMA3_BF16);
        List<Batch> batches = List.of(Batch.pack(fitting().get(0).documents().subList(0, 2)));
        try (LayerStepper stepper = LayerStepper.open(model, LoadOptions.DEFAULTS, batches)) {
            io.cusprun.model.LayerWeights w;
            try (PointerScope layer = new PointerScope()) {
                w = stepper.layer(0);
                stepper.advance(0, w);
                assertFalse(w.down().isNull(), "alive while its scope is open");
            }
            assertTrue(w.down().isNull() && w.qkv().isNull(), "freed with the scope");
            assertThrows(IllegalStateException.class, () -> stepper.layer(1));
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void refitReducesEveryLayersErrorOnHeldOutTokens(Case c) throws Exception {
        Path model = model(c);
        PrunePlan plan = plan(CheckpointPruner.shapeOf(model), true, false, true);
        for (boolean onPrunedInputs : new boolean[] {false, true}) {
            try (Compensation.Refit refit = onPrunedInputs
                    ? Compensation.fitOnPrunedInputs(model, plan, fitting())
                    : Compensation.fit(model, plan, fitting())) {
                assertReducesHeldOutError(model, plan, refit);
            }
        }
    }

    private static void assertReducesHeldOutError(Path model, PrunePlan plan, Compensation.Refit refit)
            throws Exception {
        List<Compensation.LayerFit> held = Compensation.evaluate(model, plan, refit, heldOut());
        assertEquals(plan.layers().size(), held.size());
        for (Compensation.LayerFit f : held) {
            assertNotNull(f.ffn(), "layer " + f.layer() + " removes FFN neurons");
            assertNotNull(f.attention(), "layer " + f.layer() + " removes heads");
            for (Compensation.ModuleFit m : List.of(f.ffn(), f.attention())) {
                assertTrue(m.errorBefore() > 0, "removal costs something in layer " + f.layer());
                assertTrue(
                        m.errorAfter() < m.errorBefore(),
                        "layer " + f.layer() + ": held-out error " + m.errorAfter() + " not below " + m.errorBefore());
            }
        }
        // on the documents it was fitted to, the refit is the least-squares optimum: far below removal
        for (Compensation.LayerFit f : refit.layers()) {
            assertTrue(f.ffn().errorAfter() < 0.9 * f.ffn().errorBefore(), "fit, layer " + f.layer());
        }
    }

    /**
     * The Grams held for every plan (one pass serves a comparison) give, bit for bit, the refit
     * and the compensated relevance of the layer-major stream that holds one layer at a time.
     */
    @ParameterizedTest
    @EnumSource(Case.class)
    void heldGramsEqualTheLayerMajorStream(Case c) throws Exception {
        Path model = model(c);
        PrunePlan plan = plan(CheckpointPruner.shapeOf(model), true, false, true);
        UnprunedGrams held = UnprunedGrams.hold(model, fitting());
        try (Compensation.Refit streamed = Compensation.fit(model, plan, fitting());
                Compensation.Refit fromHeld = Compensation.fit(model, plan, held);
                PointerScope scope = new PointerScope()) {
            assertEquals(streamed.layers(), fromHeld.layers());
            assertEquals(streamed.tokens(), fromHeld.tokens());
            for (int l = 0; l < plan.layers().size(); l++) {
                for (String p : List.of("mlp.down_proj.weight", "self_attn.o_proj.weight")) {
                    String name = ModelShape.layerPrefix(l) + p;
                    assertArrayEquals(
                            Tensors.toFloats(streamed.keptColumns(name)),
                            Tensors.toFloats(fromHeld.keptColumns(name)),
                            name);
                }
            }
        }
        ModelShape shape = CheckpointPruner.shapeOf(model);
        UnitScores ablation = BaselineStatistics.random(shape, 3);
        UnitScores a = CompensatedRelevance.of(ablation, model, fitting(), true);
        UnitScores b = CompensatedRelevance.of(ablation, held, true);
        for (int l = 0; l < shape.numLayers(); l++) {
            assertArrayEquals(
                    a.layers().get(l).ffn().stat(), b.layers().get(l).ffn().stat(), "layer " + l);
            assertArrayEquals(
                    a.layers().get(l).ffn().tie(), b.layers().get(l).ffn().tie(), "layer " + l);
        }
    }

    @Test
    void noCompensateReproducesTheUncompensatedBytesAndCompensationChangesOnlyTheRefittedColumns() throws Exception {
        Path model = model(Case.QWEN2_BF16);
        ExpertPruner pruner = ExpertPruner.open(model);
        PrunePlan off = plan(pruner.shape(), true, false, false);
        PrunePlan on = plan(pruner.shape(), true, false, true);
        Provenance prov = new Provenance("fp", List.of(), List.of());
        Path plain = dir.resolve("plain"), noComp = dir.resolve("no-comp"), comp = dir.resolve("comp");
        CheckpointPruner.write(model, off, plain, prov, false); // the writer without any refit
        pruner.write(off, noComp, io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting()));
        pruner.write(on, comp, io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting()));
        for (String f : List.of("model.safetensors", "config.json")) {
            assertArrayEquals(Files.readAllBytes(plain.resolve(f)), Files.readAllBytes(noComp.resolve(f)), f);
        }
        JsonNode manifest = new ObjectMapper()
                .readTree(noComp.resolve(CheckpointPruner.MANIFEST).toFile());
        assertFalse(manifest.get("compensation").get("applied").asBoolean());
        try (Checkpoint a = Checkpoint.open(plain);
                Checkpoint b = Checkpoint.open(comp)) {
            assertEquals(a.tensorNames(), b.tensorNames());
            for (String name : a.tensorNames()) {
                try (PointerScope scope = new PointerScope()) {
                    boolean refitted = name.endsWith("down_proj.weight") || name.endsWith("o_proj.weight");
                    float[] x = Tensors.toFloats(a.tensor(name)), y = Tensors.toFloats(b.tensor(name));
                    assertEquals(!refitted, Arrays.equals(x, y), name);
                }
            }
        }
        manifest = new ObjectMapper()
                .readTree(comp.resolve(CheckpointPruner.MANIFEST).toFile());
        JsonNode c = manifest.get("compensation");
        assertTrue(c.get("applied").asBoolean());
        assertEquals(StructuredObs.RIDGE, c.get("ridge").asDouble());
        assertEquals(18, c.get("documents").asLong());
        assertEquals(12 * 40 + 6 * 30, c.get("tokens").asLong());
        for (JsonNode l : c.get("layers")) {
            for (String p : List.of("down_proj", "o_proj")) {
                JsonNode fit = l.get(p);
                assertTrue(fit.get("lambda").asDouble() > 0, p);
                assertTrue(
                        fit.get("error_after").asDouble()
                                < fit.get("error_before").asDouble(),
                        p);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void maskedEqualsSlicedWithCompensation(Case c) throws Exception {
        Path model = model(c);
        ExpertPruner pruner = ExpertPruner.open(model);
        Provenance prov = new Provenance("fp", List.of(), List.of());
        Path sliced = dir.resolve("sliced"), masked = dir.resolve("masked"), plain = dir.resolve("plain");
        pruner.write(
                plan(pruner.shape(), true, false, true),
                sliced,
                io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting()));
        pruner.write(
                plan(pruner.shape(), true, true, true),
                masked,
                io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting()));
        pruner.write(
                plan(pruner.shape(), true, false, false),
                plain,
                io.cusprun.api.WriteOptions.of(prov).withDocuments(fitting()));
        float[] a = logits(sliced), b = logits(masked);
        float scale = 0;
        for (float v : b) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5 * scale, "logit " + i);
        assertFalse(Arrays.equals(logits(plain), a), "compensation changed the model");
    }

    private static float[] logits(Path model) throws Exception {
        try (LlamaModel m = LlamaModel.load(model);
                PointerScope scope = new PointerScope()) {
            return Tensors.toFloats(
                    m.logits(Batch.pack(heldOut().get(0).documents().subList(0, 2))));
        }
    }

    /** The layer-major pass computes, layer for layer, what the in-memory model computes. */
    @ParameterizedTest
    @EnumSource(Case.class)
    void layerMajorStreamEqualsTheInMemoryModel(Case c) throws Exception {
        Path model = model(c);
        List<Batch> batches = List.of(
                Batch.pack(fitting().get(0).documents().subList(0, 3)),
                Batch.pack(fitting().get(1).documents().subList(0, 2)));
        try (LayerStepper stepper = LayerStepper.open(model, LoadOptions.DEFAULTS, batches);
                LlamaModel m = LlamaModel.load(model);
                PointerScope scope = new PointerScope()) {
            for (int l = 0; l < stepper.config().numHiddenLayers(); l++) {
                try (PointerScope layer = new PointerScope()) {
                    stepper.advance(l, stepper.layer(l));
                }
            }
            for (int b = 0; b < batches.size(); b++) {
                float[] streamed = Tensors.toFloats(stepper.finalHidden(b));
                float[] inMemory = Tensors.toFloats(m.hiddenStates(
                        batches.get(b), io.cusprun.model.LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE)));
                assertArrayEquals(inMemory, streamed, "batch " + b);
            }
        }
    }

    /**
     * Each greedy step removes the channel a brute-force search over every remaining channel finds
     * cheapest (the ridge objective's minimum over refits of the rest, solved directly), at that cost.
     */
    @Test
    void greedyRelevanceMatchesABruteForceSearchOnATinyLayer() {
        Random r = new Random(3);
        int d = 3, n = 6, t = 24;
        double[][] w = new double[d][n], a = new double[t][n];
        for (double[] row : w) for (int k = 0; k < n; k++) row[k] = r.nextGaussian();
        for (double[] row : a) for (int k = 0; k < n; k++) row[k] = r.nextGaussian() * (1 + k % 3);
        double[][] g = new double[n][n];
        for (double[] row : a) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) g[i][j] += row[i] * row[j];
        double mean = 0;
        for (int i = 0; i < n; i++) mean += g[i][i] / n;
        double lambda = StructuredObs.RIDGE * mean;
        double[][] h = new double[n][n];
        for (int i = 0; i < n; i++) {
            h[i] = g[i].clone();
            h[i][i] += lambda;
        }
        StructuredObs.Greedy greedy;
        try (PointerScope scope = new PointerScope()) {
            greedy = StructuredObs.greedy(tensor(w), tensor(g));
        }
        List<Integer> removed = new ArrayList<>();
        double before = 0;
        for (int step = 0; step < n; step++) {
            int best = -1;
            double bestErr = Double.POSITIVE_INFINITY;
            for (int k = 0; k < n; k++) {
                if (removed.contains(k)) continue;
                List<Integer> cand = new ArrayList<>(removed);
                cand.add(k);
                double e = bruteForceError(w, h, cand);
                if (e < bestErr) {
                    best = k;
                    bestErr = e;
                }
            }
            assertEquals(best, greedy.order()[step], "step " + step);
            assertEquals(bestErr - before, greedy.cost()[step], 1e-9 * Math.max(1, bestErr), "cost of step " + step);
            removed.add(best);
            before = bestErr;
        }
    }

    /**
     * The manifest's errors against tr(ΔW G ΔWᵀ) / tr(W G Wᵀ) summed entry by entry: before, ΔW is
     * −W on the removed columns; after, the refitted weight's difference. W has 1,100 rows, so the
     * sums run over three row blocks.
     */
    @Test
    void relativeErrorsFollowTheTraceFormula() {
        Random r = new Random(9);
        int d = 1100, n = 12, t = 40;
        double[][] w = new double[d][n], changed = new double[d][n], a = new double[t][n];
        for (double[] row : a) for (int k = 0; k < n; k++) row[k] = r.nextGaussian() * (1 + k % 3);
        double[][] g = new double[n][n];
        for (double[] row : a) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) g[i][j] += row[i] * row[j];
        long[] kept = {0, 2, 3, 5, 7, 8, 11};
        boolean[] in = new boolean[n];
        for (long k : kept) in[(int) k] = true;
        for (int i = 0; i < d; i++) {
            for (int k = 0; k < n; k++) {
                w[i][k] = r.nextGaussian();
                changed[i][k] = in[k] ? w[i][k] + 0.1 * r.nextGaussian() : 0;
            }
        }
        double energy = 0, before = 0, after = 0;
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < n; k++) {
                    energy += w[i][j] * g[j][k] * w[i][k];
                    if (!in[j] && !in[k]) before += w[i][j] * g[j][k] * w[i][k];
                    after += (changed[i][j] - w[i][j]) * g[j][k] * (changed[i][k] - w[i][k]);
                }
            }
        }
        StructuredObs.Errors e;
        try (PointerScope scope = new PointerScope()) {
            Tensor keptColumns = tensor(changed).index_select(1, Tensors.ofLongs(kept));
            e = StructuredObs.relativeErrors(tensor(w), tensor(g), kept, keptColumns, null);
        }
        assertEquals(before / energy, e.before(), 1e-12);
        assertEquals(after / energy, e.after(), 1e-12);
        assertTrue(e.before() > 0 && e.after() > e.before(), "a perturbation, not a refit: it adds to the removal");
    }

    /**
     * Where the refit nearly reproduces the layer (more tokens than channels, columns rounded to
     * bf16 as written), the block formulas' after ≪ before still matches tr(ΔW G ΔWᵀ) taken whole,
     * with the refit's own cross term and without: the cancellation costs digits, not the answer.
     * W has 700 rows, so the refit solves in three row blocks; its kept columns match one solve of
     * the normal equations.
     */
    @Test
    void relativeErrorsOfARoundedRefitMatchTheWholeTrace() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(17);
            int d = 700, n = 96, t = 400;
            Tensor mix = doubles(n, n).div(new Scalar(4)).add(torch.eye(n).to(torch.ScalarType.Double));
            Tensor a = doubles(t, 24)
                    .mm(doubles(24, n))
                    .add(doubles(t, n).mul(new Scalar(0.05)))
                    .mm(mix);
            Tensor g = a.t().mm(a), w = doubles(d, n); // correlated channels: the kept stand in for the removed
            long[] kept = IntStream.range(0, n)
                    .filter(c -> c % 5 != 1 && c % 7 != 3)
                    .asLongStream()
                    .toArray();
            long[] removed = IntStream.range(0, n)
                    .filter(c -> c % 5 == 1 || c % 7 == 3)
                    .asLongStream()
                    .toArray();
            Tensor k = Tensors.ofLongs(kept), r = Tensors.ofLongs(removed);
            StructuredObs.Fit fit = StructuredObs.refit(w, g, kept);

            Tensor h = g.index_select(0, k).index_select(1, k);
            h = h.add(torch.eye(kept.length).to(torch.ScalarType.Double).mul(new Scalar(fit.lambda())));
            Tensor rhs = g.index_select(0, k)
                    .index_select(1, r)
                    .mm(w.index_select(1, r).t());
            Tensor expected =
                    w.index_select(1, k).add(torch.linalg_solve(h, rhs).t());
            double scale = Tensors.toDoubles(expected.abs().max())[0];
            double diff = Tensors.toDoubles(
                    fit.weight().index_select(1, k).sub(expected).abs().max())[0];
            assertTrue(diff <= 1e-9 * scale, "refit in row blocks against one solve: " + diff);

            Tensor keptColumns = fit.weight().index_select(1, k).to(torch.ScalarType.BFloat16);
            Tensor full = torch.zeros_like(w);
            full.index_copy_(1, k, keptColumns.to(torch.ScalarType.Double));
            Tensor plain = w.clone();
            plain.index_fill_(1, k, new Scalar(0.0));
            double energy = StructuredObs.quadratic(w, g);
            double before = StructuredObs.quadratic(plain, g) / energy;
            double after = StructuredObs.quadratic(full.sub(w), g) / energy;
            assertTrue(
                    after < 0.05 * before, "the setting: a refit that recovers most (" + after + " vs " + before + ")");
            for (Tensor cross : new Tensor[] {fit.cross(), null}) {
                StructuredObs.Errors e = StructuredObs.relativeErrors(w, g, kept, keptColumns, cross);
                assertEquals(before, e.before(), 1e-12 * before);
                assertEquals(after, e.after(), 1e-9 * after);
            }
        }
    }

    /**
     * The manifest's errors are the same bits on any number of LibTorch threads: row sums, added in
     * order (a whole-tensor sum over a block is split by the thread count, and its last bits move).
     */
    @Test
    void relativeErrorsDoNotDependOnTheThreadCount() {
        int threads = torch.get_num_threads();
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(23);
            int d = 1100, n = 300;
            Tensor a = doubles(900, n).pow(new Scalar(3));
            Tensor g = a.t().mm(a), w = doubles(d, n);
            long[] kept =
                    IntStream.range(0, n).filter(c -> c % 3 != 0).asLongStream().toArray();
            Tensor keptColumns = StructuredObs.refit(w, g, kept).weight().index_select(1, Tensors.ofLongs(kept));
            double[][] seen = new double[2][];
            int[] counts = {1, 3};
            for (int i = 0; i < counts.length; i++) {
                torch.set_num_threads(counts[i]);
                StructuredObs.Errors e = StructuredObs.relativeErrors(w, g, kept, keptColumns, null);
                seen[i] = new double[] {e.before(), e.after(), StructuredObs.quadratic(w, g)};
            }
            assertArrayEquals(seen[0], seen[1], 0.0);
        } finally {
            torch.set_num_threads(threads);
        }
    }

    private static Tensor doubles(long rows, long cols) {
        return torch.randn(new long[] {rows, cols}).to(torch.ScalarType.Double);
    }

    /** The refit's kept columns against the normal equations solved independently. */
    @Test
    void refitSolvesTheRidgeLeastSquares() {
        Random r = new Random(5);
        int d = 4, n = 7, t = 30;
        double[][] w = new double[d][n], a = new double[t][n];
        for (double[] row : w) for (int k = 0; k < n; k++) row[k] = r.nextGaussian();
        for (double[] row : a) for (int k = 0; k < n; k++) row[k] = r.nextGaussian();
        double[][] g = new double[n][n];
        for (double[] row : a) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) g[i][j] += row[i] * row[j];
        long[] kept = {0, 2, 3, 6};
        int[] rem = {1, 4, 5};
        double[] out;
        double lambda;
        try (PointerScope scope = new PointerScope()) {
            StructuredObs.Fit fit = StructuredObs.refit(tensor(w), tensor(g), kept);
            out = Tensors.toDoubles(fit.weight());
            lambda = fit.lambda();
        }
        int m = kept.length;
        double mean = 0;
        for (long k : kept) mean += g[(int) k][(int) k] / m;
        assertEquals(StructuredObs.RIDGE * mean, lambda, 1e-12 * lambda);
        for (int row = 0; row < d; row++) {
            // (G_KK + λI) x = G_KR W_R[row]ᵀ, then W_K' = W_K + x
            double[][] lhs = new double[m][m];
            double[] rhs = new double[m];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < m; j++) lhs[i][j] = g[(int) kept[i]][(int) kept[j]] + (i == j ? lambda : 0);
                for (int q : rem) rhs[i] += g[(int) kept[i]][q] * w[row][q];
            }
            double[] x = solve(lhs, rhs);
            for (int i = 0; i < m; i++) {
                double expected = w[row][(int) kept[i]] + x[i];
                assertEquals(expected, out[row * n + (int) kept[i]], 1e-10 * (1 + Math.abs(expected)));
            }
            for (int q : rem) assertEquals(0.0, out[row * n + q]);
        }
    }

    /**
     * min over W_K' of tr(ΔW H ΔWᵀ) with W' zero on {@code removed}: ΔW_R = −W_R, and ΔW_K solves
     * H_KK ΔW_Kᵀ = −H_KR ΔW_Rᵀ; the value is the error of that refit.
     */
    static double bruteForceError(double[][] w, double[][] h, List<Integer> removed) {
        int n = h.length;
        List<Integer> kept = new ArrayList<>();
        for (int k = 0; k < n; k++) if (!removed.contains(k)) kept.add(k);
        double total = 0;
        for (double[] row : w) {
            double[] delta = new double[n];
            for (int q : removed) delta[q] = -row[q];
            if (!kept.isEmpty()) {
                int m = kept.size();
                double[][] lhs = new double[m][m];
                double[] rhs = new double[m];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < m; j++) lhs[i][j] = h[kept.get(i)][kept.get(j)];
                    for (int q : removed) rhs[i] -= h[kept.get(i)][q] * delta[q];
                }
                double[] x = solve(lhs, rhs);
                for (int i = 0; i < m; i++) delta[kept.get(i)] = x[i];
            }
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) total += delta[i] * h[i][j] * delta[j];
        }
        return total;
    }

    /** Gaussian elimination with partial pivoting. */
    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        double[][] m = new double[n][];
        for (int i = 0; i < n; i++) {
            m[i] = Arrays.copyOf(a[i], n + 1);
            m[i][n] = b[i];
        }
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int i = c + 1; i < n; i++) if (Math.abs(m[i][c]) > Math.abs(m[p][c])) p = i;
            double[] tmp = m[c];
            m[c] = m[p];
            m[p] = tmp;
            for (int i = c + 1; i < n; i++) {
                double f = m[i][c] / m[c][c];
                for (int j = c; j <= n; j++) m[i][j] -= f * m[c][j];
            }
        }
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double s = m[i][n];
            for (int j = i + 1; j < n; j++) s -= m[i][j] * x[j];
            x[i] = s / m[i][i];
        }
        return x;
    }

    static Tensor tensor(double[][] m) {
        double[] flat = new double[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) System.arraycopy(m[i], 0, flat, i * m[0].length, m[0].length);
        return Tensors.ofDoubles(flat, m.length, m[0].length).to(torch.ScalarType.Double);
    }
}
