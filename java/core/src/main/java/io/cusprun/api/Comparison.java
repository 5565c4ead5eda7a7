package io.cusprun.api;

import io.cusprun.AtomicOutput;
import io.cusprun.FileTrees;
import io.cusprun.OutputPolicy;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.MemorySettings;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.LayerPlan;
import io.cusprun.prune.Method;
import io.cusprun.prune.ModelShape;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.report.ComparisonRow;
import io.cusprun.report.ReportData;
import io.cusprun.score.CorpusScores;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Runs a {@link ComparisonSpec}: scores once, then for every method and ratio plans, writes,
 * reloads and evaluates the pruned model, and gathers the table and the report's data.
 */
public final class Comparison {
    /** The outcome: the unpruned model's row, one row per method and ratio, and the report. */
    public record Result(ComparisonRow baseline, List<ComparisonRow> rows, ReportData report) {}

    private final ComparisonSpec spec;
    private final PrintStream log;
    private List<String> expertDocs;
    private List<String> generalDocs;
    private List<McItem> choiceItems;
    private MemorySettings memory = MemorySettings.DEFAULTS;

    public Comparison(ComparisonSpec spec, PrintStream log) {
        this.spec = spec.check();
        this.log = log;
    }

    /** In memory or layer-streamed, and the budget, for every pass that runs a model. */
    public Comparison withMemory(MemorySettings settings) {
        this.memory = settings;
        return this;
    }

    public Result run() throws IOException {
        long start = System.nanoTime();
        expertDocs = ModelEvaluator.readDocuments(spec.evalExpert(), spec.evalDocs());
        generalDocs = ModelEvaluator.readDocuments(spec.evalGeneral(), spec.evalDocs());
        choiceItems = spec.evalChoice() == null
                ? List.of()
                : ModelEvaluator.readMultipleChoice(spec.evalChoice(), spec.evalDocs());

        ExpertPruner pruner = ExpertPruner.open(spec.model()).withProgress(log).withMemory(memory);
        log.printf("scoring %d expert corpora%n", spec.expertCorpora().size());
        // tokenised once: scored by cusprun, and the calibration data of wanda-sp, flap and shortgpt
        List<TokenizedCorpus> expertTokens = pruner.tokenize(spec.expertCorpora(), spec.scoring());
        List<CorpusScores> expert =
                pruner.scoreTokenized(expertTokens, spec.scoring()).corpora();
        List<CorpusScores> general = List.of();
        if (spec.methods().contains(Method.CUSPRUN_GENERAL)) {
            log.println("scoring the general corpus");
            general =
                    pruner.score(List.of(spec.generalCorpus()), spec.scoring()).corpora();
        }
        List<CorpusScores> overlapOnly = List.of();
        List<CorpusSpec> extra = spec.overlapCorpora().stream()
                .filter(c ->
                        spec.expertCorpora().stream().noneMatch(e -> e.name().equals(c.name())))
                .toList();
        if (!extra.isEmpty()) {
            log.printf("scoring %d more corpora for the overlap chart%n", extra.size());
            overlapOnly = pruner.score(extra, spec.scoring()).corpora();
        }

        ComparisonRow baseline = evaluate("unpruned", 0, 0, 0, pruner.shape().totalParams(), spec.model());
        log.println(format(baseline));
        List<ComparisonRow> rows = new ArrayList<>();
        PrunePlan shownPlan = null;
        double middle = spec.ratios().get(spec.ratios().size() / 2);
        Path modelsDir;
        if (spec.keepDir() != null) {
            modelsDir = Files.createDirectories(spec.keepDir());
        } else {
            modelsDir = AtomicOutput.scratchDirectory("cusprun-compare", log::println); // deleted if the run is stopped
        }
        try {
            for (Method method : spec.methods()) {
                List<CorpusScores> scored = method == Method.CUSPRUN_GENERAL ? general : expert;
                PruneStatistics stats = pruner.statistics(method, scored, expertTokens, spec.prune());
                for (double ratio : spec.ratios()) {
                    PruneSettings settings = spec.prune().withRatio(ratio);
                    PrunePlan plan = pruner.plan(stats, settings);
                    if (method == Method.CUSPRUN && ratio == middle) {
                        shownPlan = plan;
                    }
                    Path out = modelsDir.resolve(
                            String.format(Locale.ROOT, "%s-%02d", method.label(), Math.round(ratio * 100)));
                    try {
                        pruner.write(
                                plan,
                                out,
                                pruner.provenance(
                                        scored, method.needsCalibration() ? expertTokens : List.of(), List.of()),
                                true);
                        ComparisonRow row = evaluate(
                                        method.label(),
                                        ratio,
                                        plan.blockRatio(),
                                        plan.totalRatio(),
                                        plan.keptParams(),
                                        out)
                                .withRemoved(plan.removedUnits(), plan.removedUnitsPerLayer());
                        rows.add(row);
                        log.println(format(row));
                    } finally {
                        if (spec.keepDir() == null) {
                            FileTrees.delete(out); // one pruned model on disk at a time
                        }
                    }
                }
            }
        } finally {
            if (spec.keepDir() == null) {
                AtomicOutput.release(modelsDir);
            }
        }
        log.printf(
                Locale.ROOT, "compared %d pruned models in %.0f s%n", rows.size(), (System.nanoTime() - start) / 1e9);

        List<CorpusScores> overlapSets = new ArrayList<>(expert);
        overlapSets.addAll(overlapOnly);
        ReportData report = new ReportData(
                "cusprun: expert pruning of " + spec.model().getFileName(),
                summary(),
                shownPlan == null ? Map.of() : keptFractions(shownPlan),
                overlapSets.stream().map(c -> c.kind().label() + ":" + c.name()).toList(),
                overlap(pruner, overlapSets, middle),
                rows,
                baseline);
        return new Result(baseline, rows, report);
    }

