package io.cusprun.prune;

import io.cusprun.score.CorpusScores;
import io.cusprun.score.ModuleKind;
import io.cusprun.score.RankAccumulator;
import io.cusprun.score.RankUpdater;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The paper's selection statistic (docs/method.md, "Ranks and the selection rule"): per unit and corpus the max (or a quantile)
 * of its per-document percentile rank; over corpora the max, so a unit scores low only when it
 * is irrelevant to ALL dimensions. Heads and KV groups may aggregate over documents by another
 * {@link HeadRule} (docs/heads.md). Ties are broken by the summed mean relevance.
 */
public final class CusprunStatistics {
    private CusprunStatistics() {}

    /** The paper's rule for every unit (heads included). */
    public static UnitScores from(Method method, List<CorpusScores> corpora, int numLayers, double quantile) {
        return from(method, corpora, numLayers, quantile, HeadRule.ALL_DOCS);
    }

    public static UnitScores from(
            Method method, List<CorpusScores> corpora, int numLayers, double quantile, HeadRule headRule) {
        if (corpora.isEmpty()) throw new IllegalArgumentException("no corpora to select with");
        List<UnitScores.Layer> layers = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) {
            layers.add(new UnitScores.Layer(
                    ranked(corpora, l, ModuleKind.MLP, quantile, HeadRule.ALL_DOCS),
                    ranked(corpora, l, ModuleKind.HEAD, quantile, headRule),
                    ranked(corpora, l, ModuleKind.GROUP, quantile, headRule),
                    ranked(corpora, l, ModuleKind.QK, quantile, HeadRule.ALL_DOCS),
                    ranked(corpora, l, ModuleKind.VO, quantile, HeadRule.ALL_DOCS)));
        }
        return new UnitScores(method, layers);
    }

    /** Null when some corpus lacks this module (e.g. neuron-level units not scored). */
    static UnitScores.Ranked ranked(
            List<CorpusScores> corpora, int layer, ModuleKind kind, double quantile, HeadRule rule) {
        if (!corpora.stream().allMatch(c -> c.has(kind))) return null;
        double[] stat = null, tie = null;
        for (CorpusScores c : corpora) {
            RankAccumulator a = c.module(layer, kind);
            if (stat == null) {
                stat = new double[a.size()];
                tie = new double[a.size()];
                Arrays.fill(stat, Double.NEGATIVE_INFINITY);
            } else if (stat.length != a.size()) {
                throw new IllegalArgumentException("corpora disagree on the size of " + kind + " in layer " + layer);
            }
            double[] corpusStat = corpusStatistic(a, quantile, rule);
            double[] sum = a.relevanceSum();
            for (int k = 0; k < stat.length; k++) {
                stat[k] = Math.max(stat[k], corpusStat[k]);
                tie[k] += sum[k] / Math.max(1, a.documents());
            }
        }
        return new UnitScores.Ranked(stat, tie);
    }

    /** One corpus' statistic per unit (R_X in docs/method.md and docs/heads.md): in [0, 1], low = irrelevant. */
    static double[] corpusStatistic(RankAccumulator a, double quantile, HeadRule rule) {
        int n = a.size();
        double[] out = new double[n];
        switch (rule) {
            case ALL_DOCS -> {
                for (int k = 0; k < n; k++) out[k] = a.rankStatistic(k, quantile);
            }
            case MEAN -> {
                // mean percentile over documents, each rank at the centre of its bin (within 1/(2B)
                // of the exact mean), never above the max rank
                int[] hist = a.rankHist();
                float[] max = a.rankMax();
                int bins = a.bins();
                for (int k = 0; k < n; k++) {
                    double s = 0;
                    long docs = 0;
                    for (int b = 0; b < bins; b++) {
                        s += hist[k * bins + b] * ((b + 0.5) / bins);
                        docs += hist[k * bins + b];
                    }
                    out[k] = docs == 0 ? 0 : Math.min(max[k], s / docs);
                }
            }
            case POOLED -> {
                if (a.documents() == 0) break; // nothing seen: 0, as the other rules give
                // the paper's percentile rank, taken once over the corpus' summed relevance (every
                // unit's share of it) instead of per document; the same ranking code as scoring
                float[] p = new float[n];
                RankUpdater.JAVA.update(a.relevanceSum(), 1, n, p, new int[n], 1);
                for (int k = 0; k < n; k++) out[k] = p[k];
            }
        }
        return out;
    }
}
