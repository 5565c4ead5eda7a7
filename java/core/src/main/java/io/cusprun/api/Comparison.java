package io.cusprun.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.AtomicOutput;
import io.cusprun.FileTrees;
import io.cusprun.OutputPolicy;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.engine.CpuRuntime;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.TensorInfo;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.prune.Relevance;
import io.cusprun.report.ComparisonRow;
import io.cusprun.report.RepeatedRow;
import io.cusprun.report.ReportData;
import io.cusprun.report.ReportWriter;
import io.cusprun.report.ResultsTable;
import io.cusprun.score.CorpusScores;
import io.cusprun.vocab.VocabularyTrim;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * Runs a {@link ComparisonSpec}: for each repeat, draws and scores the documents, then for every
 * method and ratio (and, with the dimension study, every subset of the expert corpora) plans,
 * writes, reloads and evaluates the pruned model; gathers the table (mean ± sd per cell over the
 * repeats) and the report's data. One repeat is the single run: the first documents of each corpus.
 */
public final class Comparison {
    /**
     * The outcome: the unpruned model's row, one row per method and ratio (the mean over the
     * repeats), the report, every repeat's runs per cell (in the order of {@code rows}) and the
     * dimension study's cells (empty when it was not asked for).
     */
    public record Result(
            ComparisonRow baseline,
            List<ComparisonRow> rows,
            ReportData report,
            List<RepeatedRow> cells,
            List<RepeatedRow> dimensionStudy,
            List<VocabularyRow> vocabulary,
            ComparisonSpec spec) {
        /** The results table: the unpruned model, then every cell (mean ± sd and the marks with repeats). */
        public ResultsTable table() {
            return ResultsTable.comparison(baseline, cells);
        }

        /** The dimension study's table (no rows when it was not asked for). */
        public ResultsTable dimensionTable() {
            return ResultsTable.dimensionStudy(dimensionStudy);
        }

        /** What {@code results.json} holds: the settings, the unpruned row, every row, the study and the trim. */
        public ObjectNode toJson() {
            return ComparisonJson.of(this);
        }

        /**
         * Writes the report folder {@code dir} (index.html, the charts, table.md and results.json),
         * built in a temporary folder and renamed into place, after the check of {@link
         * #checkReport}; returns its index.html.
         */
        public Path writeReport(Path dir, ExistingOutput existing) throws IOException {
            checkReport(spec, dir, existing);
            return ReportWriter.write(report, dir, Map.of(RESULTS_JSON, toJson().toPrettyString() + "\n"));
        }
    }

    /**
     * Checks that {@code dir} may take the report of a comparison of {@code spec}, before any
     * work: refused (a checked {@link OutputPolicy.RefusedException}) when it exists and {@code
     * existing} is {@link ExistingOutput#REFUSE}, when it is not a report cusprun wrote, or when it
     * is or holds one of the comparison's inputs. Returns the path, absolute.
     */
    public static Path checkReport(ComparisonSpec spec, Path dir, ExistingOutput existing) throws IOException {
        Map<Path, String> inputs = new LinkedHashMap<>();
        inputs.put(spec.model(), "model");
        for (CorpusSpec c : spec.expertCorpora()) inputs.putIfAbsent(c.path(), "corpus " + c.name());
        for (CorpusSpec c : spec.overlapCorpora()) inputs.putIfAbsent(c.path(), "corpus " + c.name());
        if (spec.generalCorpus() != null)
            inputs.putIfAbsent(spec.generalCorpus().path(), "general corpus");
        for (Path p : java.util.Arrays.asList(spec.evalExpert(), spec.evalGeneral(), spec.evalChoice())) {
            if (p != null) inputs.putIfAbsent(p, "held-out file");
        }
        if (spec.keepDir() != null) inputs.putIfAbsent(spec.keepDir(), "kept models");
        return OutputPolicy.check(dir, "report", ReportWriter.OUTPUT, existing == ExistingOutput.REPLACE, inputs, null);
    }

