package io.cusprun.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Selection on a synthetic shape (no weights needed): ratios, uniformity, floors, GQA consistency. */
class PrunePlannerTest {
    /** Heads may go (the paper's granularity; the compensated relevance's default removes none). */
    private static final PruneSettings HEADS = PruneSettings.DEFAULTS.withGranularity(Granularity.FFN_HEADS);

    static final int LAYERS = 6, D = 64, F = 172, H = 8, KV = 2, HD = 8;

    static ModelShape shape() {
        Map<String, long[]> s = new HashMap<>();
        s.put("model.embed_tokens.weight", new long[] {100, D});
        s.put("lm_head.weight", new long[] {100, D});
        s.put("model.norm.weight", new long[] {D});
        for (int l = 0; l < LAYERS; l++) {
            String p = ModelShape.layerPrefix(l);
            s.put(p + "input_layernorm.weight", new long[] {D});
            s.put(p + "post_attention_layernorm.weight", new long[] {D});
            s.put(p + "self_attn.q_proj.weight", new long[] {H * HD, D});
            s.put(p + "self_attn.k_proj.weight", new long[] {KV * HD, D});
            s.put(p + "self_attn.v_proj.weight", new long[] {KV * HD, D});
            s.put(p + "self_attn.o_proj.weight", new long[] {D, H * HD});
            s.put(p + "mlp.gate_proj.weight", new long[] {F, D});
            s.put(p + "mlp.up_proj.weight", new long[] {F, D});
            s.put(p + "mlp.down_proj.weight", new long[] {D, F});
        }
        return ModelShape.of(s, HD);
    }

