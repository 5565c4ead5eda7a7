package io.cusprun.prune;

import io.cusprun.corpus.BatchPacker;
import io.cusprun.corpus.DocumentBatch;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.engine.CpuLinear;
import io.cusprun.model.Batch;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.FfnActivation;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LayerStepper;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Closed-form compensation (docs/method.md, "Compensation"): after a plan removes FFN neurons
 * and heads, the kept columns of every layer's {@code down_proj} (and {@code o_proj}, where heads
 * go) are refitted by least squares ({@link StructuredObs#refit}) so that the pruned layer
 * reproduces the unpruned one on the calibration documents. Layer by layer, in order: the
 * layer's inputs are computed by the already pruned and refitted earlier layers (a {@link
 * LayerStepper} holds every batch's hidden state), the fp64 Gram of o_proj's input (when heads
 * go) is accumulated and o_proj refitted, then, with the refitted attention in place, the Gram of
 * down_proj's input and down_proj. Each dimension (corpus) weighs the same: the Gram is {@code
 * Σ_X G_X / n_X} over the corpora X with n_X tokens. Batches are added in their fixed order, so
 * the sums do not depend on the number of threads.
 */
public final class Compensation {
    private Compensation() {}

    /** The refit of one projection of one layer, and its reconstruction error before and after. */
    public record ModuleFit(double lambda, double errorBefore, double errorAfter) {}

    /** One layer's fits; null where the plan removes nothing from that projection. */
    public record LayerFit(int layer, ModuleFit attention, ModuleFit ffn) {}

    /**
     * A plan's refitted weights: per refitted projection its kept columns ([D, |K|], the source
     * tensor's dtype, on the CPU), by the source tensor's name; and what the fit used.
     */
    public static final class Refit implements AutoCloseable {
        private final Map<String, Tensor> kept = new LinkedHashMap<>();
        private final List<LayerFit> layers;
        private final long documents;
        private final long tokens;

        private Refit(List<LayerFit> layers, long documents, long tokens) {
            this.layers = layers;
            this.documents = documents;
            this.tokens = tokens;
        }

        /** The refitted kept columns of a source tensor, or null when it is written as sliced from the source. */
        public Tensor keptColumns(String tensorName) {
            return kept.get(tensorName);
        }

        public List<LayerFit> layers() {
            return layers;
        }

        public long documents() {
            return documents;
        }

        public long tokens() {
            return tokens;
        }

        @Override
        public void close() {
            kept.values().forEach(Tensors::release);
            kept.clear();
        }
    }

    /** Whether a plan's output can be refitted: units removed within a stock layout (not layers, not neurons). */
    public static boolean applies(PrunePlan plan) {
        return plan.settings().granularity() != Granularity.NEURONS
                && plan.layers().stream().noneMatch(LayerPlan::dropped);
    }

    /**
     * Whether the plans {@code method} makes at {@code granularity} can be refitted ({@link
     * #applies(PrunePlan)}), known before the plan: only ShortGPT drops layers.
     */
    public static boolean applies(Method method, Granularity granularity) {
        return granularity != Granularity.NEURONS && method != Method.SHORTGPT;
    }

    /**
     * Fits the refit of {@code plan} on {@code corpora} (one dimension each), from the Grams of the
     * unpruned model's inputs ({@link UnprunedGrams}): one layer-major pass over the documents,
     * one layer's Grams held at a time.
     */
    public static Refit fit(Path modelDir, PrunePlan plan, List<TokenizedCorpus> corpora) throws IOException {
        return fit(modelDir, plan, corpora, l -> {});
    }

