package io.cusprun.api;

import io.cusprun.AtomicOutput;
import io.cusprun.OutputPolicy;
import io.cusprun.ProgressBars;
import io.cusprun.SettingException;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.engine.CpuRuntime;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.Decoder;
import io.cusprun.model.Decoders;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.TextTokenizer;
import io.cusprun.prune.BaselineStatistics;
import io.cusprun.prune.Calibration;
import io.cusprun.prune.CalibrationHooks;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.prune.CompensatedRelevance;
import io.cusprun.prune.Compensation;
import io.cusprun.prune.CusprunStatistics;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.HeadCompensation;
import io.cusprun.prune.LayerScores;
import io.cusprun.prune.Method;
import io.cusprun.prune.ModelShape;
import io.cusprun.prune.Provenance;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PrunePlanner;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.prune.Relevance;
import io.cusprun.prune.SpilledGrams;
import io.cusprun.prune.UnitScores;
import io.cusprun.prune.UnprunedGrams;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ModelFingerprint;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import io.cusprun.vocab.VocabTrimSettings;
import io.cusprun.vocab.VocabularyTrim;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import me.tongfei.progressbar.ProgressBar;

/**
 * The library's entry point for other Java tools: score corpora, turn scores (or a baseline
 * method) into per-unit statistics, plan the removal for a ratio, write the smaller checkpoint.
 * The CLI's {@code score}, {@code prune}, {@code compare} and {@code demo} run through it.
 *
 * <pre>{@code
 * try (ExpertPruner pruner = ExpertPruner.open(Path.of("llama"))) {
 *     Path out = pruner.checkOutput(Path.of("llama-de-technical"), ExistingOutput.REFUSE); // before any work
 *     List<TokenizedCorpus> documents = pruner.tokenize(List.of(CorpusSpec.parse("language:de=de.jsonl"),
 *             CorpusSpec.parse("domain:technical=tech.jsonl")), ScoreSettings.DEFAULTS);
 *     ScoreSet scores = pruner.scoreTokenized(documents, ScoreSettings.DEFAULTS);
 *     // the default settings: compensated relevance and compensation, both from the documents
 *     PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.3);
 *     PruneData data = PruneData.scored(scores.corpora()).withDocuments(documents);
 *     PrunePlan plan = pruner.plan(pruner.statistics(Method.CUSPRUN, data, settings), settings);
 *     pruner.write(plan, out, WriteOptions.of(pruner.provenance(PruneData.scored(scores.corpora())))
 *             .withDocuments(documents));
 * }
 * }</pre>
 *
 * <p>This example is compiled by the test suite ({@code ExpertPrunerJavadocTest}).
 */
public final class ExpertPruner implements AutoCloseable {
    private final Path modelDir;
    private final String fingerprint;
    private final ModelShape shape;
    private PrintStream progress;
    private MemorySettings memory = MemorySettings.DEFAULTS;
    /**
     * The last calibration pass: wanda-sp and flap read the same sums of the same corpora (and
     * shortgpt's pass, with block influence, collects them too), so a second method on the same
     * calibration list reuses them instead of running the model again.
     */
    private CollectedCalibration lastCalibration;

    private record CollectedCalibration(List<TokenizedCorpus> corpora, boolean blocks, CalibrationHooks hooks) {}

    /**
     * The last documents' Grams of the unpruned model (compensation and the compensated
     * relevance read them; they do not depend on the plan), held when they take at most {@link
     * #HELD_GRAMS_BYTES}, else spilled to disk by the compensated relevance's pass when a refit
     * follows ({@link SpilledGrams}): every method and ratio pruned from the same document list
     * is then refitted without running the model again.
     */
    private HeldGrams lastGrams;

    private record HeldGrams(List<TokenizedCorpus> corpora, UnprunedGrams grams) {}

    /** The most bytes of Grams held between plans (the demo model's, three dimensions: 129 MB). */
    static final long HELD_GRAMS_BYTES = 512L << 20;

    /** {@link #HELD_GRAMS_BYTES}; tests set 0 to take the streamed and spilled paths on a small model. */
    long heldGramsBytes = HELD_GRAMS_BYTES;

    /** The usable bytes of the file store of a directory. */
    @FunctionalInterface
    interface UsableSpace {
        long of(Path dir) throws IOException;
    }

    /** Where the Grams would spill, its room; tests give less. */
    UsableSpace usableSpace = dir -> Files.getFileStore(dir).getUsableSpace();

