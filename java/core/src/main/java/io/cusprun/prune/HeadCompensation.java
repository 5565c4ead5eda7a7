package io.cusprun.prune;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.LayerSize;
import io.cusprun.model.LayerStepper;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The compensated relevance of query heads and key/value groups (docs/method.md, "Compensated
 * relevance", block form): a head or group is a block B of o_proj's input channels (its {@code d}
 * or {@code g·d} columns of o_proj). With {@code H = G + λI} the Gram of o_proj's input on one
 * dimension's tokens (λ = {@value StructuredObs#RIDGE} × its mean diagonal) and {@code W =
 * o_proj}, removing B once the other channels are refitted costs
 *
 * <pre>cost(B) = tr(W_B [(H⁻¹)_BB]⁻¹ W_Bᵀ)</pre>
 *
 * the block form of structured OBS's {@code ‖W[:,k]‖² / [H⁻¹]_kk}. The greedy removes the
 * cheapest block, refits the rest ({@code W −= W_B [(H⁻¹)_BB]⁻¹ H⁻¹[B,:]}, which zeroes W_B)
 * and downdates the inverse ({@code H⁻¹ −= H⁻¹[:,B] [(H⁻¹)_BB]⁻¹ H⁻¹[B,:]}, the inverse of H
 * restricted to the remaining channels), until one block is left. A unit's rank in a dimension
 * is its position in that order over (count − 1), its statistic the max over dimensions: the
 * paper's intersection. Ties go by the summed positions.
 */
public final class HeadCompensation {
    private HeadCompensation() {}

    /** The greedy order of blocks and each step's cost (the error the step adds on the ridge objective). */
    public record Greedy(int[] order, double[] cost) {
        /** Each block's position in the order (0 = removed first). */
        public int[] positions() {
            int[] pos = new int[order.length];
            for (int i = 0; i < order.length; i++) pos[order[i]] = i;
            return pos;
        }
    }

    /**
     * Removes the blocks of {@code w} [D, N] (block {@code b}: columns {@code b·size .. b·size +
     * size − 1}) one at a time, each time the one whose removal adds the least error once the
     * remaining channels are refitted, from the Gram {@code g} [N, N] (fp64). Ties go to the lower
     * block.
     */
    public static Greedy greedy(Tensor w, Tensor g, int size) {
        int n = (int) g.size(0);
        if (size <= 0 || n % size != 0) {
            throw new IllegalArgumentException("block size " + size + " does not divide " + n + " channels");
        }
        int blocks = n / size;
        Tensor hinv = StructuredObs.ridgeInverseTensor(g);
        Tensor cur = w.clone();
        boolean[] gone = new boolean[blocks];
        int[] order = new int[blocks];
        double[] cost = new double[blocks];
        for (int step = 0; step < blocks; step++) {
            try (PointerScope scope = new PointerScope()) {
                int best = -1;
                double bestCost = Double.POSITIVE_INFINITY;
                for (int b = 0; b < blocks; b++) {
                    if (gone[b]) continue;
                    double c = blockCost(cur, hinv, b * (long) size, size);
                    if (best < 0 || c < bestCost) {
                        best = b;
                        bestCost = c;
                    }
                }
                order[step] = best;
                cost[step] = bestCost;
                gone[best] = true;
                if (step == blocks - 1) break;
                long start = best * (long) size;
                Tensor rows = hinv.narrow(0, start, size).clone(); // H⁻¹[B,:]  [b, N]
                Tensor chol = torch.linalg_cholesky(rows.narrow(1, start, size).contiguous()); // (H⁻¹)_BB
                Tensor m = torch.cholesky_solve(rows, chol); // [(H⁻¹)_BB]⁻¹ H⁻¹[B,:]  [b, N]
                Tensor wb = cur.narrow(1, start, size).clone(); // W_B [D, b]
                cur.sub_(wb.mm(m));
                hinv.sub_(rows.t().mm(m)); // H⁻¹[:,B] = H⁻¹[B,:]ᵀ (symmetric)
                cur.narrow(1, start, size).zero_(); // exactly zero, not a rounding residue
            }
        }
        return new Greedy(order, cost);
    }

