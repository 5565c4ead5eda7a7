package io.cusprun.prune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The accounting of a plan: the human-readable summary printed by prune and --dry-run, the JSON
 * of {@code prune --json}, and the removed counts and actual cuts in the manifest.
 */
public final class PruneReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PruneReport() {}

    public static String describe(PrunePlan plan) {
        StringBuilder sb = new StringBuilder();
        ModelShape s = plan.source();
        sb.append(String.format(
                Locale.ROOT,
                "method %s, mode %s, granularity %s%s, sigma %.4f%s%n",
                plan.method().label(),
                plan.settings().mode().label(),
                plan.settings().granularity().label(),
                plan.settings().masked() ? " (masked)" : "",
                plan.sigma(),
                plan.sigmaNominal()
                        ? " (nominal: per-layer counts are fitted to the ratio; actual cuts per layer)"
                        : ""));
        for (LayerPlan l : plan.layers()) {
            ModelShape.Layer ls = s.layer(l.layer());
            if (l.dropped()) {
                sb.append(String.format(Locale.ROOT, "  layer %2d: dropped (%,d params)%n", l.layer(), ls.params()));
                continue;
            }
            sb.append(String.format(
                    Locale.ROOT,
                    "  layer %2d: ffn %d -> %d, heads %d -> %d, kv heads %d -> %d%s, params %,d -> %,d%s%n",
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
                    ls.params() - l.removedParams(ls),
                    plan.cuts().isEmpty() ? "" : cutText(plan.cuts().get(l.layer()))));
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
        sb.append(unitsLine(plan)).append(System.lineSeparator());
        String none = noHeadsLine(plan);
        if (none != null) sb.append(none).append(System.lineSeparator());
        return sb.toString();
    }

    /** {@code removed units: FFN neurons 1,230 of 6,144, query heads 0 of 48, KV groups 0 of 12}. */
    static String unitsLine(PrunePlan plan) {
        UnitCounts r = plan.removedUnits(), all = plan.sourceUnits();
        StringBuilder sb = new StringBuilder(String.format(
                Locale.ROOT,
                "removed units: FFN neurons %,d of %,d, query heads %,d of %,d, KV groups %,d of %,d",
                r.ffnNeurons(),
                all.ffnNeurons(),
                r.queryHeads(),
                all.queryHeads(),
                r.kvGroups(),
                all.kvGroups()));
        if (r.layersDropped() > 0)
            sb.append(String.format(Locale.ROOT, ", layers %d of %d", r.layersDropped(), all.layersDropped()));
        if (r.qkPairs() + r.voNeurons() > 0)
            sb.append(String.format(
                    Locale.ROOT,
                    ", query/key pairs zeroed %,d, value/output neurons zeroed %,d",
                    r.qkPairs(),
                    r.voNeurons()));
        return sb.toString();
    }

    /**
     * One line saying that the selection removes no attention unit and why, or null when it
     * removes some.
     */
    public static String noHeadsLine(PrunePlan plan) {
        if (plan.removedUnits().removesAttention()) return null;
        Granularity g = plan.settings().granularity();
        if (g == Granularity.FFN) return "no heads removed: granularity ffn prunes FFN neurons only";
        if (g == Granularity.NEURONS)
            return "no attention neurons removed: no query/key pair or value/output neuron ranks low enough;"
                    + " only FFN neurons were removed";
        // the statistic the rule ranks heads by: query-head slots or whole KV groups
        String unit = null;
        double lowest = Double.POSITIVE_INFINITY;
        int lowestLayer = -1, atOrBelow = 0;
        for (LayerCut c : plan.cuts()) {
            for (String module : List.of("query_head_slots", "kv_groups")) {
                ModuleCut m = c.modules().get(module);
                if (m == null || m.kept() == 0) continue;
                unit = module.equals("kv_groups") ? "KV group" : "query-head slot";
                if (m.firstKept() <= plan.sigma()) atOrBelow++;
                if (m.firstKept() < lowest) {
                    lowest = m.firstKept();
                    lowestLayer = c.layer();
                }
            }
        }
        if (unit == null) return "no heads removed: only FFN neurons were removed";
        if (plan.sigmaNominal() && atOrBelow > 0) {
            return String.format(
                    Locale.ROOT,
                    "no heads removed: a %s is at or below sigma %.4f in %d of %d layers (lowest %.4f, layer %d), and"
                            + " uniform mode removes in every layer the rounded layer mean of such units (0);"
                            + " only FFN neurons were removed",
                    unit,
                    plan.sigma(),
                    atOrBelow,
                    plan.cuts().size(),
                    lowest,
                    lowestLayer);
        }
        return String.format(
                Locale.ROOT,
                "no heads removed: the lowest %s statistic, %.4f (layer %d), is above sigma %.4f;"
                        + " only FFN neurons were removed",
                unit,
                lowest,
                lowestLayer,
                plan.sigma());
    }

    /** {@code , cut ffn 0.61|0.62 heads -|0.98}: last removed | first kept per module. */
    private static String cutText(LayerCut cut) {
        StringBuilder sb = new StringBuilder(", cut");
        for (Map.Entry<String, ModuleCut> e : cut.modules().entrySet()) {
            sb.append(' ')
                    .append(shortName(e.getKey()))
                    .append(' ')
                    .append(num(e.getValue().lastRemoved()))
                    .append('|')
                    .append(num(e.getValue().firstKept()));
        }
        return sb.toString();
    }

    private static String shortName(String module) {
        return switch (module) {
            case "ffn_neurons" -> "ffn";
            case "query_heads" -> "heads";
            case "query_head_slots" -> "slots";
            case "kv_groups" -> "kv";
            case "qk_pairs" -> "qk";
            case "vo_neurons" -> "vo";
            default -> module;
        };
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    // ------------------------------------------------------------------ JSON

    /** What {@code prune --json} prints: settings, achieved ratios, removed units and cuts per layer. */
    public static ObjectNode toJson(PrunePlan plan) {
        ObjectNode root = JSON.createObjectNode();
        root.put("method", plan.method().label());
        root.put("mode", plan.settings().mode().label());
        root.put("granularity", plan.settings().granularity().label());
        root.put("head_unit", plan.settings().headUnit().label());
        root.put("ratio", plan.settings().ratio());
        ObjectNode achieved = root.putObject("achieved");
        achieved.put("removed_params", plan.removedParams());
        achieved.put("kept_params", plan.keptParams());
        achieved.put("block_ratio", plan.blockRatio());
        achieved.put("total_ratio", plan.totalRatio());
        putAccounting(root, plan);
        ArrayNode layers = root.putArray("layers");
        for (LayerPlan l : plan.layers()) {
            ObjectNode o = layers.addObject();
            o.put("source_layer", l.layer());
            o.put("dropped", l.dropped());
            putLayerAccounting(o, plan, l.layer());
        }
        return root;
    }

    /** sigma with its meaning, totals removed and present, and the one-line note when no head goes. */
    static void putAccounting(ObjectNode root, PrunePlan plan) {
        if (Double.isFinite(plan.sigma())) root.put("sigma", plan.sigma());
        root.put(
                "sigma_meaning",
                plan.layers().stream().anyMatch(LayerPlan::dropped)
                        ? "layer score of the last layer dropped"
                        : plan.sigmaNominal()
                                ? "nominal: the threshold found before each module's per-layer count was fitted to the"
                                        + " ratio; layers[].cuts hold what each layer actually removed"
                                : "statistic of the last unit removed");
        root.set("removed", counts(plan.removedUnits()));
        root.set("source_units", counts(plan.sourceUnits()));
        String none = noHeadsLine(plan);
        if (none != null) root.put("note", none);
    }

    /** One layer's removed counts and, when recorded, its cuts. */
    static void putLayerAccounting(ObjectNode o, PrunePlan plan, int layer) {
        o.set("removed", counts(plan.removedUnitsPerLayer().get(layer)));
        if (plan.cuts().isEmpty()) return;
        LayerCut c = plan.cuts().get(layer);
        ObjectNode cuts = o.putObject("cuts");
        for (Map.Entry<String, ModuleCut> e : c.modules().entrySet()) cuts.set(e.getKey(), cut(e.getValue()));
        if (!c.headsByGroup().isEmpty()) {
            ArrayNode groups = cuts.putArray("query_heads_by_group");
            for (ModuleCut m : c.headsByGroup()) groups.add(cut(m));
        }
    }

    /** Counts by module, as in the manifest and results.json. */
    public static ObjectNode counts(UnitCounts c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("ffn_neurons", c.ffnNeurons());
        o.put("query_heads", c.queryHeads());
        o.put("kv_groups", c.kvGroups());
        o.put("layers", c.layersDropped());
        if (c.qkPairs() > 0) o.put("qk_pairs", c.qkPairs());
        if (c.voNeurons() > 0) o.put("vo_neurons", c.voNeurons());
        return o;
    }

    /** Counts per layer, in source layer order. */
    public static ArrayNode counts(List<UnitCounts> perLayer) {
        ArrayNode a = JSON.createArrayNode();
        perLayer.forEach(c -> a.add(counts(c)));
        return a;
    }

    /** JSON has no NaN or infinity: such a value is null. */
    private static void putNumber(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
        else o.putNull(key);
    }

    private static ObjectNode cut(ModuleCut m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("removed", m.removed());
        o.put("kept", m.kept());
        putNumber(o, "last_removed", m.lastRemoved());
        putNumber(o, "first_kept", m.firstKept());
        return o;
    }
}
