package io.cusprun.bench;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Scores a random checkpoint in memory or layer-streamed in a fresh JVM and prints tokens/s, the
 * peak resident memory (VmHWM) and the memory plan's estimate of it; writes the score file so
 * that runs in the two modes can be compared byte for byte.
 *
 * <p>Args: preset memory|stream docs len scoreFile [budget, e.g. 4G; default from the machine]
 * [modelDir, default generated under $CUSPRUN_BENCH_DIR].
 */
public final class StreamRun {
    public static void main(String[] args) throws Exception {
        String preset = args[0];
        boolean stream = args[1].equals("stream");
        int docs = Integer.parseInt(args[2]);
        int len = Integer.parseInt(args[3]);
        Path out = Path.of(args[4]);
        long budget = args.length > 5 && !args[5].equals("-") ? MemorySettings.parseSize(args[5]) : 0;
        RandomCheckpoint.Shape shape = RandomCheckpoint.preset(preset);
        Path dir = args.length > 6 ? RandomCheckpoint.ensure(shape, Path.of(args[6])) : E2E.modelDir(preset);
        double fileGB = RandomCheckpoint.bytes(dir) / 1e9;
        TokenizedCorpus corpus = E2E.corpus(Math.min(shape.vocab(), 32000), docs, len, 42);
        ScoreSettings settings = E2E.settings(false);
        Scorer.Options options = Scorer.Options.DEFAULTS.withMemory(
                budget > 0
                        ? MemorySettings.DEFAULTS.withStream(stream).withBudget(budget)
                        : MemorySettings.DEFAULTS.withStream(stream));
        try (ScoreTarget target = ScoreTarget.open(dir, RelevanceBackends.byName("native"))) {
            MemoryPlan plan =
                    Scorer.plans(target, List.of(corpus), settings, options).get("cpu");
            Scorer.Result r = Scorer.run(target, List.of(corpus), settings, options);
            ScoreFile.write(r.scores(), out);
            double peak = E2E.statusKiB("VmHWM") * 1024 / 1e9;
            System.out.printf(
                    Locale.ROOT,
                    "RESULT %s %s: %d tokens in %.1f s = %.1f tok/s; peak RSS %.3f GB (plan estimate %.3f GB, %+.0f%%);"
                            + " checkpoint %.2f GB; %s%n",
                    preset,
                    plan.streamed() ? "stream" : "memory",
                    r.tokens(),
                    r.seconds(),
                    r.tokensPerSecond(),
                    peak,
                    plan.peakHost() / 1e9,
                    100.0 * (plan.peakHost() / 1e9 - peak) / peak,
                    fileGB,
                    plan.describe(len).replace('\n', ';'));
        }
    }
}
