package io.cusprun.prune;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * cusprun's FFN statistic after compensation ({@link Relevance#COMPENSATED}, docs/method.md,
 * "Compensated relevance"): per dimension X and layer, the neurons in the greedy order of
 * structured OBS on the dimension's Gram ({@link StructuredObs#greedy}, W = down_proj, G = G_X /
 * n_X on the unpruned model), a neuron's rank in dimension X its position in that order over F − 1
 * (0: removed first), and its statistic the max over dimensions, the paper's intersection: it is
 * removable only where it is cheap for every dimension. Ties go by the summed positions. Heads,
 * groups and neuron-level units keep the ablation statistic.
 */
public final class CompensatedRelevance {
    private CompensatedRelevance() {}

    /**
     * {@code ablation} with its FFN statistic replaced by the compensated one, from {@code corpora}
     * (one dimension each); {@code inversesAhead}: see {@link #collector}.
     */
    public static UnitScores of(
            UnitScores ablation, Path modelDir, List<TokenizedCorpus> corpora, boolean inversesAhead)
            throws IOException {
        Collector relevance = collector(ablation, inversesAhead);
        UnprunedGrams.stream(modelDir, corpora, l -> true, relevance);
        return relevance.scores();
    }

    /**
     * As above, from Grams already held in memory (the same pass serves the refit; spilled Grams
     * lack the per-dimension Grams of down_proj's input: {@link #collector} in their pass).
     */
    public static UnitScores of(UnitScores ablation, UnprunedGrams grams, boolean inversesAhead) throws IOException {
        Collector relevance = collector(ablation, inversesAhead);
        for (int l = 0; l < ablation.numLayers(); l++) {
            try (PointerScope scope = new PointerScope()) {
                relevance.accept(grams.layer(l));
            }
        }
        return relevance.scores();
    }

    /**
     * The statistic layer by layer, from a pass that hands each layer's Grams over ({@link
     * UnprunedGrams#stream}, or {@link SpilledGrams#spill}, whose pass also spills them for the
     * refit); {@link Collector#scores} once every layer went by. Above {@link
     * StructuredObs#EXACT_CHANNELS} neurons the later dimensions' ridge inverses are computed
     * ahead, beside the first dimension's order, where {@code inversesAhead}, else each just
     * before its own order, which holds {@code X − 1} fewer {@code F × F} inverses ({@link
     * io.cusprun.model.MemoryPlan.Work#inversesAhead}); the same calls, so the same statistic.
     */
    public static Collector collector(UnitScores ablation, boolean inversesAhead) {
        return new Collector(ablation, inversesAhead);
    }

    /** Collects the layers' statistics; see {@link #collector}. */
    public static final class Collector implements UnprunedGrams.LayerConsumer {
        private final UnitScores ablation;
        private final boolean inversesAhead;
        private final UnitScores.Layer[] layers;

        private Collector(UnitScores ablation, boolean inversesAhead) {
            this.ablation = ablation;
            this.inversesAhead = inversesAhead;
            this.layers = new UnitScores.Layer[ablation.numLayers()];
        }

        @Override
        public void accept(UnprunedGrams.Layer g) {
            layers[g.layer()] = layer(ablation, g, inversesAhead);
        }

        /** {@code ablation} with its FFN statistic replaced, once every layer was handed over. */
        public UnitScores scores() {
            for (int l = 0; l < layers.length; l++) {
                if (layers[l] == null) throw new IllegalStateException("layer " + l + " was not handed over");
            }
            return new UnitScores(ablation.method(), List.of(layers));
        }
    }

    /** The task's inverse, or its own exception (not wrapped). */
    private static Tensor computed(CompletableFuture<Tensor> task) {
        try {
            return task.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }

    /** Dimension {@code c}'s ridge inverse, kept past the calling thread's scope (release it). */
    private static Tensor ridgeInverse(UnprunedGrams.Layer g, int c) {
        try (PointerScope scope = new PointerScope()) {
            return Tensors.keep(StructuredObs.ridgeInverseTensor(g.ffnPerCorpus()[c]));
        }
    }

    /**
     * One layer's statistic: the dimensions' greedy orders combined. Up to {@link
     * StructuredObs#EXACT_CHANNELS} neurons the exact greedy runs on Java arrays, the dimensions in
     * parallel; above, the blocked greedy on LibTorch (its products use every core) one dimension
     * after the other, each as soon as its inverse is ready: the later inverses computed ahead, in
     * parallel, where {@code inversesAhead}, else each just before its order.
     */
    private static UnitScores.Layer layer(UnitScores ablation, UnprunedGrams.Layer g, boolean inversesAhead) {
        int f = (int) g.down().size(1);
        int dims = g.ffnPerCorpus().length;
        int[][] pos = new int[dims][];
        if (StructuredObs.stepSize(f) == 1) {
            double[] w = Tensors.toDoubles(g.down());
            int d = (int) g.down().size(0);
            double[][] hinv = new double[dims][];
            for (int c = 0; c < dims; c++) hinv[c] = StructuredObs.ridgeInverse(g.ffnPerCorpus()[c]);
            IntStream.range(0, dims)
                    .parallel()
                    .forEach(
                            c -> pos[c] = StructuredObs.greedy(w, d, f, hinv[c]).positions());
        } else {
            // the first dimension's inverse on this thread, the others as asynchronous tasks (the
            // common pool, or a thread each where it has a single worker), each one single-threaded
            // LAPACK call; then the greedy orders here one after the other as their inverse is ready
            // (each spreads its products over the cores): no core idles beside a last inverse, and
            // an order may run while later inverses are computed. The same calls, so the same bits.
            // Without inversesAhead each is computed here just before its order: one held at a time.
            List<CompletableFuture<Tensor>> rest = inversesAhead
                    ? IntStream.range(1, dims)
                            .mapToObj(c -> CompletableFuture.supplyAsync(() -> ridgeInverse(g, c)))
                            .toList()
                    : List.of();
            int taken = 0; // of rest
            try {
                Tensor w = g.down().to(torch.ScalarType.Double);
                for (int c = 0; c < dims; c++) {
                    Tensor hinv = c == 0 || !inversesAhead ? ridgeInverse(g, c) : computed(rest.get(taken++));
                    // the greedy takes the inverse (and frees it as it compacts)
                    pos[c] = StructuredObs.blockedGreedy(w, hinv, StructuredObs.stepSize(f))
                            .positions();
                }
            } catch (RuntimeException | Error e) {
                // the inverses not taken yet, once computed
                for (CompletableFuture<Tensor> t : rest.subList(taken, rest.size())) {
                    try {
                        Tensors.release(t.join());
                    } catch (RuntimeException ignored) {
                        // failed too: nothing to release
                    }
                }
                throw e;
            }
        }
        double[] stat = new double[f], tie = new double[f];
        for (int c = 0; c < dims; c++) {
            for (int k = 0; k < f; k++) {
                stat[k] = Math.max(stat[k], f == 1 ? 0 : pos[c][k] / (double) (f - 1));
                tie[k] += pos[c][k];
            }
        }
        UnitScores.Layer a = ablation.layers().get(g.layer());
        return new UnitScores.Layer(new UnitScores.Ranked(stat, tie), a.heads(), a.groups(), a.qk(), a.vo());
    }
}