    /** The name of the results' JSON in a report folder. */
    public static final String RESULTS_JSON = "results.json";

    /**
     * cusprun's model at the middle ratio of the first repeat, whole or with its vocabulary
     * trimmed ({@link ComparisonSpec#vocabTrim}): quality in bits per byte of the held-out text,
     * which compares across tokenizers (perplexity per token does not).
     *
     * @param label       "cusprun" or "cusprun + trim-vocab"
     * @param vocabulary  embedding rows
     * @param parameters  parameters of the written checkpoint
     */
    public record VocabularyRow(
            String label,
            double ratio,
            int vocabulary,
            long parameters,
            double expertBitsPerByte,
            double generalBitsPerByte,
            double expertPerplexity,
            double generalPerplexity) {}

    /** A model's row with its bits per byte on both held-out sets. */
    private record Evaluated(ComparisonRow row, double expertBitsPerByte, double generalBitsPerByte) {}

    private final ComparisonSpec spec;
    private final PrintStream log;
    private List<String> expertDocs;
    private List<String> generalDocs;
    private long expertBytes;
    private long generalBytes;
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

    /** What one repeat produced: its scores of the expert corpora, its rows, its dimension study, the plan shown. */
    private record Repeat(
            List<CorpusScores> expert,
            List<ComparisonRow> rows,
            List<ComparisonRow> study,
            PrunePlan shownPlan,
            List<VocabularyRow> vocabulary) {}

    public Result run() throws IOException {
        CpuRuntime.configure(); // the shipped native libraries, before anything touches LibTorch
        long start = System.nanoTime();
        expertDocs = ModelEvaluator.readDocuments(spec.evalExpert(), evalLimit());
        generalDocs = ModelEvaluator.readDocuments(spec.evalGeneral(), evalLimit());
        expertBytes = PerplexityResult.utf8Bytes(expertDocs);
        generalBytes = PerplexityResult.utf8Bytes(generalDocs);
        choiceItems = spec.evalChoice() == null
                ? List.of()
                : ModelEvaluator.readMultipleChoice(spec.evalChoice(), evalLimit());

        ExpertPruner pruner = ExpertPruner.open(spec.model()).withProgress(log).withMemory(memory);
        Draw firstDraw = draw(pruner, 0); // its budget checked before anything runs the model
        double middle = spec.ratios().get(spec.ratios().size() / 2);
        ComparisonRow baseline = evaluate("unpruned", 0, 0, 0, pruner.shape().totalParams(), spec.model(), true)
                .row();
        log.println(ComparisonText.format(baseline));
        if (spec.keepDir() != null) {
            Files.createDirectories(spec.keepDir());
        }
        // the models not kept are written here one at a time; deleted if the run is stopped
        Path scratch = spec.keepDir() == null || spec.repeats() > 1 || spec.dimensionStudy()
                ? AtomicOutput.scratchDirectory("cusprun-compare", log::println)
                : null;
        List<Repeat> repeats = new ArrayList<>();
        try {
            for (int k = 0; k < spec.repeats(); k++) {
                Draw draw = k == 0 ? firstDraw : draw(pruner, k);
                repeats.add(runRepeat(pruner, k, draw, scratch, middle, repeats.isEmpty() ? null : repeats.get(0)));
            }
        } finally {
            if (scratch != null) {
                AtomicOutput.release(scratch);
            }
        }
        List<RepeatedRow> cells = cells(repeats.stream().map(Repeat::rows).toList());
        List<RepeatedRow> study = cells(repeats.stream().map(Repeat::study).toList());
        List<ComparisonRow> rows = cells.stream().map(RepeatedRow::meanRow).toList();
        log.printf(
                Locale.ROOT,
                "compared %d pruned models in %.0f s%n",
                repeats.stream()
                        .mapToInt(r -> r.rows().size() + r.study().size())
                        .sum(),
                (System.nanoTime() - start) / 1e9);

        List<CorpusScores> overlapOnly = List.of();
        List<CorpusSpec> extra = spec.overlapCorpora().stream()
                .filter(c ->
                        spec.expertCorpora().stream().noneMatch(e -> e.name().equals(c.name())))
                .toList();
        if (!extra.isEmpty()) {
            log.printf("scoring %d more corpora for the overlap chart%n", extra.size());
            overlapOnly = pruner.score(extra, spec.scoring()).corpora();
        }
        Repeat first = repeats.get(0);
        List<CorpusScores> overlapSets = new ArrayList<>(first.expert());
        overlapSets.addAll(overlapOnly);
        ReportData report = new ReportData(
                "cusprun: expert pruning of " + spec.model().getFileName(),
                summary(),
                first.shownPlan() == null ? Map.of() : ComparisonCharts.keptFractions(first.shownPlan()),
                overlapSets.stream().map(c -> c.kind().label() + ":" + c.name()).toList(),
                ComparisonCharts.overlap(pruner, overlapSets, middle),
                rows,
                baseline,
                spec.repeats() > 1 ? cells : List.of(),
                study);
        return new Result(baseline, rows, report, cells, study, first.vocabulary(), spec);
    }