    /** tr(W_B [(H⁻¹)_BB]⁻¹ W_Bᵀ) for the block of {@code size} channels at {@code start}. */
    static double blockCost(Tensor w, Tensor hinv, long start, int size) {
        Tensor wb = w.narrow(1, start, size); // [D, b]
        Tensor hbb = hinv.narrow(0, start, size).narrow(1, start, size).contiguous();
        Tensor x = torch.cholesky_solve(wb.t().contiguous(), torch.linalg_cholesky(hbb)); // [b, D]
        return Tensors.toDoubles(x.mul(wb.t()).sum())[0];
    }

    /**
     * {@code scores} with the statistics of query heads and key/value groups replaced by the
     * compensated ones, from the Grams of every layer's o_proj input on {@code corpora} (one
     * dimension each), on the unpruned model, from a pass of its own. Everything else is kept as
     * given.
     */
    public static UnitScores of(UnitScores scores, Path modelDir, List<TokenizedCorpus> corpora) throws IOException {
        Compensation.Batches data = Compensation.Batches.of(corpora);
        List<UnitScores.Layer> layers = new ArrayList<>();
        try (LayerStepper stepper = LayerStepper.open(modelDir, LoadOptions.DEFAULTS, data.batches())) {
            for (int l = 0; l < scores.numLayers(); l++) {
                try (PointerScope scope = new PointerScope()) {
                    LayerWeights w = stepper.layer(l);
                    Tensor o = w.o().to(torch.ScalarType.Double);
                    Tensor[] grams = data.gramsPerCorpus(stepper, l, w, false);
                    layers.add(layer(scores.layers().get(l), o, grams, w.size(), w.headDim()));
                    stepper.advance(l, w);
                }
            }
        }
        return new UnitScores(scores.method(), layers);
    }

    /**
     * As above, from Grams already taken, held or spilled ({@link
     * UnprunedGrams.Layer#attentionPerCorpus}: the same per-dimension Grams, each divided by its
     * corpus' tokens, so the same statistics; the pass that took them serves the FFN relevance and
     * the refit too).
     */
    public static UnitScores of(UnitScores scores, UnprunedGrams grams) throws IOException {
        List<UnitScores.Layer> layers = new ArrayList<>();
        ModelConfig config = grams.config();
        for (int l = 0; l < scores.numLayers(); l++) {
            try (PointerScope scope = new PointerScope()) {
                UnprunedGrams.Layer g = grams.layer(l);
                layers.add(layer(
                        scores.layers().get(l), g.o(), g.attentionPerCorpus(), config.layer(l), config.headDim()));
            }
        }
        return new UnitScores(scores.method(), layers);
    }

    /** One layer's heads and groups ranked on the dimensions' Grams of o_proj's input; the rest of {@code given} kept. */
    private static UnitScores.Layer layer(UnitScores.Layer given, Tensor o, Tensor[] grams, LayerSize size, int d) {
        int heads = size.numAttentionHeads(), kv = size.numKeyValueHeads();
        UnitScores.Ranked h = ranked(o, grams, d, heads);
        UnitScores.Ranked groups = heads == kv ? h : ranked(o, grams, d * (heads / kv), kv);
        return new UnitScores.Layer(given.ffn(), h, groups, given.qk(), given.vo());
    }

    /** Per block the max over dimensions of its greedy position over (count − 1); ties by summed positions. */
    private static UnitScores.Ranked ranked(Tensor o, Tensor[] grams, int size, int count) {
        double[] stat = new double[count], tie = new double[count];
        for (Tensor g : grams) {
            int[] pos = greedy(o, g, size).positions();
            for (int b = 0; b < count; b++) {
                stat[b] = Math.max(stat[b], count == 1 ? 0 : pos[b] / (double) (count - 1));
                tie[b] += pos[b];
            }
        }
        return new UnitScores.Ranked(stat, tie);
    }
}
