package io.cusprun.prune;

import java.util.List;

/**
 * Per-unit statistics a method hands the planner: lower = less relevant = removed first.
 *
 * @param method what produced them
 * @param layers one entry per decoder layer
 */
public record UnitScores(Method method, List<Layer> layers) implements PruneStatistics {

    public UnitScores {
        layers = List.copyOf(layers);
    }

    @Override
    public int numLayers() {
        return layers.size();
    }

    /**
     * A statistic per unit with a tie-break (both ascending: removed first).
     */
    public record Ranked(double[] stat, double[] tie) {
        public Ranked {
            if (stat.length != tie.length) throw new IllegalArgumentException("stat and tie differ in length");
        }

        public int size() {
            return stat.length;
        }

        /** Unit indices, least relevant first; index breaks remaining ties so the order is total. */
        public int[] order() {
            Integer[] idx = new Integer[stat.length];
            for (int i = 0; i < idx.length; i++) idx[i] = i;
            java.util.Arrays.sort(idx, (a, b) -> {
                int c = Double.compare(stat[a], stat[b]);
                if (c == 0) c = Double.compare(tie[a], tie[b]);
                return c != 0 ? c : Integer.compare(a, b);
            });
            int[] out = new int[idx.length];
            for (int i = 0; i < out.length; i++) out[i] = idx[i];
            return out;
        }
    }

    /**
     * Statistics of one layer; a field is null when the method does not score that unit.
     *
     * @param ffn        FFN neurons
     * @param heads      query heads
     * @param groups     key/value groups
     * @param qk         query/key RoPE pairs, index h*(d/2)+j
     * @param vo         value/output neurons, index h*d+j
     */
    public record Layer(Ranked ffn, Ranked heads, Ranked groups, Ranked qk, Ranked vo) {}
}