    /**
     * The seed of repeat {@code k} (from 0): the random baseline's seed plus k. Repeat 0 scores
     * the first {@code maxDocs} documents of each corpus, as a single run does; repeat k &gt; 0 a
     * draw from all of them seeded with this seed.
     */
    public static long repeatSeed(long baseSeed, int k) {
        return baseSeed + k;
    }

    /**
     * A draw's documents, tokenised once: scored by cusprun (the expert's, and the general corpus
     * where cusprun-general runs), and the calibration data of wanda-sp, flap and shortgpt.
     */
    private record Draw(List<TokenizedCorpus> expert, List<TokenizedCorpus> general) {}

    /**
     * Draw {@code k}'s documents, its memory budget checked before its scoring: a budget too small
     * for the compensation pass of any of its methods and variants is refused now ({@link
     * ExpertPruner#checkCompensationBudget}, every corpus the draw scores held as it will be
     * through the refits), not after a long scoring.
     */
    private Draw draw(ExpertPruner pruner, int k) throws IOException {
        long seed = repeatSeed(spec.prune().seed(), k);
        List<TokenizedCorpus> expert = tokens(pruner, spec.expertCorpora(), k, seed);
        List<TokenizedCorpus> general = spec.methods().contains(Method.CUSPRUN_GENERAL)
                ? tokens(pruner, List.of(spec.generalCorpus()), k, seed)
                : List.of();
        int scored = expert.size() + general.size();
        for (Method method : spec.methods()) {
            List<TokenizedCorpus> documents = method == Method.CUSPRUN_GENERAL ? general : expert;
            for (ComparisonVariants.Variant variant : ComparisonVariants.of(method, spec.prune())) {
                pruner.checkCompensationBudget(method, variant.settings(), true, documents, 0, scored, spec.scoring());
            }
        }
        return new Draw(expert, general);
    }

