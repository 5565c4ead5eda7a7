package io.cusprun.prune;

import io.cusprun.score.CorpusScores;
import io.cusprun.score.ModuleKind;
import io.cusprun.score.RankAccumulator;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper's selection statistic (docs/method.md, "Ranks and the selection rule"): per unit and corpus the max (or a quantile)
 * of its per-document percentile rank; over corpora the max, so a unit scores low only when it
 * is irrelevant to ALL dimensions. Ties are broken by the summed mean relevance.
 */
public final class CusprunStatistics {
    private CusprunStatistics() {}

    public static UnitScores from(Method method, List<CorpusScores> corpora, int numLayers, double quantile) {
        if (corpora.isEmpty()) throw new IllegalArgumentException("no corpora to select with");
        List<UnitScores.Layer> layers = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) {
            layers.add(new UnitScores.Layer(
                    ranked(corpora, l, ModuleKind.MLP, quantile),
                    ranked(corpora, l, ModuleKind.HEAD, quantile),
                    ranked(corpora, l, ModuleKind.GROUP, quantile),
                    ranked(corpora, l, ModuleKind.QK, quantile),
                    ranked(corpora, l, ModuleKind.VO, quantile)));
        }
        return new UnitScores(method, layers);
    }

    /** Null when some corpus lacks this module (e.g. neuron-level units not scored). */
    static UnitScores.Ranked ranked(List<CorpusScores> corpora, int layer, ModuleKind kind, double quantile) {
        if (!corpora.stream().allMatch(c -> c.has(kind))) return null;
        double[] stat = null, tie = null;
        for (CorpusScores c : corpora) {
            RankAccumulator a = c.module(layer, kind);
            if (stat == null) {
                stat = new double[a.size()];
                tie = new double[a.size()];
                java.util.Arrays.fill(stat, Double.NEGATIVE_INFINITY);
            } else if (stat.length != a.size()) {
                throw new IllegalArgumentException("corpora disagree on the size of " + kind + " in layer " + layer);
            }
            double[] sum = a.relevanceSum();
            for (int k = 0; k < stat.length; k++) {
                stat[k] = Math.max(stat[k], a.rankStatistic(k, quantile));
                tie[k] += sum[k] / Math.max(1, a.documents());
            }
        }
        return new UnitScores.Ranked(stat, tie);
    }
}
