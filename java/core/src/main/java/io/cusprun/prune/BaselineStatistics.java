package io.cusprun.prune;

import io.cusprun.model.Checkpoint;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Statistics of the baselines (docs/method.md, "Baselines"), fed to the same planner and writer as cusprun.
 * Each raw score (higher = more important) becomes a within-(layer, module) percentile rank, the
 * scale cusprun's statistics have, with the raw score as tie-break; so uniform selection is the
 * method's own order and per-layer selection compares layers on one scale.
 * <ul>
 *   <li>random: a seeded uniform score per unit;</li>
 *   <li>magnitude: the L2 norm of all weights the unit owns;</li>
 *   <li>wanda-sp: sum over the unit's output-projection columns of |W| x ||X|| (X = the
 *   projection's input channel over the calibration tokens);</li>
 *   <li>flap: sum over the same columns of Var(X) x ||W[:,c]||^2 (fluctuation);</li>
 *   <li>shortgpt: block influence per layer, layers with the least go first.</li>
 * </ul>
 */
public final class BaselineStatistics {
    private BaselineStatistics() {}

    public static UnitScores random(ModelShape shape, long seed) {
        Random rnd = new Random(seed);
        List<UnitScores.Layer> layers = new ArrayList<>();
        for (ModelShape.Layer s : shape.layers()) {
            layers.add(layer(randoms(rnd, s.ffn()), randoms(rnd, s.heads()), randoms(rnd, s.kvHeads())));
        }
        return new UnitScores(Method.RANDOM, layers);
    }

    public static UnitScores magnitude(Checkpoint cp, ModelShape shape) throws IOException {
        List<UnitScores.Layer> layers = new ArrayList<>();
        int d = shape.headDim();
        for (int l = 0; l < shape.numLayers(); l++) {
            try (PointerScope scope = new PointerScope()) {
                String p = ModelShape.layerPrefix(l);
                ModelShape.Layer s = shape.layer(l);
                double[] ffn = add(
                        add(rowSq(cp, p + "mlp.gate_proj.weight"), rowSq(cp, p + "mlp.up_proj.weight")),
                        colSq(cp, p + "mlp.down_proj.weight"));
                double[] heads = add(
                        perHead(rowSq(cp, p + "self_attn.q_proj.weight"), d),
                        perHead(colSq(cp, p + "self_attn.o_proj.weight"), d));
                double[] kv = add(
                        perHead(rowSq(cp, p + "self_attn.k_proj.weight"), d),
                        perHead(rowSq(cp, p + "self_attn.v_proj.weight"), d));
                double[] groups = add(kv, perGroup(heads, s.groupSize()));
                layers.add(layer(sqrt(ffn), sqrt(heads), sqrt(groups)));
            }
        }
        return new UnitScores(Method.MAGNITUDE, layers);
    }

    public static UnitScores wandaSp(Checkpoint cp, ModelShape shape, CalibrationHooks cal) throws IOException {
        return fromColumns(Method.WANDA_SP, cp, shape, cal, false);
    }

    public static UnitScores flap(Checkpoint cp, ModelShape shape, CalibrationHooks cal) throws IOException {
        return fromColumns(Method.FLAP, cp, shape, cal, true);
    }

    /** Scores from the input channels of down_proj (FFN neurons) and o_proj (heads). */
    private static UnitScores fromColumns(
            Method method, Checkpoint cp, ModelShape shape, CalibrationHooks cal, boolean fluctuation)
            throws IOException {
        List<UnitScores.Layer> layers = new ArrayList<>();
        double n = Math.max(1, cal.tokens);
        for (int l = 0; l < shape.numLayers(); l++) {
            try (PointerScope scope = new PointerScope()) {
                String p = ModelShape.layerPrefix(l);
                double[] ffn =
                        channelScores(cp, p + "mlp.down_proj.weight", cal.actSum[l], cal.actSq[l], n, fluctuation);
                double[] heads = perHead(
                        channelScores(cp, p + "self_attn.o_proj.weight", cal.zSum[l], cal.zSq[l], n, fluctuation),
                        shape.headDim());
                layers.add(layer(ffn, heads, perGroup(heads, shape.layer(l).groupSize())));
            }
        }
        return new UnitScores(method, layers);
    }

