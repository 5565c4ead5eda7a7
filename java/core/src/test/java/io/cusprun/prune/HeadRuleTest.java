package io.cusprun.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.corpus.CorpusKind;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ModuleKey;
import io.cusprun.score.ModuleKind;
import io.cusprun.score.RankAccumulator;
import io.cusprun.score.RankUpdater;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The head rules (docs/heads.md) against a plain reference computed from the per-document
 * relevances themselves, and their effect on the selection.
 */
class HeadRuleTest {
    /** Heads may go (the paper's granularity; the compensated relevance's default removes none). */
    private static final PruneSettings HEADS = PruneSettings.DEFAULTS.withGranularity(Granularity.FFN_HEADS);

    /** Per-document relevance of one corpus: [layer][kind] -> docs x units, row-major. */
    record RawCorpus(int docs, Map<ModuleKey, double[]> relevance) {}

    /** The percentile rank of every unit in one row: ties share their mean rank (plain O(N^2) reference). */
    static double[] percentiles(double[] row) {
        int n = row.length;
        double[] p = new double[n];
        for (int k = 0; k < n; k++) {
            int below = 0, equal = 0;
            for (double x : row) {
                if (x < row[k]) below++;
                else if (x == row[k]) equal++;
            }
            double rank = below + (equal - 1) / 2.0;
            p[k] = n == 1 ? 0 : rank / (n - 1);
        }
        return p;
    }

    /** The reference statistic of one corpus and module under a rule. */
    static double[] reference(double[] rel, int docs, int n, HeadRule rule) {
        double[] out = new double[n];
        switch (rule) {
            case ALL_DOCS -> {
                for (int c = 0; c < docs; c++) {
                    double[] p = percentiles(java.util.Arrays.copyOfRange(rel, c * n, c * n + n));
                    for (int k = 0; k < n; k++) out[k] = Math.max(out[k], p[k]);
                }
            }
            case MEAN -> {
                for (int c = 0; c < docs; c++) {
                    double[] p = percentiles(java.util.Arrays.copyOfRange(rel, c * n, c * n + n));
                    for (int k = 0; k < n; k++) out[k] += p[k] / docs;
                }
            }
            case POOLED -> {
                double[] sum = new double[n];
                for (int c = 0; c < docs; c++) for (int k = 0; k < n; k++) sum[k] += rel[c * n + k];
                out = percentiles(sum);
            }
        }
        return out;
    }

    static final ModuleKind[] KINDS = {ModuleKind.MLP, ModuleKind.HEAD, ModuleKind.GROUP};
    static final int[] SIZES = {40, 8, 4};

