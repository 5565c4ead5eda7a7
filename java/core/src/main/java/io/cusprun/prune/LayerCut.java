package io.cusprun.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The actual cut in one layer, per module the selection ranked: the statistic of the last unit
 * removed and of the first unit kept. Module names are those of the manifest: {@code ffn_neurons},
 * {@code query_heads} and {@code query_head_slots} (same number of query heads per GQA group;
 * slot j is the j-th least relevant head of every group, its statistic the maximum over groups),
 * {@code kv_groups} (whole key/value groups), {@code qk_pairs}, {@code vo_neurons}, and {@code layer} for layer dropping.
 *
 * @param layer        index in the source model
 * @param modules      module name to its cut, in the order above
 * @param headsByGroup for {@code query_heads}: the cut within each key/value group (the rule
 *                     removes the same number of the least relevant heads from every group, so
 *                     the cut is ordered within a group, not necessarily across groups); empty
 *                     otherwise
 */
public record LayerCut(int layer, Map<String, ModuleCut> modules, List<ModuleCut> headsByGroup) {

    public LayerCut {
        modules = Collections.unmodifiableMap(new LinkedHashMap<>(modules));
        headsByGroup = List.copyOf(headsByGroup);
    }

    /** The cuts of a unit selection: the modules the granularity and head unit let the planner rank. */
    static List<LayerCut> of(ModelShape shape, List<LayerPlan> plans, UnitScores scores, PruneSettings st) {
        List<LayerCut> out = new ArrayList<>();
        for (LayerPlan p : plans) {
            ModelShape.Layer s = shape.layer(p.layer());
            UnitScores.Layer sc = scores.layers().get(p.layer());
            Map<String, ModuleCut> m = new LinkedHashMap<>();
            List<ModuleCut> byGroup = new ArrayList<>();
            m.put("ffn_neurons", ModuleCut.of(sc.ffn().stat(), removed(p.keptFfn(), s.ffn())));
            switch (st.granularity()) {
                case FFN -> {}
                case FFN_HEADS -> {
                    if (PrunePlanner.useGroups(s, st)) {
                        UnitScores.Ranked g = s.groupSize() == 1 && sc.groups() == null ? sc.heads() : sc.groups();
                        m.put("kv_groups", ModuleCut.of(g.stat(), removed(p.keptKvHeads(), s.kvHeads())));
                    } else {
                        BitSet gone = removed(p.keptHeads(), s.heads());
                        m.put("query_heads", ModuleCut.of(sc.heads().stat(), gone));
                        int g = s.groupSize();
                        double[] slots = new double[g];
                        Arrays.fill(slots, Double.NEGATIVE_INFINITY);
                        for (int grp = 0; grp < s.kvHeads(); grp++) {
                            double[] inGroup = Arrays.copyOfRange(sc.heads().stat(), grp * g, grp * g + g);
                            byGroup.add(ModuleCut.of(inGroup, gone.get(grp * g, grp * g + g)));
                            Arrays.sort(inGroup);
                            for (int j = 0; j < g; j++) slots[j] = Math.max(slots[j], inGroup[j]);
                        }
                        // slot j: the j-th least relevant head of every group, statistic the max over groups
                        BitSet slotsGone = new BitSet();
                        slotsGone.set(0, (s.heads() - p.keptHeads().length) / s.kvHeads());
                        m.put("query_head_slots", ModuleCut.of(slots, slotsGone));
                    }
                }
                case NEURONS -> {
                    m.put("qk_pairs", ModuleCut.of(sc.qk().stat(), set(p.removedQk())));
                    m.put("vo_neurons", ModuleCut.of(sc.vo().stat(), set(p.removedVo())));
                }
            }
            out.add(new LayerCut(p.layer(), m, byGroup));
        }
        return out;
    }

    /** The cuts of layer dropping: each layer's score, removed or kept whole. */
    static List<LayerCut> of(List<LayerPlan> plans, LayerScores scores) {
        List<LayerCut> out = new ArrayList<>();
        for (LayerPlan p : plans) {
            BitSet gone = new BitSet();
            if (p.dropped()) gone.set(0);
            out.add(new LayerCut(
                    p.layer(), Map.of("layer", ModuleCut.of(new double[] {scores.score(p.layer())}, gone)), List.of()));
        }
        return out;
    }

    private static BitSet removed(int[] kept, int size) {
        BitSet gone = new BitSet();
        gone.set(0, size);
        for (int k : kept) gone.clear(k);
        return gone;
    }

    private static BitSet set(int[] indices) {
        BitSet b = new BitSet();
        for (int i : indices) b.set(i);
        return b;
    }
}