    /**
     * The folder of kept pruned models ({@code --keep}): cusprun wrote it when each entry is a
     * pruned model (or a temporary of one).
     */
    public static final OutputPolicy.Kind MODELS_OUTPUT =
            OutputPolicy.Kind.directory("folder of pruned models", Comparison::isModelsFolder);

    static boolean isModelsFolder(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                boolean temporary = p.getFileName().toString().startsWith(".");
                if (!temporary && !CheckpointPruner.OUTPUT.ours().writtenByCusprun(p)) {
                    return false;
                }
            }
        }
        return true;
    }

    private ComparisonRow evaluate(String method, double ratio, double block, double total, long params, Path model)
            throws IOException {
        try (ModelEvaluator ev = ModelEvaluator.open(model, spec.maxLength(), memory)) {
            PerplexityResult e = ev.perplexity(expertDocs);
            PerplexityResult g = ev.perplexity(generalDocs);
            double acc = Double.NaN;
            if (!choiceItems.isEmpty()) {
                McResult mc = ev.multipleChoice(choiceItems);
                acc = mc.acc();
            }
            return new ComparisonRow(method, ratio, block, total, params, e.perplexity(), g.perplexity(), acc);
        }
    }

    private String summary() {
        StringBuilder s = new StringBuilder("Expert corpora: ");
        s.append(String.join(
                ", ",
                spec.expertCorpora().stream()
                        .map(c -> c.kind().label() + ":" + c.name())
                        .toList()));
        s.append(String.format(
                Locale.ROOT,
                ". Mode %s, granularity %s. Expert held-out: %s (%d documents); general "
                        + "held-out: %s (%d documents)",
                spec.prune().mode().label(),
                spec.prune().granularity().label(),
                spec.evalExpert().getFileName(),
                expertDocs.size(),
                spec.evalGeneral().getFileName(),
                generalDocs.size()));
        if (!choiceItems.isEmpty()) {
            s.append(String.format(
                    Locale.ROOT,
                    "; multiple choice: %s (%d items)",
                    spec.evalChoice().getFileName(),
                    choiceItems.size()));
        }
        return s.append(". No post-training.").toString();
    }

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
     * (uniform, FFN only): corpora that share little need different experts.
     */
    static double[][] overlap(ExpertPruner pruner, List<CorpusScores> corpora, double ratio) {
        List<Set<Long>> removed = new ArrayList<>();
        PruneSettings ffnOnly = PruneSettings.DEFAULTS.withRatio(ratio).withGranularity(Granularity.FFN);
        for (CorpusScores c : corpora) {
            try {
                PruneStatistics stats = pruner.statistics(Method.CUSPRUN, List.of(c), List.of(), 0, 1.0);
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

    /** One line of the running log and of the final table. */
    public static String format(ComparisonRow r) {
        return String.format(
                Locale.ROOT,
                "%-16s %5.2f %9.3f %9.3f %,13d %11s %11s %9s %,11d %13d %10d",
                r.method(),
                r.requestedRatio(),
                r.achievedBlockRatio(),
                r.achievedTotalRatio(),
                r.parameters(),
                num(r.expertPerplexity()),
                num(r.generalPerplexity()),
                num(r.expertAccuracy()),
                r.removed().ffnNeurons(),
                r.removed().queryHeads(),
                r.removed().kvGroups());
    }

    public static String header() {
        return String.format(
                Locale.ROOT,
                "%-16s %5s %9s %9s %13s %11s %11s %9s %11s %13s %10s",
                "method",
                "ratio",
                "blocks",
                "total",
                "parameters",
                "expert ppl",
                "general ppl",
                "expert acc",
                "FFN removed",
                "heads removed",
                "KV removed");
    }

    /** The line naming the pruned models that removed no head, or null (see {@link ComparisonRow#noHeadsNote}). */
    public static String noHeadsNote(List<ComparisonRow> rows) {
        return ComparisonRow.noHeadsNote(rows);
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "-";
    }
}