    private static double[] channelScores(
            Checkpoint cp, String weight, double[] sum, double[] sq, double n, boolean fluctuation) throws IOException {
        if (sum == null) throw new IllegalStateException("no calibration activations for " + weight);
        double[] w = fluctuation ? colSq(cp, weight) : colAbsSum(cp, weight);
        double[] out = new double[w.length];
        for (int c = 0; c < w.length; c++) {
            double mean = sum[c] / n;
            out[c] = fluctuation ? Math.max(0, sq[c] / n - mean * mean) * w[c] : w[c] * Math.sqrt(sq[c]);
        }
        return out;
    }

    public static LayerScores shortGpt(ModelShape shape, CalibrationHooks cal) {
        double[] scores = new double[shape.numLayers()];
        for (int l = 0; l < scores.length; l++) {
            scores[l] = cal.influence[l] / Math.max(1, cal.tokens);
        }
        return new LayerScores(Method.SHORTGPT, scores);
    }

    // ------------------------------------------------------------------ helpers

    static UnitScores.Layer layer(double[] ffn, double[] heads, double[] groups) {
        return new UnitScores.Layer(ranked(ffn), ranked(heads), ranked(groups), null, null);
    }

    /** Percentile rank (ties: mean rank) of each raw score, with the raw score as tie-break. */
    static UnitScores.Ranked ranked(double[] raw) {
        int n = raw.length;
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(raw[a], raw[b]));
        double[] pct = new double[n];
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && raw[idx[j + 1]] == raw[idx[i]]) j++;
            double p = n == 1 ? 0 : (i + j) / 2.0 / (n - 1);
            for (int t = i; t <= j; t++) pct[idx[t]] = p;
            i = j + 1;
        }
        return new UnitScores.Ranked(pct, raw.clone());
    }

    private static Tensor weight(Checkpoint cp, String name) throws IOException {
        return cp.tensor(name).to(torch.ScalarType.Double);
    }

    private static double[] rowSq(Checkpoint cp, String name) throws IOException {
        Tensor w = weight(cp, name);
        return finite(name, values(w.mul(w).sum(new long[] {1}, false, new ScalarTypeOptional())));
    }

    private static double[] colSq(Checkpoint cp, String name) throws IOException {
        Tensor w = weight(cp, name);
        return finite(name, values(w.mul(w).sum(new long[] {0}, false, new ScalarTypeOptional())));
    }

    private static double[] colAbsSum(Checkpoint cp, String name) throws IOException {
        return finite(name, values(weight(cp, name).abs().sum(new long[] {0}, false, new ScalarTypeOptional())));
    }

    /** The weight norms of a tensor, refused when one is NaN or infinite (naming the tensor). */
    private static double[] finite(String name, double[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new io.cusprun.NonFiniteException("tensor '" + name + "': weight norm of unit " + i + " is "
                        + io.cusprun.NonFiniteException.describe(v[i]));
            }
        }
        return v;
    }

    private static double[] values(Tensor t) {
        Tensor c = t.contiguous();
        double[] v = new double[(int) c.numel()];
        c.data_ptr_double().get(v);
        return v;
    }

    /** Sums consecutive blocks of d entries (per head). */
    static double[] perHead(double[] v, int d) {
        double[] out = new double[v.length / d];
        for (int i = 0; i < v.length; i++) out[i / d] += v[i];
        return out;
    }

    static double[] perGroup(double[] heads, int g) {
        return perHead(heads, g);
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = a.clone();
        for (int i = 0; i < out.length; i++) out[i] += b[i];
        return out;
    }

    private static double[] sqrt(double[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = Math.sqrt(a[i]);
        return out;
    }

    private static double[] randoms(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextDouble();
        return v;
    }
}
