package io.cusprun.bench;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.MemorySettings;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Streamed against in-memory scoring speed in one JVM, alternating, on the same batches, each run
 * as a command runs it (the model opened for the run: loaded in memory, or read layer by layer):
 * one untimed warm-up run, then {@code rounds} pairs; prints each pair's ratio streamed ÷
 * in-memory tokens/s (opening included) and the median.
 *
 * <p>Args: preset docs rounds [modelDir].
 */
public final class StreamSpeed {
    private StreamSpeed() {}

    /** One run as a command runs it: tokens/s over opening, loading and scoring. */
    static double run(Path dir, TokenizedCorpus corpus, ScoreSettings settings, Scorer.Options options)
            throws Exception {
        long t0 = System.nanoTime();
        long tokens;
        try (ScoreTarget target = ScoreTarget.open(dir, RelevanceBackends.byName("native"))) {
            tokens = Scorer.run(target, List.of(corpus), settings, options).tokens();
        }
        return tokens / ((System.nanoTime() - t0) / 1e9);
    }

    public static void main(String[] args) throws Exception {
        String preset = args[0];
        int docs = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        RandomCheckpoint.Shape shape = RandomCheckpoint.preset(preset);
        Path dir = args.length > 3 ? RandomCheckpoint.ensure(shape, Path.of(args[3])) : E2E.modelDir(preset);
        TokenizedCorpus corpus = E2E.corpus(Math.min(shape.vocab(), 32000), docs, 512, 42);
        ScoreSettings settings = E2E.settings(false);
        Scorer.Options memory = Scorer.Options.DEFAULTS.withMemory(MemorySettings.DEFAULTS);
        Scorer.Options stream = Scorer.Options.DEFAULTS.withMemory(MemorySettings.DEFAULTS.withStream(true));
        double[] ratios = new double[rounds];
        run(dir, corpus, settings, memory); // warm-up: JIT, the file in the page cache
        for (int r = 0; r < rounds; r++) {
            double m = run(dir, corpus, settings, memory);
            double s = run(dir, corpus, settings, stream);
            ratios[r] = s / m;
            System.out.printf(
                    Locale.ROOT,
                    "round %d: in memory %.1f tok/s, streamed %.1f tok/s, ratio %.3f%n",
                    r + 1,
                    m,
                    s,
                    ratios[r]);
        }
        System.out.printf(
                Locale.ROOT,
                "RESULT %s speed: streamed / in memory, median of %d rounds %.3f%n",
                preset,
                rounds,
                E2E.median(ratios));
    }
}