    private ExpertPruner(Path modelDir, String fingerprint, ModelShape shape) {
        this.modelDir = modelDir;
        this.fingerprint = fingerprint;
        this.shape = shape;
    }

    /** Reads the model directory's config and safetensors headers (no weights are loaded). */
    public static ExpertPruner open(Path modelDir) throws IOException {
        CpuRuntime.configure(); // the shipped native libraries, before anything touches LibTorch
        io.cusprun.Inputs.modelDirectory(modelDir);
        return new ExpertPruner(modelDir, ModelFingerprint.of(modelDir), CheckpointPruner.shapeOf(modelDir));
    }

    /**
     * Draws a progress bar on {@code stream} while scoring and prints notes there (a stale
     * scratch directory removed, the Grams not spilled for want of room); null (the default) for
     * neither.
     */
    public ExpertPruner withProgress(PrintStream stream) {
        this.progress = stream;
        return this;
    }

    /** In memory or layer-streamed, and the memory budget, for scoring and calibration passes. */
    public ExpertPruner withMemory(MemorySettings settings) {
        this.memory = settings;
        return this;
    }

    public Path modelDir() {
        return modelDir;
    }

    public String fingerprint() {
        return fingerprint;
    }

    public ModelShape shape() {
        return shape;
    }

    /** Tokenises the corpora with the model's tokenizer (truncated to the settings' limits). */
    public List<TokenizedCorpus> tokenize(List<CorpusSpec> specs, ScoreSettings settings) throws IOException {
        for (CorpusSpec s : specs) {
            s.checkExists();
        }
        try (TextTokenizer tok = TextTokenizer.load(modelDir)) {
            return Corpora.load(specs, tok, settings.maxTokens(), settings.maxDocs());
        }
    }

    /**
     * Like {@link #tokenize}, but each corpus is resampled from {@code seed}: the settings'
     * {@code maxDocs} documents drawn from all of the corpus (see {@link TokenizedCorpus#sample}).
     */
    public List<TokenizedCorpus> tokenizeSample(List<CorpusSpec> specs, ScoreSettings settings, long seed)
            throws IOException {
        for (CorpusSpec s : specs) {
            s.checkExists();
        }
        try (TextTokenizer tok = TextTokenizer.load(modelDir)) {
            return Corpora.sample(specs, tok, settings.maxTokens(), settings.maxDocs(), seed);
        }
    }

    /** Scores the corpora on the CPU with the native kernels (one pass each, accumulators only). */
    public ScoreSet score(List<CorpusSpec> specs, ScoreSettings settings) throws IOException {
        return scoreTokenized(tokenize(specs, settings), settings);
    }

    /** Scores corpora already tokenised by {@link #tokenize} with the same settings. */
    public ScoreSet scoreTokenized(List<TokenizedCorpus> corpora, ScoreSettings settings) throws IOException {
        Scorer.Options options = Scorer.Options.DEFAULTS.withProgress(progress).withMemory(memory);
        try (ScoreTarget target = ScoreTarget.open(modelDir, RelevanceBackends.byName("native"))) {
            return Scorer.run(target, corpora, settings, options).scores();
        }
    }

    /**
     * Saves scores as a score file (safetensors with a JSON header; temporary file, then rename),
     * the output checked first as {@link #checkOutput} does for a model; returns the path.
     */
    public Path saveScores(ScoreSet scores, Path file, ExistingOutput existing) throws IOException {
        Path abs = OutputPolicy.check(
                file,
                "score file",
                ScoreFile.OUTPUT,
                existing == ExistingOutput.REPLACE,
                Map.of(modelDir, "model"),
                null);
        ScoreFile.write(scores, abs);
        return abs;
    }