    /** Random relevances: heavy-tailed, with exact ties inside a document and two heads equal everywhere. */
    static RawCorpus randomCorpus(Random rnd, int layers) {
        int docs = 1 + rnd.nextInt(30);
        Map<ModuleKey, double[]> rel = new HashMap<>();
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < KINDS.length; i++) {
                int n = SIZES[i];
                double[] r = new double[docs * n];
                for (int c = 0; c < docs; c++) {
                    for (int k = 0; k < n; k++) {
                        double x = Math.exp(2 * rnd.nextGaussian()) * (1 + k % 3);
                        r[c * n + k] = rnd.nextInt(5) == 0 ? Math.round(x) : x; // ties within a document
                    }
                    if (KINDS[i] == ModuleKind.HEAD) r[c * n + 5] = r[c * n + 2]; // equal in every document
                }
                rel.put(new ModuleKey(l, KINDS[i]), r);
            }
        }
        return new RawCorpus(docs, rel);
    }

    static CorpusScores accumulate(String name, RawCorpus raw, int bins) {
        Map<ModuleKey, RankAccumulator> modules = new HashMap<>();
        raw.relevance().forEach((key, rel) -> {
            int n = rel.length / raw.docs();
            RankAccumulator a = new RankAccumulator(n, bins);
            a.update(rel, raw.docs(), RankUpdater.JAVA);
            modules.put(key, a);
        });
        return new CorpusScores(CorpusKind.LANGUAGE, name, raw.docs(), 0, modules);
    }

    @Test
    void everyRuleMatchesTheReferenceOnRandomScores() {
        Random rnd = new Random(13);
        int layers = 2;
        for (int trial = 0; trial < 30; trial++) {
            int bins = new int[] {100, 7, 1000}[trial % 3];
            int nCorpora = 1 + rnd.nextInt(3);
            List<RawCorpus> raw = new ArrayList<>();
            List<CorpusScores> scored = new ArrayList<>();
            for (int x = 0; x < nCorpora; x++) {
                raw.add(randomCorpus(rnd, layers));
                scored.add(accumulate("c" + x, raw.get(x), bins));
            }
            UnitScores paper = CusprunStatistics.from(Method.CUSPRUN, scored, layers, 1.0);
            for (HeadRule rule : HeadRule.values()) {
                UnitScores got = CusprunStatistics.from(Method.CUSPRUN, scored, layers, 1.0, rule);
                for (int l = 0; l < layers; l++) {
                    UnitScores.Layer gl = got.layers().get(l),
                            pl = paper.layers().get(l);
                    // FFN neurons keep the paper's rule whatever the head rule; the tie-break never changes
                    assertArrayEquals(pl.ffn().stat(), gl.ffn().stat());
                    assertArrayEquals(pl.heads().tie(), gl.heads().tie());
                    for (ModuleKind kind : new ModuleKind[] {ModuleKind.HEAD, ModuleKind.GROUP}) {
                        UnitScores.Ranked r = kind == ModuleKind.HEAD ? gl.heads() : gl.groups();
                        int n = r.size();
                        double[] want = new double[n];
                        double[] max = new double[n];
                        for (RawCorpus c : raw) {
                            double[] rel = c.relevance().get(new ModuleKey(l, kind));
                            double[] ref = reference(rel, c.docs(), n, rule);
                            double[] refMax = reference(rel, c.docs(), n, HeadRule.ALL_DOCS);
                            for (int k = 0; k < n; k++) {
                                want[k] = Math.max(want[k], ref[k]);
                                max[k] = Math.max(max[k], refMax[k]);
                            }
                        }
                        // the mean is read from bin centres: within half a bin of the exact mean
                        double tol = rule == HeadRule.MEAN ? 0.5 / bins + 1e-6 : 1e-6;
                        for (int k = 0; k < n; k++) {
                            String where = rule + " trial " + trial + " layer " + l + " " + kind + " unit " + k;
                            assertEquals(want[k], r.stat()[k], tol, where);
                            assertTrue(r.stat()[k] <= max[k] + 1e-6, where); // never above the paper's statistic
                        }
                    }
                    // heads 2 and 5 have equal relevance in every document: equal statistics
                    assertEquals(gl.heads().stat()[2], gl.heads().stat()[5]);
                }
            }
        }
    }

    /**
     * The symptom the rules exist for: every head is the most relevant one in some document,
     * so under the all-document rule none can go, while in every other document the heads of
     * a group have distinct typical levels. Mean and pooled remove the weakest heads of every
     * group (as many per group as the planner's sigma admits, at least one), at the same
     * parameter count.
     */
    @Test
    void headsThatAreTopOnlyOccasionallyGoUnderMeanAndPooled() {
        ModelShape shape = PrunePlannerTest.shape();
        int layers = PrunePlannerTest.LAYERS, h = PrunePlannerTest.H, g = h / PrunePlannerTest.KV;
        Random rnd = new Random(7);
        int docs = 40;
        double[] levels = {0.1, 0.3, 1, 3};
        Map<ModuleKey, double[]> rel = new HashMap<>();
        int[][] level = new int[layers][h]; // the typical level of every head, a different order per layer
        for (int l = 0; l < layers; l++) {
            double[] ffn = new double[docs * PrunePlannerTest.F];
            for (int i = 0; i < ffn.length; i++) ffn[i] = rnd.nextDouble() * (1 + (i % PrunePlannerTest.F) % 5);
            rel.put(new ModuleKey(l, ModuleKind.MLP), ffn);
            for (int k = 0; k < h; k++) level[l][k] = (k + l) % g;
            double[] heads = new double[docs * h];
            for (int c = 0; c < docs; c++) {
                for (int k = 0; k < h; k++) heads[c * h + k] = levels[level[l][k]] * (1 + 0.2 * rnd.nextDouble());
                heads[c * h + c % h] = 10; // every head is the top one in some document
            }
            rel.put(new ModuleKey(l, ModuleKind.HEAD), heads);
            double[] groups = new double[docs * PrunePlannerTest.KV];
            for (int i = 0; i < groups.length; i++) groups[i] = 1 + rnd.nextDouble();
            rel.put(new ModuleKey(l, ModuleKind.GROUP), groups);
        }
        List<CorpusScores> scored = List.of(accumulate("x", new RawCorpus(docs, rel), 100));
        PruneSettings settings = HEADS.withRatio(0.3);
        long target = Math.round(0.3 * shape.blockParams());
        long ffnNeuron = shape.layer(0).ffnNeuron();
        for (HeadRule rule : HeadRule.values()) {
            UnitScores stats = CusprunStatistics.from(Method.CUSPRUN, scored, layers, 1.0, rule);
            PrunePlan plan = PrunePlanner.plan(shape, stats, settings.withHeadRule(rule));
            assertTrue(Math.abs(plan.removedParams() - target) <= layers * ffnNeuron / 2, rule + " misses the ratio");
            for (int l = 0; l < layers; l++) {
                int[] kept = plan.layers().get(l).keptHeads();
                if (rule == HeadRule.ALL_DOCS) {
                    assertEquals(h, kept.length, "all-docs keeps every head");
                    continue;
                }
                int removedPerGroup = (h - kept.length) / PrunePlannerTest.KV;
                assertTrue(removedPerGroup >= 1, rule + " removes no head in layer " + l);
                List<Integer> want = new ArrayList<>(); // every head above the removed levels
                for (int k = 0; k < h; k++) if (level[l][k] >= removedPerGroup) want.add(k);
                assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), kept, rule + " layer " + l);
            }
        }
    }

    @Test
    void labelsParseBack() {
        for (HeadRule r : HeadRule.values()) assertEquals(r, HeadRule.parse(r.label()));
        assertEquals(HeadRule.ALL_DOCS, PruneSettings.DEFAULTS.headRule());
    }
}