    static UnitScores scores(long seed) {
        Random rnd = new Random(seed);
        List<UnitScores.Layer> layers = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            // later layers less relevant, so per-layer mode has something to find
            double shift = -0.05 * l;
            layers.add(new UnitScores.Layer(r(rnd, F, shift), r(rnd, H, shift), r(rnd, KV, shift), null, null));
        }
        return new UnitScores(Method.CUSPRUN, layers);
    }

    static UnitScores.Ranked r(Random rnd, int n, double shift) {
        double[] s = new double[n], t = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.round((rnd.nextDouble() + shift) * 20) / 20.0; // coarse: many ties
            t[i] = rnd.nextDouble();
        }
        return new UnitScores.Ranked(s, t);
    }

    /**
     * With no granularity chosen, cusprun under the compensated relevance removes FFN neurons only,
     * under the paper's rule heads too, the other methods heads too (as published); a chosen one
     * wins; the plan records what it used.
     */
    @Test
    void theDefaultGranularityFollowsTheRelevanceAndThePlanRecordsIt() {
        PruneSettings d = PruneSettings.DEFAULTS.withRatio(0.6);
        assertEquals(Granularity.FFN, d.granularity());
        assertEquals(Granularity.FFN_HEADS, d.withRelevance(Relevance.ABLATION).granularity());
        assertEquals(Granularity.FFN_HEADS, d.resolvedFor(Method.WANDA_SP).granularity());
        assertEquals(Granularity.FFN, d.resolvedFor(Method.CUSPRUN_GENERAL).granularity());
        assertEquals(
                Granularity.FFN,
                d.withGranularity(Granularity.FFN).resolvedFor(Method.FLAP).granularity());

        ModelShape shape = shape();
        PrunePlan byDefault = PrunePlanner.plan(shape, scores(1), d);
        assertEquals(
                java.util.Optional.of(Granularity.FFN), byDefault.settings().chosenGranularity());
        PrunePlan paper = PrunePlanner.plan(shape, scores(1), d.withRelevance(Relevance.ABLATION));
        assertEquals(
                java.util.Optional.of(Granularity.FFN_HEADS), paper.settings().chosenGranularity());
        int headsByDefault = 0, headsByPaper = 0;
        for (int l = 0; l < LAYERS; l++) {
            headsByDefault += H - byDefault.layers().get(l).keptHeads().length;
            headsByPaper += H - paper.layers().get(l).keptHeads().length;
        }
        assertEquals(0, headsByDefault);
        assertTrue(headsByPaper > 0, "the same scores remove heads where heads may go");
        PrunePlan wanda = PrunePlanner.plan(
                shape, new UnitScores(Method.WANDA_SP, scores(1).layers()), d);
        assertEquals(
                java.util.Optional.of(Granularity.FFN_HEADS), wanda.settings().chosenGranularity());
    }

    @Test
    void shapeCountsParameters() {
        ModelShape s = shape();
        ModelShape.Layer l = s.layer(0);
        assertEquals(2 * D + 2L * H * HD * D + 2L * KV * HD * D + 3L * F * D, l.params());
        assertEquals(3L * D, l.ffnNeuron());
        assertEquals(4, l.groupSize());
        assertEquals(LAYERS * l.params() + 2 * 100L * D + D, s.totalParams());
    }

    @Test
    void uniformHitsTheRatioWithEqualLayers() {
        ModelShape shape = shape();
        for (double ratio : new double[] {0.0, 0.1, 0.33, 0.6}) {
            for (HeadUnit unit : HeadUnit.values()) {
                PrunePlan p = PrunePlanner.plan(
                        shape, scores(1), HEADS.withRatio(ratio).withHeadUnit(unit));
                assertTrue(p.uniformSizes());
                // within one FFN neuron per layer of the target
                assertEquals(
                        ratio, p.blockRatio(), LAYERS * 3.0 * D / shape.blockParams() / 2 + 1e-12, "ratio " + ratio);
                for (LayerPlan l : p.layers()) consistentGroups(l);
            }
        }
    }

    @Test
    void perLayerFollowsScoresAndKeepsFloors() {
        ModelShape shape = shape();
        PruneSettings s = HEADS.withRatio(0.7).withMode(PruneMode.PER_LAYER).withHeadUnit(HeadUnit.GROUP);
        PrunePlan p = PrunePlanner.plan(shape, scores(2), s);
        assertEquals(0.7, p.blockRatio(), 0.02);
        for (LayerPlan l : p.layers()) {
            assertTrue(l.keptFfn().length >= Math.ceil(0.1 * F), "FFN floor");
            assertTrue(l.keptKvHeads().length >= 1, "one KV group stays");
            consistentGroups(l);
        }
        int first = p.layers().get(0).keptFfn().length,
                last = p.layers().get(LAYERS - 1).keptFfn().length;
        assertTrue(last < first, "less relevant layers lose more: " + first + " vs " + last);
    }

    @Test
    void neuronGranularityNeedsMaskedOutputAndScores() {
        assertThrows(IllegalArgumentException.class, () -> HEADS.withRatio(0.2).withGranularity(Granularity.NEURONS));
        PruneSettings s = HEADS.withRatio(0.2).withMasked(true).withGranularity(Granularity.NEURONS);
        assertThrows(IllegalArgumentException.class, () -> PrunePlanner.plan(shape(), scores(3), s));
    }

    @Test
    void cutsAndCountsAgreeWithTheScores() {
        ModelShape shape = shape();
        for (PruneMode mode : PruneMode.values()) {
            for (HeadUnit unit : HeadUnit.values()) {
                for (double ratio : new double[] {0.0, 0.2, 0.5}) {
                    UnitScores sc = scores(7);
                    PrunePlan p = PrunePlanner.plan(
                            shape, sc, HEADS.withRatio(ratio).withMode(mode).withHeadUnit(unit));
                    String what = mode + " " + unit + " " + ratio;
                    assertEquals(mode == PruneMode.UNIFORM, p.sigmaNominal(), what);
                    long params = 0;
                    double highestRemoved = Double.NEGATIVE_INFINITY;
                    for (LayerPlan l : p.layers()) {
                        ModelShape.Layer ls = shape.layer(l.layer());
                        UnitCounts c = p.removedUnitsPerLayer().get(l.layer());
                        assertEquals(F - l.keptFfn().length, c.ffnNeurons(), what);
                        assertEquals(H - l.keptHeads().length, c.queryHeads(), what);
                        assertEquals(KV - l.keptKvHeads().length, c.kvGroups(), what);
                        params += c.ffnNeurons() * ls.ffnNeuron()
                                + c.queryHeads() * ls.queryHead()
                                + c.kvGroups() * ls.kvHead();
                        LayerCut cut = p.cuts().get(l.layer());
                        UnitScores.Layer ul = sc.layers().get(l.layer());
                        ModuleCut ffn = cut.modules().get("ffn_neurons");
                        assertEquals(reference(ul.ffn().stat(), l.keptFfn()), ffn, what);
                        assertTrue(ffn.ordered(), what + " " + ffn);
                        if (ffn.removed() > 0) highestRemoved = Math.max(highestRemoved, ffn.lastRemoved());
                        if (unit == HeadUnit.GROUP) {
                            ModuleCut kv = cut.modules().get("kv_groups");
                            assertEquals(reference(ul.groups().stat(), l.keptKvHeads()), kv, what);
                            assertTrue(kv.ordered(), what + " " + kv);
                            assertTrue(cut.headsByGroup().isEmpty());
                            if (kv.removed() > 0) highestRemoved = Math.max(highestRemoved, kv.lastRemoved());
                            if (mode == PruneMode.PER_LAYER && kv.removed() < KV - 1)
                                assertTrue(kv.firstKept() >= p.sigma(), what);
                        } else {
                            assertEquals(
                                    reference(ul.heads().stat(), l.keptHeads()),
                                    cut.modules().get("query_heads"),
                                    what);
                            ModuleCut slots = cut.modules().get("query_head_slots");
                            assertTrue(slots.ordered(), what + " " + slots);
                            assertEquals(c.queryHeads() / KV, slots.removed(), what);
                            if (slots.removed() > 0) highestRemoved = Math.max(highestRemoved, slots.lastRemoved());
                            assertEquals(KV, cut.headsByGroup().size());
                            for (ModuleCut g : cut.headsByGroup()) {
                                assertTrue(g.ordered(), what + " " + g);
                                assertEquals(c.queryHeads() / KV, g.removed(), "same number from every group");
                            }
                        }
                        if (mode == PruneMode.PER_LAYER && ffn.removed() < F - Math.ceil(0.1 * F))
                            assertTrue(ffn.firstKept() >= p.sigma(), what + " " + ffn);
                    }
                    assertEquals(p.removedParams(), params, what);
                    assertEquals(UnitCounts.sum(p.removedUnitsPerLayer()), p.removedUnits());
                    if (mode == PruneMode.PER_LAYER && params > 0)
                        assertEquals(p.sigma(), highestRemoved, what); // the last unit removed overall
                }
            }
        }
    }

    /** The cut by its definition: the largest statistic removed and the smallest kept. */
    static ModuleCut reference(double[] stat, int[] kept) {
        java.util.Set<Integer> keep = new java.util.HashSet<>();
        for (int k : kept) keep.add(k);
        double last = Double.NaN, first = Double.NaN;
        for (int i = 0; i < stat.length; i++) {
            if (keep.contains(i)) first = Double.isNaN(first) ? stat[i] : Math.min(first, stat[i]);
            else last = Double.isNaN(last) ? stat[i] : Math.max(last, stat[i]);
        }
        return new ModuleCut(stat.length - kept.length, kept.length, last, first);
    }

    static void consistentGroups(LayerPlan l) {
        int g = H / KV;
        int perGroup = -1;
        for (int kv : l.keptKvHeads()) {
            int n = 0;
            for (int h : l.keptHeads()) if (h / g == kv) n++;
            assertTrue(perGroup < 0 || perGroup == n, "same number of query heads in every kept group");
            perGroup = n;
        }
        for (int h : l.keptHeads()) {
            assertTrue(java.util.Arrays.stream(l.keptKvHeads()).anyMatch(kv -> kv == h / g), "head's group kept");
        }
    }
}