    /**
     * Repeat {@code k} on its {@code draw}; a method that does not depend on the draw takes {@code
     * first}'s rows (null for the first).
     */
    private Repeat runRepeat(ExpertPruner pruner, int k, Draw draw, Path scratch, double middle, Repeat first)
            throws IOException {
        long seed = repeatSeed(spec.prune().seed(), k);
        String tag = spec.repeats() > 1 ? String.format(Locale.ROOT, "[repeat %d/%d] ", k + 1, spec.repeats()) : "";
        List<TokenizedCorpus> expertTokens = draw.expert();
        List<TokenizedCorpus> generalTokens = draw.general();
        boolean withGeneral = !generalTokens.isEmpty();
        log.printf("%sscoring %d expert corpora%n", tag, spec.expertCorpora().size());
        List<CorpusScores> expert =
                pruner.scoreTokenized(expertTokens, spec.scoring()).corpora();
        List<CorpusScores> general = List.of();
        if (withGeneral) {
            log.println(tag + "scoring the general corpus");
            general = pruner.scoreTokenized(generalTokens, spec.scoring()).corpora();
        }
        // the repeat's scored corpora stay on the heap through every refit of its models
        long heldScores =
                PruneData.scored(expert).heapBytes() + PruneData.scored(general).heapBytes();
        boolean keep = k == 0 && spec.keepDir() != null; // the kept models are the first repeat's
        // shortgpt's calibration pass (with block influence) also collects the sums wanda-sp and flap
        // read: run first, it serves all three (ExpertPruner keeps the last pass)
        Map<Method, PruneStatistics> early = new EnumMap<>(Method.class);
        if (spec.methods().contains(Method.SHORTGPT)
                && spec.methods().stream().anyMatch(m -> m == Method.WANDA_SP || m == Method.FLAP)) {
            early.put(
                    Method.SHORTGPT,
                    pruner.statistics(
                            Method.SHORTGPT,
                            PruneData.scored(expert).withDocuments(expertTokens),
                            spec.prune().withSeed(seed)));
        }
        List<ComparisonRow> rows = new ArrayList<>();
        List<VocabularyRow> vocabulary = List.of();
        PrunePlan shownPlan = null;
        for (Method method : spec.methods()) {
            if (first != null && !method.dependsOnDraw()) {
                for (ComparisonRow row : first.rows()) {
                    if (row.method().equals(method.label())) {
                        rows.add(row); // the same model as in the first repeat: not written and evaluated again
                        log.println(tag + ComparisonText.format(row));
                    }
                }
                continue;
            }
            List<CorpusScores> scored = method == Method.CUSPRUN_GENERAL ? general : expert;
            List<TokenizedCorpus> documents = method == Method.CUSPRUN_GENERAL ? generalTokens : expertTokens;
            Map<Relevance, PruneStatistics> statistics = new HashMap<>();
            for (ComparisonVariants.Variant variant : ComparisonVariants.of(method, spec.prune())) {
                // the repeat's seed; head rule, head unit, document quantile and relevance as the variant asks
                PruneSettings asked = variant.settings().withSeed(seed);
                PruneStatistics stats = statistics.get(asked.relevance());
                if (stats == null) {
                    stats = early.containsKey(method)
                            ? early.get(method)
                            : pruner.statistics(method, PruneData.scored(scored).withDocuments(documents), asked);
                    statistics.put(asked.relevance(), stats);
                }
                for (double ratio : spec.ratios()) {
                    PrunePlan plan = pruner.plan(stats, asked.withRatio(ratio));
                    boolean shown = variant.label().equals(Method.CUSPRUN.label()) && ratio == middle;
                    if (shown) {
                        shownPlan = plan;
                    }
                    String name = String.format(Locale.ROOT, "%s-%02d", variant.label(), Math.round(ratio * 100));
                    WriteOptions write = WriteOptions.of(pruner.provenance(
                                    method.needsCalibration()
                                            ? PruneData.scored(scored).withDocuments(expertTokens)
                                            : PruneData.scored(scored)))
                            .withDocuments(documents)
                            .withHeld(heldScores);
                    Evaluated e = writeAndEvaluate(
                            pruner,
                            plan,
                            keep ? spec.keepDir().resolve(name) : scratch.resolve(name),
                            write,
                            null,
                            variant.label(),
                            ratio,
                            keep);
                    rows.add(e.row());
                    log.println(tag + ComparisonText.format(e.row()));
                    if (k == 0 && shown && spec.vocabTrim() != null) {
                        vocabulary = trimmedVocabulary(pruner, plan, write, e, name, keep, scratch);
                    }
                }
            }
        }
        List<ComparisonRow> study = new ArrayList<>();
        if (spec.dimensionStudy()) {
            PruneSettings settings = spec.prune().withRatio(middle);
            for (List<CorpusScores> subset : subsets(expert)) {
                String label = subset.stream().map(CorpusScores::name).collect(Collectors.joining(" + "));
                List<TokenizedCorpus> subsetTokens = subset.stream()
                        .map(c -> expertTokens.get(expert.indexOf(c)))
                        .toList();
                PruneStatistics stats = pruner.statistics(
                        Method.CUSPRUN,
                        PruneData.scored(subset).withDocuments(subsetTokens),
                        spec.prune().withSeed(seed));
                PrunePlan plan = pruner.plan(stats, settings);
                ComparisonRow row = writeAndEvaluate(
                                pruner,
                                plan,
                                scratch.resolve("dimensions"),
                                WriteOptions.of(pruner.provenance(PruneData.scored(subset)))
                                        .withDocuments(subsetTokens)
                                        .withHeld(heldScores),
                                null,
                                label,
                                middle,
                                false)
                        .row();
                study.add(row);
                log.println(tag + "dimensions " + ComparisonText.format(row));
            }
        }
        return new Repeat(expert, rows, study, shownPlan, vocabulary);
    }

