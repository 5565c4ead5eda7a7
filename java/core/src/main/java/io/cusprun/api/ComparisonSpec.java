package io.cusprun.api;

import io.cusprun.SettingException;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneSettings;
import io.cusprun.score.ScoreSettings;
import io.cusprun.vocab.VocabTrimSettings;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/**
 * A comparison of pruning methods at several ratios, all through the same selection, slicing,
 * writing and evaluation.
 *
 * @param model           source model directory
 * @param expertCorpora   the expert's dimensions (scored by cusprun; calibration data of wanda-sp, flap, shortgpt)
 * @param generalCorpus   scored for {@code cusprun-general}; null when that method is not compared
 * @param overlapCorpora  further corpora scored only for the report's overlap heatmap (may be empty)
 * @param ratios          fractions of block parameters to remove
 * @param methods         methods to compare
 * @param prune           mode, granularity and the other selection settings (the ratio is replaced per run)
 * @param scoring         document and token limits of scoring and calibration
 * @param evalExpert      held-out expert documents (perplexity)
 * @param evalGeneral     held-out general documents (perplexity)
 * @param evalChoice      held-out multiple-choice items of the expert task, or null
 * @param evalDocs        most documents (and items) evaluated per file; empty: all
 * @param maxLength       evaluation window in tokens
 * @param keepDir         where the pruned models are kept ({@code <method>-<ratio>}); null = deleted after evaluation
 * @param repeats         how many times the scoring and calibration documents are drawn, every method run on each draw
 *                        (1: the first {@code scoring.maxDocs()} documents of each corpus, one run)
 * @param dimensionStudy  also prune with cusprun on each nonempty subset of the expert corpora at the middle ratio
 * @param vocabTrim       also write cusprun's model at the middle ratio with its vocabulary trimmed (first repeat),
 *                        compared in bits per byte with the same model untrimmed; null = not
 */
public record ComparisonSpec(
        Path model,
        List<CorpusSpec> expertCorpora,
        CorpusSpec generalCorpus,
        List<CorpusSpec> overlapCorpora,
        List<Double> ratios,
        List<Method> methods,
        PruneSettings prune,
        ScoreSettings scoring,
        Path evalExpert,
        Path evalGeneral,
        Path evalChoice,
        OptionalInt evalDocs,
        int maxLength,
        Path keepDir,
        int repeats,
        boolean dimensionStudy,
        VocabTrimSettings vocabTrim) {

    /**
     * Every method at 25%, 35% and 45%, default pruning and scoring settings, all documents, a
     * 1024-token window; the model, corpora and held-out files are for the caller to set.
     */
    public static final ComparisonSpec DEFAULTS = new ComparisonSpec(
            null,
            List.of(),
            null,
            List.of(),
            List.of(0.25, 0.35, 0.45),
            List.of(Method.values()),
            PruneSettings.DEFAULTS,
            ScoreSettings.DEFAULTS,
            null,
            null,
            null,
            OptionalInt.empty(),
            1024,
            null,
            1,
            false,
            null);

    /** The dimension study prunes 2^n - 1 models per repeat: at most 15. */
    public static final int MAX_STUDY_DIMENSIONS = 4;

    public ComparisonSpec {
        expertCorpora = List.copyOf(expertCorpora);
        overlapCorpora = List.copyOf(overlapCorpora);
        ratios = List.copyOf(ratios);
        methods = List.copyOf(methods);
        if (evalDocs == null) evalDocs = OptionalInt.empty();
    }

    /** Checks that the spec can run; the constructor does not, so that {@link #DEFAULTS} can leave the inputs open. */
    public ComparisonSpec check() {
        if (model == null) throw new SettingException("model", "is required");
        if (expertCorpora.isEmpty()) throw new SettingException("expertCorpora", "needs at least one corpus");
        if (ratios.isEmpty()) throw new SettingException("ratios", "needs at least one ratio");
        if (methods.isEmpty()) throw new SettingException("methods", "needs at least one method");
        if (new java.util.HashSet<>(ratios).size() != ratios.size()) {
            throw new SettingException("ratios", "lists a ratio twice: " + ratios);
        }
        if (new java.util.HashSet<>(methods).size() != methods.size()) {
            throw new SettingException("methods", "lists a method twice: " + methods);
        }
        if (methods.contains(Method.CUSPRUN_GENERAL) && generalCorpus == null) {
            throw new SettingException("generalCorpus", "is required by cusprun-general");
        }
        if (evalExpert == null) throw new SettingException("evalExpert", "is required");
        if (evalGeneral == null) throw new SettingException("evalGeneral", "is required");
        if (evalDocs.isPresent() && evalDocs.getAsInt() < 1) {
            throw new SettingException("evalDocs", "must be at least 1, not " + evalDocs.getAsInt());
        }
        if (maxLength < 2) throw new SettingException("maxLength", "must be at least 2, not " + maxLength);
        if (repeats < 1) throw new SettingException("repeats", "must be at least 1, not " + repeats);
        if (vocabTrim != null && !methods.contains(Method.CUSPRUN)) {
            throw new SettingException("vocabTrim", "compares cusprun's model with a trimmed vocabulary: add cusprun");
        }
        if (dimensionStudy && expertCorpora.size() < 2) {
            throw new SettingException("dimensionStudy", "needs at least two expert corpora");
        }
        if (dimensionStudy && expertCorpora.size() > MAX_STUDY_DIMENSIONS) {
            throw new SettingException(
                    "dimensionStudy",
                    "takes at most " + MAX_STUDY_DIMENSIONS + " expert corpora (" + expertCorpora.size() + " given)");
        }
        return this;
    }

    public ComparisonSpec withModel(Path v) {
        return new ComparisonSpec(
                v,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withExpertCorpora(List<CorpusSpec> v) {
        return new ComparisonSpec(
                model,
                v,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withGeneralCorpus(CorpusSpec v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                v,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withOverlapCorpora(List<CorpusSpec> v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                v,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withRatios(List<Double> v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                v,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withMethods(List<Method> v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                v,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withPrune(PruneSettings v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                v,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withScoring(ScoreSettings v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                v,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withEvalExpert(Path v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                v,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withEvalGeneral(Path v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                v,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withEvalChoice(Path v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                v,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    /** At most {@code v} documents (and items) per eval file; empty: all. */
    public ComparisonSpec withEvalDocs(OptionalInt v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                v,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withMaxLength(int v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                v,
                keepDir,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withKeepDir(Path v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                v,
                repeats,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withRepeats(int v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                v,
                dimensionStudy,
                vocabTrim);
    }

    public ComparisonSpec withDimensionStudy(boolean v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                v,
                vocabTrim);
    }

    public ComparisonSpec withVocabTrim(VocabTrimSettings v) {
        return new ComparisonSpec(
                model,
                expertCorpora,
                generalCorpus,
                overlapCorpora,
                ratios,
                methods,
                prune,
                scoring,
                evalExpert,
                evalGeneral,
                evalChoice,
                evalDocs,
                maxLength,
                keepDir,
                repeats,
                dimensionStudy,
                v);
    }
}
