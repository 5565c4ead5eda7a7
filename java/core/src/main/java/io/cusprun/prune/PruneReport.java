package io.cusprun.prune;

import java.util.Locale;

/** The human-readable summary of a plan (printed by prune and --dry-run). */
public final class PruneReport {
    private PruneReport() {}

    public static String describe(PrunePlan plan) {
        StringBuilder sb = new StringBuilder();
        ModelShape s = plan.source();
        sb.append(String.format(
                Locale.ROOT,
                "method %s, mode %s, granularity %s%s, sigma %.4f%n",
                plan.method().label(),
                plan.settings().mode().label(),
                plan.settings().granularity().label(),
                plan.settings().masked() ? " (masked)" : "",
                plan.sigma()));
        for (LayerPlan l : plan.layers()) {
            ModelShape.Layer ls = s.layer(l.layer());
            if (l.dropped()) {
                sb.append(String.format(Locale.ROOT, "  layer %2d: dropped (%,d params)%n", l.layer(), ls.params()));
                continue;
            }
            sb.append(String.format(
                    Locale.ROOT,
                    "  layer %2d: ffn %d -> %d, heads %d -> %d, kv heads %d -> %d%s, params %,d -> %,d%n",
                    l.layer(),
                    ls.ffn(),
                    l.keptFfn().length,
                    ls.heads(),
                    l.keptHeads().length,
                    ls.kvHeads(),
                    l.keptKvHeads().length,
                    l.removedQk().length + l.removedVo().length > 0
                            ? ", qk pairs zeroed " + l.removedQk().length + ", vo zeroed " + l.removedVo().length
                            : "",
                    ls.params(),
                    ls.params() - l.removedParams(ls)));
        }
        sb.append(String.format(
                Locale.ROOT,
                "removed %,d params: %.2f%% of decoder-block params (asked %.2f%%), %.2f%% of all params; %,d -> %,d%n",
                plan.removedParams(),
                100 * plan.blockRatio(),
                100 * plan.settings().ratio(),
                100 * plan.totalRatio(),
                s.totalParams(),
                plan.keptParams()));
        return sb.toString();
    }
}