    /** Repeat 0: the first documents of each corpus (a single run's); later repeats: a seeded draw. */
    private List<TokenizedCorpus> tokens(ExpertPruner pruner, List<CorpusSpec> corpora, int k, long seed)
            throws IOException {
        return k == 0 ? pruner.tokenize(corpora, spec.scoring()) : pruner.tokenizeSample(corpora, spec.scoring(), seed);
    }

    /**
     * cusprun's model at the middle ratio written again with its vocabulary trimmed, beside the
     * same model whole ({@code whole}, already evaluated): one more model per comparison.
     */
    private List<VocabularyRow> trimmedVocabulary(
            ExpertPruner pruner,
            PrunePlan plan,
            WriteOptions write,
            Evaluated whole,
            String name,
            boolean keep,
            Path scratch)
            throws IOException {
        long start = System.nanoTime();
        log.println("trimming the vocabulary of " + name);
        VocabularyTrim trim = pruner.trimVocabulary(spec.vocabTrim(), spec.expertCorpora());
        String trimmedName = name + "-trim-vocab";
        Path out = keep ? spec.keepDir().resolve(trimmedName) : scratch.resolve(trimmedName);
        Evaluated trimmed = writeAndEvaluate(
                pruner,
                plan,
                out,
                write,
                trim,
                "cusprun + trim-vocab",
                whole.row().requestedRatio(),
                keep);
        List<VocabularyRow> rows = List.of(
                vocabularyRow("cusprun", trim.sourceSize(), whole),
                vocabularyRow("cusprun + trim-vocab", trim.size(), trimmed));
        rows.forEach(r -> log.println(ComparisonText.formatVocabulary(r)));
        log.printf(
                Locale.ROOT,
                "trimmed model counted, written and evaluated in %.1f s%n",
                (System.nanoTime() - start) / 1e9);
        return rows;
    }

    private static VocabularyRow vocabularyRow(String label, int vocabulary, Evaluated e) {
        return new VocabularyRow(
                label,
                e.row().requestedRatio(),
                vocabulary,
                e.row().parameters(),
                e.expertBitsPerByte(),
                e.generalBitsPerByte(),
                e.row().expertPerplexity(),
                e.row().generalPerplexity());
    }

