package io.cusprun.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses sigma, and with it what every layer keeps, so the removed fraction of decoder-block
 * parameters comes as close to the requested ratio as the granularity allows (docs/method.md, "Removal and output").
 *
 * <p>Units of one kind in one layer (a "family": its FFN neurons, its KV groups, its query-head
 * slots, ...) are always removed as a prefix of their least-relevant-first order.
 * <ul>
 *   <li>uniform: for a threshold sigma every kind removes, in every layer, the layer mean of
 *   the number of its units at or below sigma; sigma is found by bisection, then the FFN count
 *   (the finest unit) is fine-tuned to the ratio.</li>
 *   <li>per-layer: all units of all layers in one least-relevant-first order; units are removed
 *   along it while that brings the total closer to the target, skipping units a floor protects.</li>
 * </ul>
 */
public final class PrunePlanner {

    /** Kinds of removable units, in tie-break order. */
    enum Kind {
        FFN,
        GROUP,
        SLOT,
        QK,
        VO
    }

    /**
     * Units of one kind in one layer, already in removal order.
     *
     * @param stat     statistic in removal order (non-decreasing)
     * @param tie      tie-break in removal order (non-decreasing where stat is equal)
     * @param cost     parameters one unit removes
     * @param maxCount most units the floor lets go
     */
    record Family(Kind kind, int layer, double[] stat, double[] tie, long cost, int maxCount) {
        int countAtOrBelow(double sigma) {
            int lo = 0, hi = stat.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (stat[mid] <= sigma) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }
    }

    private PrunePlanner() {}

    public static PrunePlan plan(ModelShape shape, PruneStatistics statistics, PruneSettings settings) {
        if (statistics.numLayers() != shape.numLayers()) {
            throw new IllegalArgumentException(
                    "scores have " + statistics.numLayers() + " layers, the model " + shape.numLayers());
        }
        settings = settings.resolvedFor(statistics.method()); // the plan records the granularity it used
        long target = Math.round(settings.ratio() * shape.blockParams());
        return statistics instanceof LayerScores layers
                ? dropLayers(shape, layers, settings, target)
                : selectUnits(shape, (UnitScores) statistics, settings, target);
    }