    /** Reads score files, refusing files of another model, incomplete shards and repeated corpora. */
    public List<CorpusScores> readScores(List<Path> files) throws IOException {
        List<CorpusScores> corpora = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Path f : files) {
            ScoreSet set = ScoreFile.read(f);
            if (!set.modelFingerprint().equals(fingerprint)) {
                throw new IOException(f + " was scored on another model (fingerprint "
                        + set.modelFingerprint().substring(0, 12) + ", this model " + fingerprint.substring(0, 12)
                        + ")");
            }
            if (!set.shard().complete()) {
                throw new IOException(f + " holds only shard " + set.shard() + "; merge all shards first");
            }
            for (CorpusScores c : set.corpora()) {
                if (!names.add(c.name())) {
                    throw new IllegalArgumentException(
                            f + ": corpus '" + c.name() + "' appears twice (merge shards with 'merge')");
                }
                corpora.add(c);
            }
        }
        return corpora;
    }

    /**
     * Per-unit statistics of a method (lower = removed first). {@code cusprun} and {@code
     * cusprun-general} use {@code data}'s scored corpora (the expert's dimensions, or a general
     * corpus); {@code wanda-sp}, {@code flap} and {@code shortgpt} collect activations of its
     * documents; {@code random} and {@code magnitude} need no data ({@link PruneData#NONE}). The
     * seed, the document quantile, the head rule ({@link io.cusprun.prune.HeadRule}) and cusprun's
     * relevance come from {@code settings}; its ratio is not used. {@link Relevance#COMPENSATED}
     * reads the scored corpora's documents from {@code data} (one corpus per dimension).
     */
    public PruneStatistics statistics(Method method, PruneData data, PruneSettings settings) throws IOException {
        List<CorpusScores> scored = data.scored();
        List<TokenizedCorpus> calibration = data.documents();
        return switch (method) {
            case CUSPRUN, CUSPRUN_GENERAL -> {
                if (scored.isEmpty()) {
                    throw new IllegalArgumentException(method.label() + " needs scored corpora");
                }
                UnitScores ablation = CusprunStatistics.from(
                        method, scored, shape.numLayers(), settings.docQuantile(), settings.headRule());
                if (settings.relevance() == Relevance.ABLATION) yield ablation;
                if (calibration.isEmpty()) {
                    throw new SettingException(
                            "relevance", "compensated needs the scored corpora's documents (or use ablation)");
                }
                UnprunedGrams grams = grams(calibration, true, data.heapBytes());
                // the later dimensions' inverses ahead of their orders where the budget allows
                boolean ahead = compensationPlan(calibration, true, data.heapBytes())
                        .work()
                        .inversesAhead();
                UnitScores compensated;
                if (grams != null && !(grams instanceof SpilledGrams)) {
                    compensated = CompensatedRelevance.of(ablation, grams, ahead);
                } else {
                    // a pass of its own (spilled Grams lack the per-dimension ones of down_proj's input);
                    // where nothing is held and a refit follows, the pass spills the Grams for it
                    CompensatedRelevance.Collector relevance = CompensatedRelevance.collector(ablation, ahead);
                    try (ProgressBar bar = layerBar("relevance", shape.numLayers())) {
                        UnprunedGrams.LayerConsumer counted = g -> {
                            relevance.accept(g);
                            if (bar != null) bar.step();
                        };
                        SpilledGrams spilled =
                                grams == null && settings.compensate() ? spill(calibration, counted) : null;
                        if (spilled != null) grams = spilled;
                        else UnprunedGrams.stream(modelDir, calibration, l -> true, counted);
                    }
                    compensated = relevance.scores();
                }
                // heads and KV groups by the block form, where the granularity can remove them
                if (settings.granularity() != Granularity.FFN_HEADS) yield compensated;
                yield grams == null
                        ? HeadCompensation.of(compensated, modelDir, calibration)
                        : HeadCompensation.of(compensated, grams);
            }
            case RANDOM -> BaselineStatistics.random(shape, settings.seed());
            case MAGNITUDE -> {
                try (Checkpoint cp = Checkpoint.open(modelDir)) {
                    yield BaselineStatistics.magnitude(cp, shape);
                }
            }
            case WANDA_SP, FLAP, SHORTGPT -> {
                if (calibration.isEmpty()) {
                    throw new IllegalArgumentException(method.label() + " needs a calibration corpus");
                }
                int longest = calibration.stream()
                        .flatMap(c -> c.documents().stream())
                        .mapToInt(d -> d.length)
                        .max()
                        .orElse(0);
                int batchTokens = Math.max(2048, longest); // every document fits in one packed batch
                MemoryPlan.Work work = MemoryPlan.Work.calibrate(
                        method == Method.SHORTGPT,
                        batchTokens,
                        64,
                        longest,
                        calibration.stream().mapToLong(TokenizedCorpus::tokens).sum(),
                        calibration.stream().mapToLong(TokenizedCorpus::size).sum());
                boolean blocks = method == Method.SHORTGPT;
                CalibrationHooks cal = lastCalibration != null
                                && lastCalibration.corpora() == calibration
                                && (lastCalibration.blocks() || !blocks)
                        ? lastCalibration.hooks()
                        : null;
                if (cal == null) {
                    MemoryPlan memoryPlan = Decoders.plan(modelDir, LoadOptions.DEFAULTS, memory, work);
                    try (Decoder m = Decoders.open(modelDir, LoadOptions.DEFAULTS, memoryPlan)) {
                        cal = Calibration.collect(m, calibration, batchTokens, blocks);
                    }
                    lastCalibration = new CollectedCalibration(calibration, blocks, cal);
                }
                try (Checkpoint cp = Checkpoint.open(modelDir)) {
                    yield switch (method) {
                        case WANDA_SP -> BaselineStatistics.wandaSp(cp, shape, cal);
                        case FLAP -> BaselineStatistics.flap(cp, shape, cal);
                        default -> BaselineStatistics.shortGpt(shape, cal);
                    };
                }
            }
        };
    }

    /** Chooses the units to remove so the block-parameter ratio is met. */
    public PrunePlan plan(PruneStatistics statistics, PruneSettings settings) {
        if (statistics instanceof LayerScores && settings.masked()) {
            throw new SettingException("masked", "does not apply to shortgpt (it drops layers)");
        }
        return PrunePlanner.plan(shape, statistics, settings);
    }

    /**
     * What the manifest records about the data behind a plan: the scored corpora, the calibration
     * documents and the score files of {@code data} (pass the documents only where a method
     * calibrated on them).
     */
    public Provenance provenance(PruneData data) {
        List<Provenance.CorpusRef> refs = new ArrayList<>();
        for (CorpusScores c : data.scored()) {
            refs.add(new Provenance.CorpusRef(c.kind().label(), c.name(), c.documents(), c.tokens()));
        }
        List<Path> scoreFiles = data.scoreFiles();
        for (TokenizedCorpus c : data.documents()) {
            refs.add(new Provenance.CorpusRef(c.spec().kind().label(), c.spec().name(), c.size(), c.tokens()));
        }
        return new Provenance(
                fingerprint, refs, scoreFiles.stream().map(Path::toString).toList());
    }

    /**
     * The vocabulary an expert scored on {@code expert} keeps (docs/vocabulary.md): the tokens of
     * the settings' corpora (by default the expert's language corpora), tokenized whole, with the
     * special tokens, the base alphabet and the merge closure.
     */
    public VocabularyTrim trimVocabulary(VocabTrimSettings settings, List<CorpusSpec> expert) throws IOException {
        return VocabularyTrim.plan(modelDir, settings, expert);
    }

    /**
     * Checks that {@code out} may be written as a pruned model, before any work: refused (a checked
     * {@link OutputPolicy.RefusedException} naming the path and why) when it exists and {@code existing}
     * is {@link ExistingOutput#REFUSE}, when it is not a pruned model cusprun wrote, or when it is the
     * source model, the working directory or a folder holding them. The name is claimed for this
     * process until the model is written; returns the path, absolute.
     */
    public Path checkOutput(Path out, ExistingOutput existing) throws IOException {
        return OutputPolicy.check(
                out,
                "output",
                CheckpointPruner.OUTPUT,
                existing == ExistingOutput.REPLACE,
                Map.of(modelDir, "source model"),
                null);
    }

    /**
     * Writes the pruned checkpoint (temporary directory, renamed at the end; the output checked
     * as {@link #checkOutput} does). When the plan's settings ask for compensation and it applies
     * ({@link #compensates}), the kept columns of down_proj and o_proj are first refitted on the
     * options' documents (one dimension per corpus; docs/method.md, "Compensation").
     */
    public void write(PrunePlan plan, Path out, WriteOptions options) throws IOException {
        boolean force = options.existing() == ExistingOutput.REPLACE;
        List<TokenizedCorpus> documents = options.documents();
        if (!compensates(plan, documents)) {
            CheckpointPruner.write(modelDir, plan, out, options.provenance(), force, null, options.vocabulary());
            return;
        }
        try (Compensation.Refit refit = compensate(plan, documents, options.heldBytes())) {
            CheckpointPruner.write(modelDir, plan, out, options.provenance(), force, refit, options.vocabulary());
        }
    }

    /**
     * Whether {@link #write(PrunePlan, Path, WriteOptions)} refits: the settings ask for it, the
     * plan removes units within a stock layout (not whole layers, not neuron-level units), and there are documents.
     */
    public static boolean compensates(PrunePlan plan, List<TokenizedCorpus> documents) {
        return plan.settings().compensate() && Compensation.applies(plan) && !documents.isEmpty();
    }

    /**
     * The refit of {@code plan}'s kept columns on {@code documents}, with {@code heldBytes} kept by
     * the caller meanwhile ({@link WriteOptions#heldBytes}); close it when written.
     */
    public Compensation.Refit compensate(PrunePlan plan, List<TokenizedCorpus> documents, long heldBytes)
            throws IOException {
        UnprunedGrams grams = grams(documents, false, heldBytes);
        if (grams != null && !(grams instanceof SpilledGrams)) return Compensation.fit(modelDir, plan, grams);
        int refitted = (int) IntStream.range(0, shape.numLayers())
                .filter(UnprunedGrams.pruned(plan))
                .count();
        try (ProgressBar bar = layerBar("refit", refitted)) {
            IntConsumer fitted = l -> {
                if (bar != null) bar.step();
            };
            return grams == null
                    ? Compensation.fit(modelDir, plan, documents, fitted)
                    : Compensation.fit(modelDir, plan, grams, fitted);
        }
    }

    /**
     * A bar over {@code layers} layers of a compensation pass on the progress stream (null without
     * one): drawn where the Grams are too big to hold, whose passes take minutes to hours a model,
     * not for each of the many quick refits from held Grams that compare and demo make.
     */
    private ProgressBar layerBar(String task, int layers) {
        return progress == null
                ? null
                : ProgressBars.builder(progress, task, " layers", layers).build();
    }

    /**
     * {@code documents}' Grams, held (the same documents as last time: no second pass), or null
     * where they are too big to hold ({@link #compensationPlan}); a memory budget too small even
     * for one layer's Grams at a time is refused here, before the pass ({@code relevance}: the pass
     * computes the compensated relevance too; {@code heldBytes}: what the caller keeps meanwhile).
     */
    private UnprunedGrams grams(List<TokenizedCorpus> documents, boolean relevance, long heldBytes) throws IOException {
        if (lastGrams != null && lastGrams.corpora().equals(documents)) return lastGrams.grams();
        dropGrams();
        if (!compensationPlan(documents, relevance, heldBytes).work().heldGrams()) return null;
        UnprunedGrams grams = UnprunedGrams.hold(modelDir, documents);
        lastGrams = new HeldGrams(documents, grams);
        return grams;
    }

    /**
     * The compensated relevance's pass over {@code documents} (no Grams held), which also writes
     * the Grams the refit and the heads read to a fresh directory under {@code java.io.tmpdir}
     * ({@link SpilledGrams}, kept as the last Grams until replaced or {@link #close}); null, after
     * one line on the progress stream and before any pass, when that directory has no room for them: each
     * reader then runs the model again.
     */
    private SpilledGrams spill(List<TokenizedCorpus> documents, UnprunedGrams.LayerConsumer relevance)
            throws IOException {
        long bytes = SpilledGrams.spilledBytes(ModelConfig.read(modelDir), documents.size());
        Path dir = AtomicOutput.scratchDirectory("cusprun-grams", this::note);
        SpilledGrams grams = null;
        try {
            long usable = usableSpace.of(dir);
            if (usable < bytes) {
                note(String.format(
                        Locale.ROOT,
                        "cusprun: the Grams need %,d bytes on disk and %s has %,d usable: each reader runs the"
                                + " model again (-Djava.io.tmpdir=DIR puts them elsewhere)",
                        bytes,
                        dir.getParent(),
                        usable));
                return null;
            }
            grams = SpilledGrams.spill(modelDir, documents, dir, relevance);
            lastGrams = new HeldGrams(documents, grams);
            return grams;
        } finally {
            if (grams == null) AtomicOutput.release(dir);
        }
    }

    /** One line on the progress stream, where there is one. */
    private void note(String line) {
        if (progress != null) progress.println(line);
    }

    /** Forgets the last Grams, deleting them where they were spilled. */
    private void dropGrams() {
        HeldGrams last = lastGrams;
        lastGrams = null;
        if (last != null && last.grams() instanceof SpilledGrams spilled) {
            try {
                spilled.close();
            } catch (IOException e) {
                note("cusprun: could not delete " + spilled.directory() + ": " + e.getMessage());
            }
        }
    }

    /** Where the last Grams were spilled, or null where they were not (tests). */
    Path spilledGrams() {
        return lastGrams != null && lastGrams.grams() instanceof SpilledGrams s ? s.directory() : null;
    }

    /**
     * Refuses, before any scoring, a memory budget too small for the compensation pass that
     * pruning {@code documents} (one dimension each) by {@code method} with {@code settings} will
     * run: the compensated relevance's (cusprun), or the refit's where {@code writes} (a model will
     * be written). It is the plan {@link #compensationPlan} makes then, counting {@code heldBytes}
     * and the statistics of {@code toScore} corpora about to be scored with {@code scoring} (the
     * formula of scoring's accumulator term), so a long scoring does not end in that refusal.
     * Nothing to check without documents or where no such pass runs. Throws {@link
     * IllegalArgumentException} as {@link #compensationPlan} does.
     */
    public void checkCompensationBudget(
            Method method,
            PruneSettings settings,
            boolean writes,
            List<TokenizedCorpus> documents,
            long heldBytes,
            int toScore,
            ScoreSettings scoring)
            throws IOException {
        boolean relevance = (method == Method.CUSPRUN || method == Method.CUSPRUN_GENERAL)
                && settings.relevance() == Relevance.COMPENSATED;
        boolean refit = writes && settings.compensate() && Compensation.applies(method, settings.granularity());
        if (documents.isEmpty() || !(relevance || refit)) return;
        long scores =
                MemoryPlan.rankAccumulatorBytes(ModelConfig.read(modelDir), toScore, scoring.bins(), scoring.neurons());
        compensationPlan(documents, relevance, heldBytes + scores);
    }

    /** The memory plan of compensation's pass over {@code documents}, and the work it was planned for. */
    public record CompensationPlan(MemoryPlan plan, MemoryPlan.Work work) {}

    /**
     * The memory plan of compensation's pass over {@code documents} (one dimension each; the
     * compensated relevance and the refit): every layer's Grams held between plans when they take
     * at most {@link #HELD_GRAMS_BYTES} and the plan with them fits the budget, else one layer's at
     * a time (from a pass of each reader's own, or read back from disk where the compensated
     * relevance's pass spilled them: the same bound). Held Grams serve every later reader, so
     * they are planned with the compensated relevance's working set; one layer's at a time with
     * it only where {@code relevance} (this pass computes the compensated relevance; the refit
     * alone needs less), and where that does not fit either, with the greedy's ridge inverses
     * computed each in turn instead of ahead ({@link MemoryPlan.Work#withInversesInTurn}: slower,
     * the same results). {@code heldBytes} is what the caller keeps on the host meanwhile (its
     * scored corpora, {@link PruneData#heapBytes}). Throws {@link IllegalArgumentException} when
     * even that does not fit, saying the smallest budget that works.
     */
    public CompensationPlan compensationPlan(List<TokenizedCorpus> documents, boolean relevance, long heldBytes)
            throws IOException {
        int longest = documents.stream()
                .flatMap(c -> c.documents().stream())
                .mapToInt(d -> d.length)
                .max()
                .orElse(0);
        long tokens = documents.stream().mapToLong(TokenizedCorpus::tokens).sum();
        long docs = documents.stream().mapToLong(TokenizedCorpus::size).sum();
        // as Compensation.Batches packs them
        int batchTokens = Math.max(2048, longest);
        boolean hold = UnprunedGrams.heldBytes(ModelConfig.read(modelDir), documents.size()) <= heldGramsBytes;
        if (hold) {
            MemoryPlan.Work held = MemoryPlan.Work.compensate(
                            batchTokens, 64, longest, tokens, docs, documents.size(), true, true)
                    .withHeld(heldBytes);
            try {
                return new CompensationPlan(Decoders.plan(modelDir, LoadOptions.DEFAULTS, memory, held), held);
            } catch (IllegalArgumentException tooSmall) {
                // one layer's Grams at a time may still fit
            }
        }
        MemoryPlan.Work streamed = MemoryPlan.Work.compensate(
                        batchTokens, 64, longest, tokens, docs, documents.size(), false, relevance)
                .withHeld(heldBytes);
        if (relevance) {
            try {
                return new CompensationPlan(Decoders.plan(modelDir, LoadOptions.DEFAULTS, memory, streamed), streamed);
            } catch (IllegalArgumentException tooSmall) {
                // the greedy's inverses one at a time may still fit
                streamed = streamed.withInversesInTurn();
            }
        }
        return new CompensationPlan(Decoders.plan(modelDir, LoadOptions.DEFAULTS, memory, streamed), streamed);
    }

    /**
     * Drops what the pruner keeps between calls (the last calibration pass, the last Grams, deleted
     * from disk where they were spilled); it can still be used.
     */
    @Override
    public void close() {
        lastCalibration = null;
        dropGrams();
    }
}
