package io.cusprun.api;

import io.cusprun.corpus.CorpusSpec;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneSettings;
import io.cusprun.score.ScoreSettings;
import java.nio.file.Path;
import java.util.List;

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
 * @param evalDocs        most documents (and items) evaluated per file; 0 = all
 * @param maxLength       evaluation window in tokens
 * @param keepDir         where the pruned models are kept ({@code <method>-<ratio>}); null = deleted after evaluation
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
        int evalDocs,
        int maxLength,
        Path keepDir) {

    public ComparisonSpec {
        expertCorpora = List.copyOf(expertCorpora);
        overlapCorpora = List.copyOf(overlapCorpora);
        ratios = List.copyOf(ratios);
        methods = List.copyOf(methods);
        if (expertCorpora.isEmpty()) {
            throw new IllegalArgumentException("compare needs at least one expert corpus (--corpus)");
        }
        if (ratios.isEmpty() || methods.isEmpty()) {
            throw new IllegalArgumentException("compare needs at least one ratio and one method");
        }
        if (methods.contains(Method.CUSPRUN_GENERAL) && generalCorpus == null) {
            throw new IllegalArgumentException("cusprun-general needs a general corpus (--general-corpus)");
        }
    }
}