    /** As {@link #fit(Path, PrunePlan, List)}, telling {@code fitted} each layer refitted (for a progress bar). */
    public static Refit fit(Path modelDir, PrunePlan plan, List<TokenizedCorpus> corpora, IntConsumer fitted)
            throws IOException {
        check(plan);
        Compensation.Batches data = Batches.of(corpora);
        Refit out = new Refit(new ArrayList<>(), data.documents(), data.totalTokens());
        try (Checkpoint source = Checkpoint.open(modelDir)) {
            UnprunedGrams.stream(modelDir, corpora, UnprunedGrams.pruned(plan), g -> {
                fitLayer(source, plan, g, out);
                fitted.accept(g.layer());
            });
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
        return everyLayer(plan, out);
    }

    /** As {@link #fit(Path, PrunePlan, List)}, from Grams already held (one pass serves every plan from the same documents). */
    public static Refit fit(Path modelDir, PrunePlan plan, UnprunedGrams grams) throws IOException {
        return fit(modelDir, plan, grams, l -> {});
    }

    /** As {@link #fit(Path, PrunePlan, UnprunedGrams)}, telling {@code fitted} each layer refitted. */
    public static Refit fit(Path modelDir, PrunePlan plan, UnprunedGrams grams, IntConsumer fitted) throws IOException {
        check(plan);
        Refit out = new Refit(new ArrayList<>(), grams.documents(), grams.tokens());
        IntPredicate needed = UnprunedGrams.pruned(plan);
        try (Checkpoint source = Checkpoint.open(modelDir)) {
            for (int l = 0; l < grams.numLayers(); l++) {
                if (!needed.test(l)) continue;
                try (PointerScope scope = new PointerScope()) {
                    fitLayer(source, plan, grams.layer(l), out);
                }
                fitted.accept(l);
            }
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
        return everyLayer(plan, out);
    }

    /** {@code out} with a fit (null where nothing was refitted) for every layer, in order, as the manifest lists them. */
    private static Refit everyLayer(PrunePlan plan, Refit out) {
        List<LayerFit> fitted = new ArrayList<>(out.layers);
        out.layers.clear();
        for (LayerPlan lp : plan.layers()) {
            out.layers.add(fitted.stream()
                    .filter(f -> f.layer() == lp.layer())
                    .findFirst()
                    .orElse(new LayerFit(lp.layer(), null, null)));
        }
        return out;
    }

    /**
     * The refit as first specified: layer by layer, each layer's Grams taken on the inputs that
     * the already pruned and refitted earlier layers produce (two passes per refitted layer; about
     * as good, see docs/method.md, "Compensation", and one full pass per plan).
     */
    public static Refit fitOnPrunedInputs(Path modelDir, PrunePlan plan, List<TokenizedCorpus> corpora)
            throws IOException {
        return run(modelDir, plan, corpora, null);
    }

    private static void check(PrunePlan plan) {
        if (!applies(plan)) throw new IllegalArgumentException("compensation applies to FFN neurons and heads only");
    }

    /** Refits layer {@code g.layer()}'s projections that {@code plan} removes channels from, into {@code out}. */
    private static void fitLayer(Checkpoint source, PrunePlan plan, UnprunedGrams.Layer g, Refit out)
            throws IOException {
        int l = g.layer();
        LayerPlan lp = plan.layers().get(l);
        ModelShape.Layer shape = plan.source().layer(l);
        String prefix = ModelShape.layerPrefix(l);
        ModuleFit attention = null, ffn = null;
        if (lp.keptHeads().length < shape.heads()) {
            long[] kept = SliceRule.headRows(lp.keptHeads(), plan.source().headDim());
            attention = project(source, prefix + "self_attn.o_proj.weight", g.o(), g.attention(), kept, null, out)
                    .fit();
        }
        if (lp.keptFfn().length < shape.ffn()) {
            long[] kept = SliceRule.toLong(lp.keptFfn());
            ffn = project(source, prefix + "mlp.down_proj.weight", g.down(), g.ffn(), kept, null, out)
                    .fit();
        }
        out.layers.add(new LayerFit(l, attention, ffn));
    }

    /**
     * The reconstruction error of each layer with {@code refit} applied, against plain removal, on
     * other documents (the inputs, as in the fit, from the pruned and refitted earlier layers).
     */
    public static List<LayerFit> evaluate(Path modelDir, PrunePlan plan, Refit refit, List<TokenizedCorpus> corpora)
            throws IOException {
        try (Refit r = run(modelDir, plan, corpora, refit)) {
            return r.layers();
        }
    }

    private static Refit run(Path modelDir, PrunePlan plan, List<TokenizedCorpus> corpora, Refit given)
            throws IOException {
        check(plan);
        Batches data = Batches.of(corpora);
        List<LayerFit> fits = new ArrayList<>();
        Refit out = new Refit(fits, data.documents(), data.totalTokens());
        int d = plan.source().headDim();
        try (Checkpoint source = Checkpoint.open(modelDir);
                LayerStepper stepper = LayerStepper.open(modelDir, LoadOptions.DEFAULTS, data.batches())) {
            for (LayerPlan lp : plan.layers()) {
                int l = lp.layer();
                ModelShape.Layer shape = plan.source().layer(l);
                String prefix = ModelShape.layerPrefix(l);
                try (PointerScope scope = new PointerScope()) {
                    LayerWeights w = stepper.layer(l);
                    ModuleFit attention = null, ffn = null;
                    if (lp.keptHeads().length < shape.heads()) {
                        long[] kept = SliceRule.headRows(lp.keptHeads(), d);
                        Tensor g = data.gram(stepper, l, w, false, null);
                        String name = prefix + "self_attn.o_proj.weight";
                        Projection p = project(source, name, w.o(), g, kept, given, out);
                        attention = p.fit();
                        w = w.withO(p.weight());
                    }
                    boolean advanced = false;
                    if (lp.keptFfn().length < shape.ffn()) {
                        long[] kept = SliceRule.toLong(lp.keptFfn());
                        // the Gram pass's outputs and activations, when they fit, give the layer's output
                        // with the refit without running the layer again
                        Cache cache = data.activationBytes(shape.ffn()) <= CACHE_BYTES
                                ? new Cache(data.batches().size())
                                : null;
                        try {
                            Tensor g = data.gram(stepper, l, w, true, cache);
                            String name = prefix + "mlp.down_proj.weight";
                            Projection p = project(source, name, w.down(), g, kept, given, out);
                            ffn = p.fit();
                            if (cache != null) {
                                cache.advance(stepper, p.weight().sub(w.down()));
                                advanced = true;
                            }
                            w = w.withDown(p.weight());
                        } finally {
                            if (cache != null) cache.release();
                        }
                    }
                    fits.add(new LayerFit(l, attention, ffn));
                    if (!advanced) stepper.advance(l, w);
                }
            }
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** The most bytes of FFN activations (fp32, all batches of one layer) kept to skip a layer's second pass. */
    static final long CACHE_BYTES = 1L << 30;

    /**
     * One layer's outputs y = x + attention + act W_downᵀ and activations of every batch from the
     * Gram pass: with a refit ΔW = W_down' − W_down the layer's new output is y + act ΔWᵀ.
     */
    static final class Cache {
        final Tensor[] outputs, activations;

        Cache(int batches) {
            outputs = new Tensor[batches];
            activations = new Tensor[batches];
        }

        /** Moves the stepper's hidden states to the outputs with down_proj changed by {@code delta}. */
        void advance(LayerStepper stepper, Tensor delta) {
            for (int b = 0; b < outputs.length; b++) {
                try (PointerScope scope = new PointerScope()) {
                    stepper.setHidden(b, outputs[b].add(CpuLinear.linear(activations[b], delta, null)));
                }
            }
            org.bytedeco.javacpp.Pointer.trimMemory();
        }

        void release() {
            for (int b = 0; b < outputs.length; b++) {
                Tensors.release(outputs[b]);
                Tensors.release(activations[b]);
                outputs[b] = activations[b] = null;
            }
        }
    }

    /** A projection's new weight in the compute dtype (full size, removed columns zero) and its fit. */
    private record Projection(Tensor weight, ModuleFit fit) {}

    /**
     * Refits (or, with {@code given}, takes the given refit of) one projection: the kept columns
     * are rounded to the source tensor's dtype, which is what the output holds and what the
     * next layers see; the errors are measured on this run's Gram.
     */
    private static Projection project(
            Checkpoint source, String name, Tensor computed, Tensor g, long[] kept, Refit given, Refit out)
            throws IOException {
        Tensor w = computed.to(torch.ScalarType.Double);
        torch.ScalarType stored = source.info(name).dtype().scalarType();
        Tensor k = Tensors.ofLongs(kept);
        Tensor keptColumns, cross = null;
        double lambda;
        if (given == null) {
            StructuredObs.Fit fit = StructuredObs.refit(w, g, kept);
            keptColumns = fit.weight().index_select(1, k).to(stored).contiguous();
            lambda = fit.lambda();
            cross = fit.cross();
            out.kept.put(name, Tensors.keep(keptColumns));
        } else {
            keptColumns = given.keptColumns(name);
            LayerFit fitted = given.layers.stream()
                    .filter(f -> name.startsWith(ModelShape.layerPrefix(f.layer())))
                    .findFirst()
                    .orElseThrow();
            lambda = (name.endsWith("o_proj.weight") ? fitted.attention() : fitted.ffn()).lambda();
        }
        StructuredObs.Errors errors = StructuredObs.relativeErrors(w, g, kept, keptColumns, cross);
        Tensor full = torch.zeros_like(w);
        full.index_copy_(1, k, keptColumns.to(torch.ScalarType.Double));
        ModuleFit fit = new ModuleFit(lambda, errors.before(), errors.after());
        return new Projection(full.to(computed.scalar_type()), fit);
    }

    /** The corpora as packed batches, each batch tagged with its corpus. */
    record Batches(List<Batch> batches, int[] corpusOf, long[] tokens, long documents) {
        static Batches of(List<TokenizedCorpus> corpora) {
            if (corpora.isEmpty()) throw new IllegalArgumentException("compensation needs documents");
            int longest = corpora.stream()
                    .flatMap(c -> c.documents().stream())
                    .mapToInt(doc -> doc.length)
                    .max()
                    .orElse(0);
            BatchPacker packer = new BatchPacker(Math.max(2048, longest), 64);
            List<Batch> batches = new ArrayList<>();
            List<Integer> owner = new ArrayList<>();
            long[] tokens = new long[corpora.size()];
            long documents = 0;
            for (int c = 0; c < corpora.size(); c++) {
                for (DocumentBatch b : packer.pack(corpora.get(c))) {
                    batches.add(new Batch(b.ids(), b.docOffsets()));
                    owner.add(c);
                }
                tokens[c] = corpora.get(c).tokens();
                documents += corpora.get(c).size();
            }
            return new Batches(
                    batches, owner.stream().mapToInt(Integer::intValue).toArray(), tokens, documents);
        }

        long totalTokens() {
            long t = 0;
            for (long x : tokens) t += x;
            return t;
        }

        /**
         * The fp64 Gram of down_proj's input ({@code ffn}) or o_proj's input in layer {@code l}
         * with weights {@code w}, one per corpus, batches added in order.
         */
        /** Bytes of one layer's fp32 activations of width {@code width} over every batch. */
        long activationBytes(int width) {
            return totalTokens() * width * 4L;
        }

        /**
         * The fp64 Grams of down_proj's input ({@code ffn}) or o_proj's input in layer {@code l}
         * with weights {@code w}, one per corpus, each divided by its corpus' tokens.
         */
        Tensor[] gramsPerCorpus(LayerStepper stepper, int l, LayerWeights w, boolean ffn) {
            return grams(stepper, l, w, ffn, null, false);
        }

        /**
         * The dimensions' Grams, each divided by its corpus' tokens, summed into one (every
         * dimension weighs the same); with a cache, every batch's layer output and FFN activation
         * are kept in it.
         */
        Tensor gram(LayerStepper stepper, int l, LayerWeights w, boolean ffn, Cache cache) {
            return grams(stepper, l, w, ffn, cache, true)[0];
        }

        /** One pass over every batch, in order, adding each batch's xᵀx / n_X into its corpus' Gram, or all into one. */
        private Tensor[] grams(LayerStepper stepper, int l, LayerWeights w, boolean ffn, Cache cache, boolean one) {
            int n = ffn ? w.size().intermediateSize() : w.size().numAttentionHeads() * w.headDim();
            Tensor[] grams = new Tensor[one ? 1 : tokens.length];
            for (int c = 0; c < grams.length; c++) {
                grams[c] = Tensors.doubleZeros(w.down().device(), n, n);
            }
            FfnActivation act = FfnActivation.of(stepper.options().ffn());
            stepper.run(
                    l,
                    w,
                    b -> new LayerHooks() {
                        final Tensor gram = grams[one ? 0 : corpusOf[b]];
                        final double scale = 1.0 / Math.max(1, tokens[corpusOf[b]]);

                        @Override
                        public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
                            Tensor a = act.apply(layer, gate, up, batch);
                            if (ffn) add(gram, a, scale);
                            if (cache != null) cache.activations[b] = Tensors.keep(a);
                            return a;
                        }

                        @Override
                        public void attentionOutput(int layer, Tensor z, Batch batch) {
                            if (!ffn) add(gram, z.reshape(z.size(0), z.size(1) * z.size(2)), scale);
                        }
                    },
                    cache == null ? null : (b, y) -> cache.outputs[b] = Tensors.keep(y));
            return grams;
        }

        /**
         * Adds xᵀx to the fp64 Gram: the batch's product in fp32 as the forward pass computes its
         * Linear layers ({@link CpuLinear}: on the CPU each entry is one dot product, whatever the
         * number of threads), the sum over batches in fp64, in batch order. Why not an fp64
         * product: docs/method.md, "Compensation" (what it cost and gave on the demo model).
         */
        static void add(Tensor gram, Tensor x, double scale) {
            Tensor xt = x.to(torch.ScalarType.Float).t().contiguous(); // [N, T]
            gram.add_(CpuLinear.gram(xt).to(torch.ScalarType.Double), new Scalar(scale));
        }
    }
}