    private static PrunePlan selectUnits(ModelShape shape, UnitScores scores, PruneSettings settings, long target) {
        List<List<Family>> families = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++)
            families.add(families(l, shape.layer(l), scores.layers().get(l), settings));
        int[][] counts = new int[shape.numLayers()][Kind.values().length];
        double sigma = settings.mode() == PruneMode.UNIFORM
                ? uniform(families, counts, target)
                : perLayer(families, counts, target);
        List<LayerPlan> layers = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            layers.add(layerPlan(l, shape, scores.layers().get(l), settings, counts[l]));
        }
        return new PrunePlan(
                shape, settings, scores.method(), sigma, layers, LayerCut.of(shape, layers, scores, settings));
    }

    // ------------------------------------------------------------------ families

    private static List<Family> families(int l, ModelShape.Layer s, UnitScores.Layer sc, PruneSettings st) {
        List<Family> f = new ArrayList<>();
        int ffnFloor = Math.max(1, (int) Math.ceil(st.minFfnFraction() * s.ffn()));
        f.add(family(Kind.FFN, l, need(sc.ffn(), "FFN", l), s.ffnNeuron(), s.ffn() - ffnFloor));
        switch (st.granularity()) {
            case FFN -> {}
            case FFN_HEADS -> {
                if (useGroups(s, st)) {
                    UnitScores.Ranked groups = s.groupSize() == 1 ? firstNonNull(sc.groups(), sc.heads()) : sc.groups();
                    f.add(family(Kind.GROUP, l, need(groups, "KV group", l), s.group(), s.kvHeads() - 1));
                } else {
                    f.add(slots(l, s, need(sc.heads(), "head", l)));
                }
            }
            case NEURONS -> {
                f.add(family(
                        Kind.QK,
                        l,
                        need(sc.qk(), "query/key", l),
                        s.qkPair(),
                        sc.qk().size() - 1));
                f.add(family(
                        Kind.VO,
                        l,
                        need(sc.vo(), "value/output", l),
                        s.voNeuron(),
                        sc.vo().size() - 1));
            }
        }
        return f;
    }

    static boolean useGroups(ModelShape.Layer s, PruneSettings st) {
        return st.headUnit() == HeadUnit.GROUP || s.groupSize() == 1;
    }

    private static Family family(Kind kind, int layer, UnitScores.Ranked r, long cost, int maxCount) {
        int[] order = r.order();
        double[] stat = new double[order.length];
        double[] tie = new double[order.length];
        for (int i = 0; i < order.length; i++) {
            stat[i] = r.stat()[order[i]];
            tie[i] = r.tie()[order[i]];
        }
        return new Family(kind, layer, stat, tie, cost, Math.max(0, maxCount));
    }

    /**
     * Slot j removes the j-th least relevant query head of every group; its statistic is the
     * max over groups (irrelevant for all of them), so slots keep GQA groups the same size.
     */
    private static Family slots(int l, ModelShape.Layer s, UnitScores.Ranked heads) {
        int g = s.groupSize();
        double[] stat = new double[g];
        double[] tie = new double[g];
        Arrays.fill(stat, Double.NEGATIVE_INFINITY);
        for (int grp = 0; grp < s.kvHeads(); grp++) {
            int[] order = groupOrder(heads, grp, g);
            for (int j = 0; j < g; j++) {
                stat[j] = Math.max(stat[j], heads.stat()[order[j]]);
                tie[j] += heads.tie()[order[j]];
            }
        }
        for (int j = 1; j < g; j++) tie[j] = Math.max(tie[j], tie[j - 1]); // keep the prefix order total
        return new Family(Kind.SLOT, l, stat, tie, (long) s.kvHeads() * s.queryHead(), g - 1);
    }

    /** Query heads of group grp, least relevant first. */
    static int[] groupOrder(UnitScores.Ranked heads, int grp, int g) {
        double[] st = Arrays.copyOfRange(heads.stat(), grp * g, grp * g + g);
        double[] ti = Arrays.copyOfRange(heads.tie(), grp * g, grp * g + g);
        int[] local = new UnitScores.Ranked(st, ti).order();
        for (int j = 0; j < g; j++) local[j] += grp * g;
        return local;
    }

    // ------------------------------------------------------------------ uniform

    private static double uniform(List<List<Family>> families, int[][] counts, long target) {
        int nLayers = families.size();
        double[] candidates = families.stream()
                .flatMap(List::stream)
                .flatMapToDouble(f -> Arrays.stream(f.stat()))
                .distinct()
                .sorted()
                .toArray();
        // index -1 = sigma below everything = remove nothing
        int lo = -1, hi = candidates.length - 1;
        while (lo < hi) {
            int mid = Math.floorDiv(lo + hi + 1, 2);
            if (uniformRemoved(families, candidates[mid], null) <= target) lo = mid;
            else hi = mid - 1;
        }
        int best = lo;
        if (lo + 1 < candidates.length) {
            long below = lo < 0 ? 0 : uniformRemoved(families, candidates[lo], null);
            long above = uniformRemoved(families, candidates[lo + 1], null);
            if (Math.abs(above - target) < Math.abs(target - below)) best = lo + 1;
        }
        double sigma = best < 0 ? Double.NEGATIVE_INFINITY : candidates[best];
        Map<Kind, Integer> n = new EnumMap<>(Kind.class);
        uniformRemoved(families, sigma, n);
        // fine-tune the FFN count (the finest unit) to the target, other kinds fixed
        long others = 0, ffnCost = 0;
        int ffnMax = Integer.MAX_VALUE;
        for (List<Family> layer : families) {
            for (Family f : layer) {
                if (f.kind() == Kind.FFN) {
                    ffnCost += f.cost();
                    ffnMax = Math.min(ffnMax, f.maxCount());
                } else {
                    others += f.cost() * n.get(f.kind());
                }
            }
        }
        int nFfn = (int) Math.max(0, Math.min(ffnMax, Math.round((target - others) / (double) ffnCost)));
        n.put(Kind.FFN, nFfn);
        for (int l = 0; l < nLayers; l++) {
            for (Family f : families.get(l)) counts[l][f.kind().ordinal()] = n.get(f.kind());
        }
        return sigma;
    }

    /** Parameters removed when every kind removes its rounded layer-mean count at sigma. */
    private static long uniformRemoved(List<List<Family>> families, double sigma, Map<Kind, Integer> countsOut) {
        Map<Kind, long[]> sums = new EnumMap<>(Kind.class); // kind -> {count sum, layers, min max, cost sum}
        for (List<Family> layer : families) {
            for (Family f : layer) {
                long[] a = sums.computeIfAbsent(f.kind(), k -> new long[] {0, 0, Long.MAX_VALUE, 0});
                a[0] += f.countAtOrBelow(sigma);
                a[1]++;
                a[2] = Math.min(a[2], f.maxCount());
                a[3] += f.cost();
            }
        }
        long removed = 0;
        for (Map.Entry<Kind, long[]> e : sums.entrySet()) {
            long[] a = e.getValue();
            int n = (int) Math.min(a[2], Math.round(a[0] / (double) a[1]));
            if (countsOut != null) countsOut.put(e.getKey(), n);
            removed += n * a[3];
        }
        return removed;
    }

    // ------------------------------------------------------------------ per layer

    private record Unit(Family family, int position) {
        double stat() {
            return family.stat()[position];
        }

        double tie() {
            return family.tie()[position];
        }
    }

    private static double perLayer(List<List<Family>> families, int[][] counts, long target) {
        List<Unit> units = new ArrayList<>();
        for (List<Family> layer : families) {
            for (Family f : layer) for (int p = 0; p < f.stat().length; p++) units.add(new Unit(f, p));
        }
        units.sort((a, b) -> {
            int c = Double.compare(a.stat(), b.stat());
            if (c == 0) c = Double.compare(a.tie(), b.tie());
            if (c == 0) c = a.family().kind().compareTo(b.family().kind());
            if (c == 0) c = Integer.compare(a.family().layer(), b.family().layer());
            return c != 0 ? c : Integer.compare(a.position(), b.position());
        });
        long removed = 0;
        double sigma = Double.NEGATIVE_INFINITY;
        for (Unit u : units) {
            Family f = u.family();
            int[] c = counts[f.layer()];
            if (c[f.kind().ordinal()] >= f.maxCount()) continue; // floor: this family is done
            long next = removed + f.cost();
            if (Math.abs(next - target) >= Math.abs(target - removed)) break;
            c[f.kind().ordinal()]++;
            removed = next;
            sigma = u.stat();
        }
        return sigma;
    }

    // ------------------------------------------------------------------ layers

    private static LayerPlan layerPlan(int l, ModelShape shape, UnitScores.Layer sc, PruneSettings st, int[] n) {
        ModelShape.Layer s = shape.layer(l);
        BitSet ffnGone = firstN(sc.ffn(), n[Kind.FFN.ordinal()]);
        BitSet headGone = new BitSet();
        BitSet kvGone = new BitSet();
        int g = s.groupSize();
        if (n[Kind.GROUP.ordinal()] > 0) {
            UnitScores.Ranked groups = g == 1 ? firstNonNull(sc.groups(), sc.heads()) : sc.groups();
            kvGone = firstN(groups, n[Kind.GROUP.ordinal()]);
            for (int grp = kvGone.nextSetBit(0); grp >= 0; grp = kvGone.nextSetBit(grp + 1))
                headGone.set(grp * g, grp * g + g);
        }
        for (int grp = 0; grp < s.kvHeads() && n[Kind.SLOT.ordinal()] > 0; grp++) {
            int[] order = groupOrder(sc.heads(), grp, g);
            for (int j = 0; j < n[Kind.SLOT.ordinal()]; j++) headGone.set(order[j]);
        }
        int[] qk = n[Kind.QK.ordinal()] > 0 ? toArray(firstN(sc.qk(), n[Kind.QK.ordinal()])) : new int[0];
        int[] vo = n[Kind.VO.ordinal()] > 0 ? toArray(firstN(sc.vo(), n[Kind.VO.ordinal()])) : new int[0];
        return new LayerPlan(
                l,
                false,
                complement(ffnGone, s.ffn()),
                complement(headGone, s.heads()),
                complement(kvGone, s.kvHeads()),
                qk,
                vo);
    }

    private static PrunePlan dropLayers(ModelShape shape, LayerScores scores, PruneSettings settings, long target) {
        Integer[] order = new Integer[shape.numLayers()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(scores.score(a), scores.score(b));
            return c != 0 ? c : Integer.compare(a, b);
        });
        BitSet dropped = new BitSet();
        long removed = 0;
        double sigma = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < order.length - 1; i++) { // at least one layer stays
            long next = removed + shape.layer(order[i]).params();
            if (Math.abs(next - target) >= Math.abs(target - removed)) break;
            dropped.set(order[i]);
            removed = next;
            sigma = scores.score(order[i]);
        }
        List<LayerPlan> layers = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            LayerPlan all = LayerPlan.keepAll(l, shape.layer(l));
            layers.add(
                    dropped.get(l)
                            ? new LayerPlan(
                                    l,
                                    true,
                                    all.keptFfn(),
                                    all.keptHeads(),
                                    all.keptKvHeads(),
                                    all.removedQk(),
                                    all.removedVo())
                            : all);
        }
        return new PrunePlan(shape, settings, scores.method(), sigma, layers, LayerCut.of(layers, scores));
    }

    // ------------------------------------------------------------------ helpers

    private static BitSet firstN(UnitScores.Ranked r, int n) {
        int[] order = r.order();
        BitSet b = new BitSet();
        for (int i = 0; i < n; i++) b.set(order[i]);
        return b;
    }

    private static int[] complement(BitSet gone, int size) {
        int[] kept = new int[size - gone.cardinality()];
        int j = 0;
        for (int i = 0; i < size; i++) if (!gone.get(i)) kept[j++] = i;
        return kept;
    }

    private static int[] toArray(BitSet b) {
        return b.stream().toArray();
    }

    private static UnitScores.Ranked need(UnitScores.Ranked r, String what, int layer) {
        if (r == null)
            throw new IllegalArgumentException("no " + what + " statistics for layer " + layer
                    + " (score with the granularity's units, e.g. neurons for neuron granularity)");
        return r;
    }

    private static UnitScores.Ranked firstNonNull(UnitScores.Ranked a, UnitScores.Ranked b) {
        return a != null ? a : b;
    }
}
