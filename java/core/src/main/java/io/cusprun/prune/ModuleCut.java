package io.cusprun.prune;

/**
 * Where the selection actually cut one module of one layer, in the statistic the planner ranked
 * the units by (lower = less relevant = removed first; for cusprun the maximum percentile rank
 * over documents).
 *
 * @param removed     units of the module removed
 * @param kept        units kept
 * @param lastRemoved the largest statistic among the removed units (NaN when none was removed)
 * @param firstKept   the smallest statistic among the kept units (NaN when none was kept)
 */
public record ModuleCut(int removed, int kept, double lastRemoved, double firstKept) {

    /** The cut between the units flagged in {@code gone} and the others, over their statistics. */
    public static ModuleCut of(double[] stat, java.util.BitSet gone) {
        double last = Double.NaN, first = Double.NaN;
        int removed = 0;
        for (int i = 0; i < stat.length; i++) {
            if (gone.get(i)) {
                removed++;
                if (Double.isNaN(last) || stat[i] > last) last = stat[i];
            } else if (Double.isNaN(first) || stat[i] < first) {
                first = stat[i];
            }
        }
        return new ModuleCut(removed, stat.length - removed, last, first);
    }

    /**
     * Whether the cut is clean: every removed unit's statistic is at most every kept unit's (ties
     * are broken by a second statistic, so equality is allowed).
     */
    public boolean ordered() {
        return removed == 0 || kept == 0 || lastRemoved <= firstKept;
    }
}