    /**
     * Writes the plan's model to {@code out} as {@code write} says (refit on its documents when the
     * plan's settings compensate), its vocabulary trimmed to {@code vocab} unless null, an earlier
     * output replaced; evaluates it and deletes it unless it is kept.
     */
    private Evaluated writeAndEvaluate(
            ExpertPruner pruner,
            PrunePlan plan,
            Path out,
            WriteOptions write,
            VocabularyTrim vocab,
            String label,
            double ratio,
            boolean keep)
            throws IOException {
        try {
            pruner.write(plan, out, write.withVocabulary(vocab).withExisting(ExistingOutput.REPLACE));
            long params = vocab == null ? plan.keptParams() : writtenParams(out);
            // the trimmed model's row is its bits per byte; multiple choice is left out (it saves the time)
            Evaluated e = evaluate(label, ratio, plan.blockRatio(), plan.totalRatio(), params, out, vocab == null);
            return new Evaluated(
                    e.row().withRemoved(plan.removedUnits(), plan.removedUnitsPerLayer()),
                    e.expertBitsPerByte(),
                    e.generalBitsPerByte());
        } finally {
            if (!keep) {
                FileTrees.delete(out); // one pruned model on disk at a time
            }
        }
    }

    /**
     * Every nonempty subset of the dimensions, smallest first (each single dimension, each pair,
     * ..., all of them), each in the corpora's order.
     */
    static <T> List<List<T>> subsets(List<T> items) {
        int n = items.size();
        List<List<T>> out = new ArrayList<>();
        for (int size = 1; size <= n; size++) {
            for (int mask = 1; mask < 1 << n; mask++) {
                if (Integer.bitCount(mask) == size) {
                    List<T> s = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        if ((mask & (1 << i)) != 0) {
                            s.add(items.get(i));
                        }
                    }
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** Cells from the repeats' rows: every repeat has the same rows in the same order. */
    static List<RepeatedRow> cells(List<List<ComparisonRow>> repeats) {
        List<RepeatedRow> cells = new ArrayList<>();
        List<ComparisonRow> first = repeats.get(0);
        for (int i = 0; i < first.size(); i++) {
            List<ComparisonRow> runs = new ArrayList<>();
            for (List<ComparisonRow> r : repeats) {
                runs.add(r.get(i));
            }
            cells.add(new RepeatedRow(first.get(i).method(), first.get(i).requestedRatio(), runs));
        }
        return cells;
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
                if (temporary) continue;
                try {
                    if (!Files.isDirectory(p) || !CheckpointPruner.OUTPUT.ours().writtenByCusprun(p)) {
                        throw new OutputPolicy.NotOursException(p.getFileName() + " is not a pruned model");
                    }
                } catch (OutputPolicy.NotOursException e) {
                    throw new OutputPolicy.NotOursException(
                            e.getMessage().startsWith(p.getFileName() + " ")
                                    ? e.getMessage()
                                    : p.getFileName() + ": " + e.getMessage());
                }
            }
        }
        return true;
    }

    private Evaluated evaluate(
            String method, double ratio, double block, double total, long params, Path model, boolean choice)
            throws IOException {
        EvalJob job = EvalJob.of(model)
                .withMaxLength(OptionalInt.of(spec.maxLength()))
                .withMemory(memory);
        try (ModelEvaluator ev = job.open()) {
            PerplexityResult e = ev.perplexity(expertDocs);
            PerplexityResult g = ev.perplexity(generalDocs);
            double acc = Double.NaN;
            if (choice && !choiceItems.isEmpty()) {
                McResult mc = ev.multipleChoice(choiceItems);
                acc = mc.acc();
            }
            return new Evaluated(
                    new ComparisonRow(method, ratio, block, total, params, e.perplexity(), g.perplexity(), acc),
                    e.bitsPerByte(expertBytes),
                    g.bitsPerByte(generalBytes));
        }
    }

    /** The documents (and items) read per eval file. */
    private OptionalInt evalLimit() {
        return spec.evalDocs();
    }

    /** Parameters of a written checkpoint. */
    private static long writtenParams(Path model) throws IOException {
        try (Checkpoint cp = Checkpoint.open(model)) {
            long n = 0;
            for (String t : cp.tensorNames()) {
                n += TensorInfo.numel(cp.info(t).shape());
            }
            return n;
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
                spec.prune().granularityLabel(),
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
}
