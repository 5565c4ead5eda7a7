import io.cusprun.api.ExistingOutput;
import io.cusprun.api.ExpertPruner;
import io.cusprun.api.ModelEvaluator;
import io.cusprun.api.PruneData;
import io.cusprun.api.WriteOptions;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.prune.CusprunStatistics;
import io.cusprun.prune.HeadRule;
import io.cusprun.prune.LayerPlan;
import io.cusprun.prune.Method;
import io.cusprun.prune.ModelShape;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.UnitScores;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ScoreSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

/**
 * The head-only control of docs/heads.md: FFN neurons untouched, one query head removed from
 * every key/value group, chosen by each head rule (its least relevant head), against the most
 * relevant head and random heads; in all layers, and in one layer at a time. Run by
 * heads_study.sh as a single-file program on the jar's class path:
 *   java -cp 'java/target/cusprun.jar:java/target/lib/*' benchmarks/scripts/HeadAblation.java DATA OUT
 */
public class HeadAblation {
    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]), out = Path.of(args[1]);
        Path model = data.resolve("demo-model"), c = data.resolve("corpora");
        ExpertPruner pruner = ExpertPruner.open(model);
        List<CorpusSpec> specs = List.of(
                CorpusSpec.parse("language:de=" + c.resolve("language/de/score.jsonl")),
                CorpusSpec.parse("domain:technical=" + c.resolve("domain/technical/score.jsonl")),
                CorpusSpec.parse("task:qa=" + c.resolve("task/qa/score.jsonl")));
        List<CorpusScores> scored = pruner.score(specs, ScoreSettings.DEFAULTS.withMaxTokens(256).withMaxDocs(OptionalInt.of(64)))
                .corpora();
        ModelShape shape = pruner.shape();
        int layers = shape.numLayers();
        ModelShape.Layer s = shape.layer(0);
        int g = s.groupSize(), h = s.heads();
        List<String> expert = ModelEvaluator.readDocuments(c.resolve("eval/expert_de_technical_qa.jsonl"), OptionalInt.of(40));
        List<String> general = ModelEvaluator.readDocuments(c.resolve("eval/general.jsonl"), OptionalInt.of(40));

        // per layer, the head each choice removes from every group
        Map<String, int[][]> choices = new LinkedHashMap<>();
        for (HeadRule rule : HeadRule.values()) {
            UnitScores st = CusprunStatistics.from(Method.CUSPRUN, scored, layers, 1.0, rule);
            int[][] least = new int[layers][], most = new int[layers][];
            for (int l = 0; l < layers; l++) {
                UnitScores.Ranked heads = st.layers().get(l).heads();
                least[l] = new int[s.kvHeads()];
                most[l] = new int[s.kvHeads()];
                for (int grp = 0; grp < s.kvHeads(); grp++) {
                    int[] order = groupOrder(heads, grp, g);
                    least[l][grp] = order[0];
                    most[l][grp] = order[g - 1];
                }
            }
            choices.put("least by " + rule.label(), least);
            if (rule == HeadRule.MEAN) choices.put("most by mean", most);
        }
        for (int seed = 1; seed <= 5; seed++) {
            Random rnd = new Random(seed);
            int[][] pick = new int[layers][s.kvHeads()];
            for (int l = 0; l < layers; l++)
                for (int grp = 0; grp < s.kvHeads(); grp++) pick[l][grp] = grp * g + rnd.nextInt(g);
            choices.put("random (seed " + seed + ")", pick);
        }

        // each rule's head statistics per layer: lowest and highest over the layer's heads, and
        // the statistic of the first query-head slot (max over groups of each group's weakest head)
        System.out.println("| layer | all-docs (min, slot, max) | mean (min, slot, max) | pooled (min, slot, max) |");
        System.out.println("|---:|---|---|---|");
        List<UnitScores> byRule = new ArrayList<>();
        for (HeadRule rule : HeadRule.values())
            byRule.add(CusprunStatistics.from(Method.CUSPRUN, scored, layers, 1.0, rule));
        for (int l = 0; l < layers; l++) {
            StringBuilder line = new StringBuilder("| " + l + " |");
            for (UnitScores st : byRule) {
                double[] v = st.layers().get(l).heads().stat();
                double lo = java.util.Arrays.stream(v).min().orElseThrow();
                double hi = java.util.Arrays.stream(v).max().orElseThrow();
                double slot = Double.NEGATIVE_INFINITY;
                for (int grp = 0; grp < s.kvHeads(); grp++)
                    slot = Math.max(slot, v[groupOrder(st.layers().get(l).heads(), grp, g)[0]]);
                line.append(String.format(Locale.ROOT, " %.3f, %.3f, %.3f |", lo, slot, hi));
            }
            System.out.println(line);
        }
        System.out.println();
        System.out.println("| heads removed | from layers | query heads left | expert ppl | general ppl |");
        System.out.println("|---|---|---:|---:|---:|");
        double[] base = evaluate(model, expert, general);
        row("none (unpruned)", "", h * layers, base, base);
        int n = 0;
        for (Map.Entry<String, int[][]> e : choices.entrySet()) {
            double[] r = ablate(pruner, shape, scored, e.getValue(), -1, out.resolve("v" + n++), expert, general);
            row(e.getKey(), "all", (h - s.kvHeads()) * layers, r, base);
        }
        for (String which : new String[] {"least by mean", "most by mean"}) {
            for (int l = 0; l < layers; l++) {
                double[] r = ablate(pruner, shape, scored, choices.get(which), l, out.resolve("v" + n++), expert, general);
                row(which, String.valueOf(l), h * layers - s.kvHeads(), r, base);
            }
        }
    }

    static int[] groupOrder(UnitScores.Ranked heads, int grp, int g) {
        double[] st = java.util.Arrays.copyOfRange(heads.stat(), grp * g, grp * g + g);
        double[] ti = java.util.Arrays.copyOfRange(heads.tie(), grp * g, grp * g + g);
        int[] local = new UnitScores.Ranked(st, ti).order();
        for (int j = 0; j < g; j++) local[j] += grp * g;
        return local;
    }

    /** Removes pick[l] from layer l (every layer when only &lt; 0), writes the model and evaluates it. */
    static double[] ablate(
            ExpertPruner pruner,
            ModelShape shape,
            List<CorpusScores> scored,
            int[][] pick,
            int only,
            Path dir,
            List<String> expert,
            List<String> general)
            throws Exception {
        List<LayerPlan> plans = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            ModelShape.Layer s = shape.layer(l);
            LayerPlan all = LayerPlan.keepAll(l, s);
            if (only >= 0 && l != only) {
                plans.add(all);
                continue;
            }
            java.util.Set<Integer> gone = new java.util.HashSet<>();
            for (int k : pick[l]) gone.add(k);
            int[] kept = java.util.stream.IntStream.range(0, s.heads())
                    .filter(k -> !gone.contains(k))
                    .toArray();
            plans.add(new LayerPlan(l, false, all.keptFfn(), kept, all.keptKvHeads(), new int[0], new int[0]));
        }
        PrunePlan plan = new PrunePlan(shape, PruneSettings.DEFAULTS, Method.CUSPRUN, Double.NaN, plans);
        pruner.write(plan, dir, WriteOptions.of(pruner.provenance(PruneData.scored(scored))).withExisting(ExistingOutput.REPLACE));
        return evaluate(dir, expert, general);
    }

    static double[] evaluate(Path model, List<String> expert, List<String> general) throws Exception {
        try (ModelEvaluator e = ModelEvaluator.open(model, 256)) {
            return new double[] {e.perplexity(expert).perplexity(), e.perplexity(general).perplexity()};
        }
    }

    static void row(String what, String layers, int left, double[] r, double[] base) {
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %d | %.3f (%+.1f%%) | %.3f (%+.1f%%) |%n",
                what,
                layers,
                left,
                r[0],
                100 * (r[0] / base[0] - 1),
                r[1],
                100 * (r[1] / base[1] - 1));
    }
}
