package io.cusprun.api;

import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.TextTokenizer;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One scoring run: what to score (model, corpora, settings, relevance kernels) and how
 * ({@link Scorer.Options}: devices, shard, resume and checkpoints, memory budget and streaming).
 * {@code cusprun score} builds one from its options and {@link #run}s it; the Spark job builds one
 * on the driver and each task {@link #score}s its shard with it. The inputs are checked here, once
 * ({@link #checkInputs}).
 *
 * @param kernels the relevance back end by name ({@link RelevanceBackends#byName}: native or libtorch)
 * @param options devices, shard, resume, checkpoint interval, memory; the partial file is set by {@link #run}
 */
public record ScoreJob(
        Path model, List<CorpusSpec> corpora, ScoreSettings settings, String kernels, Scorer.Options options) {
    public static final String DEFAULT_KERNELS = "native";

    public ScoreJob {
        corpora = List.copyOf(corpora);
        RelevanceBackends.byName(kernels); // an unknown name fails here, before any work
    }

    /** The model on the corpora with the default settings, kernels and options (one CPU worker). */
    public static ScoreJob of(Path model, List<CorpusSpec> corpora) {
        return new ScoreJob(model, corpora, ScoreSettings.DEFAULTS, DEFAULT_KERNELS, Scorer.Options.DEFAULTS);
    }

    public ScoreJob withSettings(ScoreSettings s) {
        return new ScoreJob(model, corpora, s, kernels, options);
    }

    public ScoreJob withKernels(String k) {
        return new ScoreJob(model, corpora, settings, k, options);
    }

    public ScoreJob withOptions(Scorer.Options o) {
        return new ScoreJob(model, corpora, settings, kernels, o);
    }

    /** The same job with the model and corpus paths absolute and normalized (what a cluster's executors need). */
    public ScoreJob absolute() {
        List<CorpusSpec> abs = corpora.stream()
                .map(c -> new CorpusSpec(
                        c.kind(), c.name(), c.path().toAbsolutePath().normalize()))
                .toList();
        return new ScoreJob(model.toAbsolutePath().normalize(), abs, settings, kernels, options);
    }

    /**
     * The inputs, checked once before any work: every corpus path exists and the model directory
     * holds a config.json. One-line IOException naming the path.
     */
    public ScoreJob checkInputs() throws IOException {
        for (CorpusSpec s : corpora) s.checkExists();
        io.cusprun.Inputs.modelDirectory(model);
        return this;
    }

    /** The corpora read and tokenized with the model's tokenizer, truncated as the settings say. */
    public List<TokenizedCorpus> tokenize() throws IOException {
        try (TextTokenizer tok = TextTokenizer.load(model)) {
            return Corpora.load(corpora, tok, settings.maxTokens(), settings.maxDocs());
        }
    }

    /** Tokenizes and scores (no file written); {@code progress} draws a progress bar, null for none. */
    public Scorer.Result score(PrintStream progress) throws IOException {
        return score(tokenize(), options.withProgress(progress));
    }

    /**
     * Scores and writes the score file {@code out} (temporary file, then rename), checkpointing to
     * {@link #partial}{@code (out)} as it goes (and resuming from it when the options say so); the
     * checkpoint is removed once the file is written.
     */
    public Scorer.Result run(Path out, PrintStream progress) throws IOException {
        Path partial = partial(out);
        Scorer.Result r =
                score(tokenize(), options.withPartial(partial, options.resume()).withProgress(progress));
        if (r.scores() != null) {
            ScoreFile.write(r.scores(), out);
            Files.deleteIfExists(partial);
        }
        return r;
    }

    /** What {@link #run} would do on the tokenized corpora: the memory plan of each device. */
    public Map<String, MemoryPlan> plans(List<TokenizedCorpus> tokenized) throws IOException {
        try (ScoreTarget target = ScoreTarget.open(model, RelevanceBackends.byName(kernels))) {
            return Scorer.plans(target, tokenized, settings, options);
        }
    }

    /** Where {@link #run} checkpoints: FILE.partial beside the output. */
    public static Path partial(Path out) {
        return out.resolveSibling(out.getFileName() + ".partial");
    }

    private Scorer.Result score(List<TokenizedCorpus> tokenized, Scorer.Options o) throws IOException {
        try (ScoreTarget target = ScoreTarget.open(model, RelevanceBackends.byName(kernels))) {
            return Scorer.run(target, tokenized, settings, o);
        }
    }
}
