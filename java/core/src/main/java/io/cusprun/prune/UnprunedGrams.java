package io.cusprun.prune;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.FfnActivation;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LayerStepper;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The fp64 Grams of {@code down_proj}'s and {@code o_proj}'s inputs in every layer of the
 * <em>unpruned</em> model over a set of documents (one corpus per dimension), and the layer's
 * two projections in fp64: everything compensation ({@link Compensation#fit(java.nio.file.Path, PrunePlan,
 * UnprunedGrams)}) and the compensated relevance ({@link CompensatedRelevance}) read. They do not
 * depend on the plan, so one pass over the documents serves every plan pruned from them (a
 * comparison's methods and ratios, and the relevance). Each dimension's Gram is divided by its
 * corpus' tokens; the refit's Gram is their sum (every dimension weighs the same).
 *
 * <p>{@link #stream} hands the layers over one at a time (layer-major, the streamed memory bound:
 * one layer's Grams at a time); {@link #hold} keeps them all, as Java arrays; {@link SpilledGrams}
 * keeps them on disk, read back one layer at a time.
 */
public abstract class UnprunedGrams {
    /**
     * One layer: {@code down} [D, F] and {@code o} [D, H d] fp64; per dimension the Gram of
     * down_proj's input divided by the dimension's tokens ({@code ffnPerCorpus}, [F, F]) and their
     * sum ({@code ffn}), and the same for o_proj's input ({@code attentionPerCorpus} and {@code
     * attention}, [H d, H d]); all fp64 on the CPU, owned by the caller's {@link PointerScope}.
     * {@code ffnPerCorpus} is null in a layer read back from disk ({@link SpilledGrams}).
     */
    public record Layer(
            int layer,
            Tensor down,
            Tensor o,
            Tensor[] ffnPerCorpus,
            Tensor ffn,
            Tensor[] attentionPerCorpus,
            Tensor attention) {

        /** The per-dimension Grams of down_proj's input; refused where they were not kept. */
        @Override
        public Tensor[] ffnPerCorpus() {
            if (ffnPerCorpus == null) {
                throw new IllegalStateException("layer " + layer + "'s per-dimension Grams of down_proj's input were"
                        + " not kept: Grams read back from disk hold only what the refit and the heads read");
            }
            return ffnPerCorpus;
        }
    }

    /** What is done with one layer's Grams; the tensors are valid during the call. */
    @FunctionalInterface
    public interface LayerConsumer {
        void accept(Layer layer) throws IOException;
    }

    private final long documents, tokens;
    private final ModelConfig config;

    UnprunedGrams(ModelConfig config, long documents, long tokens) {
        this.config = config;
        this.documents = documents;
        this.tokens = tokens;
    }

    /**
     * The bytes {@link #hold} keeps for a model of this config and {@code corpora} dimensions:
     * per layer {@code 8 ((X + 1) (F² + (H d)²) + D (F + H d))} ({@link MemoryPlan#gramBytes}).
     */
    public static long heldBytes(ModelConfig config, int corpora) {
        return MemoryPlan.gramBytes(config, corpora, true);
    }

    /** Every layer's Grams over {@code corpora}, held in memory ({@link #heldBytes}). */
    public static UnprunedGrams hold(Path modelDir, List<TokenizedCorpus> corpora) throws IOException {
        Compensation.Batches data = Compensation.Batches.of(corpora);
        Held out = new Held(ModelConfig.read(modelDir), corpora.size(), data.documents(), data.totalTokens());
        stream(modelDir, corpora, l -> true, g -> {
            int l = g.layer();
            out.down[l] = Tensors.toDoubles(g.down());
            out.downShape[l] = Tensors.shape(g.down());
            out.o[l] = Tensors.toDoubles(g.o());
            out.oShape[l] = Tensors.shape(g.o());
            out.ffn[l] = Tensors.toDoubles(g.ffn());
            out.attention[l] = Tensors.toDoubles(g.attention());
            for (int c = 0; c < g.ffnPerCorpus().length; c++) {
                out.perCorpus[l][c] = Tensors.toDoubles(g.ffnPerCorpus()[c]);
                out.attentionPerCorpus[l][c] = Tensors.toDoubles(g.attentionPerCorpus()[c]);
            }
        });
        return out;
    }

    /** Layer {@code l}'s Grams as fp64 tensors, owned by the caller's {@link PointerScope}. */
    public abstract Layer layer(int l) throws IOException;

    /** The Grams as Java arrays. */
    private static final class Held extends UnprunedGrams {
        private final double[][] down, o, ffn, attention;
        private final double[][][] perCorpus, attentionPerCorpus;
        private final long[][] downShape, oShape;

        Held(ModelConfig config, int corpora, long documents, long tokens) {
            super(config, documents, tokens);
            int layers = config.numHiddenLayers();
            down = new double[layers][];
            o = new double[layers][];
            ffn = new double[layers][];
            attention = new double[layers][];
            perCorpus = new double[layers][corpora][];
            attentionPerCorpus = new double[layers][corpora][];
            downShape = new long[layers][];
            oShape = new long[layers][];
        }

        @Override
        public Layer layer(int l) {
            int f = (int) downShape[l][1];
            int hd = (int) oShape[l][1];
            Tensor[] per = new Tensor[perCorpus[l].length], attn = new Tensor[per.length];
            for (int c = 0; c < per.length; c++) {
                per[c] = Tensors.ofDoubles(perCorpus[l][c], f, f);
                attn[c] = Tensors.ofDoubles(attentionPerCorpus[l][c], hd, hd);
            }
            return new Layer(
                    l,
                    Tensors.ofDoubles(down[l], downShape[l]),
                    Tensors.ofDoubles(o[l], oShape[l]),
                    per,
                    Tensors.ofDoubles(ffn[l], f, f),
                    attn,
                    Tensors.ofDoubles(attention[l], hd, hd));
        }
    }

    /** The model's config (its layers' heads, KV heads and head dimension). */
    public ModelConfig config() {
        return config;
    }

    public int numLayers() {
        return config.numHiddenLayers();
    }

    public long documents() {
        return documents;
    }

    public long tokens() {
        return tokens;
    }

    /**
     * One pass of {@code corpora} through the unpruned model in {@code modelDir}, layer by layer:
     * for each layer where {@code needed} holds, its Grams go to {@code consumer} (the others are
     * only run through). Each layer runs once: the pass that accumulates its Grams also moves
     * every batch's hidden state on. Batches are added in their fixed order into fp64 sums, so the
     * result does not depend on the number of threads.
     */
    public static void stream(Path modelDir, List<TokenizedCorpus> corpora, IntPredicate needed, LayerConsumer consumer)
            throws IOException {
        Compensation.Batches data = Compensation.Batches.of(corpora);
        try (LayerStepper stepper = LayerStepper.open(modelDir, LoadOptions.DEFAULTS, data.batches())) {
            int layers = stepper.config().numHiddenLayers();
            for (int l = 0; l < layers; l++) {
                try (PointerScope scope = new PointerScope()) {
                    LayerWeights w = stepper.layer(l);
                    if (!needed.test(l)) {
                        stepper.advance(l, w);
                        continue;
                    }
                    consumer.accept(grams(stepper, l, w, data));
                }
            }
        }
    }

    /** Layer l's Grams from one pass with the unpruned weights {@code w}; the pass's outputs become the hidden states. */
    private static Layer grams(LayerStepper stepper, int l, LayerWeights w, Compensation.Batches data) {
        int f = w.size().intermediateSize();
        int hd = w.size().numAttentionHeads() * w.headDim();
        int corpora = data.tokens().length;
        Tensor[] per = new Tensor[corpora], attn = new Tensor[corpora];
        for (int c = 0; c < corpora; c++) {
            per[c] = Tensors.doubleZeros(w.down().device(), f, f);
            attn[c] = Tensors.doubleZeros(w.down().device(), hd, hd);
        }
        FfnActivation act = FfnActivation.of(stepper.options().ffn());
        int[] corpusOf = data.corpusOf();
        long[] tokens = data.tokens();
        stepper.run(
                l,
                w,
                b -> new LayerHooks() {
                    final int c = corpusOf[b];
                    final double scale = 1.0 / Math.max(1, tokens[c]);

                    @Override
                    public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
                        Tensor a = act.apply(layer, gate, up, batch);
                        Compensation.Batches.add(per[c], a, scale);
                        return a;
                    }

                    @Override
                    public void attentionOutput(int layer, Tensor z, Batch batch) {
                        Compensation.Batches.add(attn[c], z.reshape(z.size(0), z.size(1) * z.size(2)), scale);
                    }
                },
                stepper::setHidden);
        org.bytedeco.javacpp.Pointer.trimMemory();
        Tensor ffn = per[0].clone(), attention = attn[0].clone();
        for (int c = 1; c < corpora; c++) {
            ffn.add_(per[c]);
            attention.add_(attn[c]);
        }
        return new Layer(
                l, w.down().to(torch.ScalarType.Double), w.o().to(torch.ScalarType.Double), per, ffn, attn, attention);
    }

    /** The layers that {@code plan} removes something from (those a refit needs). */
    public static IntPredicate pruned(PrunePlan plan) {
        List<Integer> layers = new ArrayList<>();
        for (LayerPlan lp : plan.layers()) {
            ModelShape.Layer shape = plan.source().layer(lp.layer());
            if (lp.keptHeads().length < shape.heads() || lp.keptFfn().length < shape.ffn()) layers.add(lp.layer());
        }
        return layers::contains;
    }
}
