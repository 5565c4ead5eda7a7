package io.cusprun.bench;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Issue 6, item 5: scores a (random, 1B-shaped) checkpoint on {@code docs} documents of 512
 * random tokens in 2048-token batches, in a fresh JVM; prints the load time, tokens/s of the
 * scoring run and the peak resident memory (VmHWM) against the checkpoint's size.
 *
 * <p>Args: [preset=1b] [docs=8] [modelDir: default generated under $CUSPRUN_BENCH_DIR].
 */
public final class ScaleRun {
    public static void main(String[] args) throws Exception {
        String preset = args.length > 0 ? args[0] : "1b";
        int docs = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        Path dir = args.length > 2
                ? RandomCheckpoint.ensure(RandomCheckpoint.preset(preset), Path.of(args[2]))
                : E2E.modelDir(preset);
        double fileGB = RandomCheckpoint.bytes(dir) / 1e9;
        TokenizedCorpus corpus = E2E.corpus(RandomCheckpoint.preset(preset).vocab(), docs, 512, 42);
        ScoreSettings settings = E2E.settings(false);
        long t0 = System.nanoTime();
        try (ScoreTarget target = ScoreTarget.open(dir, RelevanceBackends.byName("native"))) {
            target.model("cpu");
            double load = (System.nanoTime() - t0) / 1e9;
            double loadPeak = E2E.statusKiB("VmHWM") / 1048576.0 * 1.073741824; // GB
            double loadRss = E2E.statusKiB("VmRSS") / 1048576.0 * 1.073741824;
            System.out.printf(
                    Locale.ROOT,
                    "loaded %s (%.2f GB on disk) in %.1f s: VmRSS %.2f GB, VmHWM %.2f GB%n",
                    dir,
                    fileGB,
                    load,
                    loadRss,
                    loadPeak);
            Scorer.Result r = Scorer.run(target, List.of(corpus), settings, Scorer.Options.DEFAULTS);
            double peak = E2E.statusKiB("VmHWM") / 1048576.0 * 1.073741824;
            System.out.printf(
                    Locale.ROOT,
                    "RESULT scale %s: %d tokens in %.1f s = %.1f tok/s (50k tokens: %.1f min); "
                            + "peak RSS %.2f GB = %.2fx the checkpoint (budget 2.5x = %.2f GB); load %.1f s, peak at load %.2f GB%n",
                    preset,
                    r.tokens(),
                    r.seconds(),
                    r.tokensPerSecond(),
                    50_000 / r.tokensPerSecond() / 60,
                    peak,
                    peak / fileGB,
                    2.5 * fileGB,
                    load,
                    loadPeak);
        }
    }
}
