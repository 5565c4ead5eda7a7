package io.cusprun.api;

import io.cusprun.prune.Granularity;
import io.cusprun.prune.LayerPlan;
import io.cusprun.prune.Method;
import io.cusprun.prune.ModelShape;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.score.CorpusScores;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The data of a comparison report's charts: what each layer keeps, and how the corpora's irrelevant neurons overlap. */
final class ComparisonCharts {
    private ComparisonCharts() {}

    /** Kept fraction per layer of FFN neurons and of query heads in a plan. */
    static Map<String, double[]> keptFractions(PrunePlan plan) {
        ModelShape shape = plan.source();
        double[] ffn = new double[shape.numLayers()];
        double[] heads = new double[shape.numLayers()];
        for (LayerPlan l : plan.layers()) {
            ModelShape.Layer s = shape.layer(l.layer());
            ffn[l.layer()] = l.dropped() ? 0 : l.keptFfn().length / (double) s.ffn();
            heads[l.layer()] = l.dropped() ? 0 : l.keptHeads().length / (double) s.heads();
        }
        Map<String, double[]> m = new LinkedHashMap<>();
        m.put("mlp (FFN neurons)", ffn);
        m.put("self_attn (query heads)", heads);
        return m;
    }

    /**
     * Jaccard overlap between the FFN neurons each corpus alone would remove at {@code ratio}
     * (uniform, FFN only, by the paper's ablation statistic: it needs only the scores): corpora that
     * share little need different experts.
     */
    static double[][] overlap(ExpertPruner pruner, List<CorpusScores> corpora, double ratio) {
        List<Set<Long>> removed = new ArrayList<>();
        PruneSettings ffnOnly = PruneSettings.DEFAULTS
                .withRatio(ratio)
                .withGranularity(Granularity.FFN)
                .withRelevance(io.cusprun.prune.Relevance.ABLATION);
        for (CorpusScores c : corpora) {
            try {
                PruneStatistics stats = pruner.statistics(Method.CUSPRUN, PruneData.scored(List.of(c)), ffnOnly);
                PrunePlan plan = pruner.plan(stats, ffnOnly);
                Set<Long> set = new HashSet<>();
                for (LayerPlan l : plan.layers()) {
                    boolean[] kept = new boolean[plan.source().layer(l.layer()).ffn()];
                    for (int k : l.keptFfn()) {
                        kept[k] = true;
                    }
                    for (int k = 0; k < kept.length; k++) {
                        if (!kept[k]) {
                            set.add(((long) l.layer() << 32) | k);
                        }
                    }
                }
                removed.add(set);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        int n = removed.size();
        double[][] j = new double[n][n];
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                Set<Long> inter = new HashSet<>(removed.get(a));
                inter.retainAll(removed.get(b));
                int union = removed.get(a).size() + removed.get(b).size() - inter.size();
                j[a][b] = union == 0 ? 1.0 : inter.size() / (double) union;
            }
        }
        return j;
    }
}
