package io.cusprun.bench;

import io.cusprun.FileTrees;
import io.cusprun.model.Checkpoint;
import io.cusprun.prune.BaselineStatistics;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.prune.ModelShape;
import io.cusprun.prune.Provenance;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PrunePlanner;
import io.cusprun.prune.PruneSettings;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;

/**
 * Issue 6, item 6: {@code CheckpointPruner.write} of a checkpoint with a 30 % uniform plan (random
 * unit scores: the slicing work does not depend on which units go) against a plain copy of the
 * same safetensors file (FileChannel.transferTo, then force, as the writer forces its files), in
 * alternating order, {@code reps} times each; before each, untimed, the previous outputs are
 * deleted and {@code sync} runs. GB/s = bytes / s / 1e9.
 *
 * <p>Args: modelDir outParent [reps=3]. Writes outParent/pruned and outParent/copy.safetensors and
 * deletes them at the end.
 */
public final class PruneRun {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path parent = Path.of(args[1]);
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Files.createDirectories(parent);
        ModelShape shape = CheckpointPruner.shapeOf(dir);
        PrunePlan plan =
                PrunePlanner.plan(shape, BaselineStatistics.random(shape, 1), PruneSettings.DEFAULTS.withRatio(0.3));
        Path src = dir.resolve(Checkpoint.SINGLE_FILE);
        Path out = parent.resolve("pruned"), copy = parent.resolve("copy.safetensors");
        long inBytes = Files.size(src);
        double[] pruneIn = new double[reps],
                pruneOut = new double[reps],
                copyGbs = new double[reps],
                ratio = new double[reps];
        long outBytes = 0;
        for (int r = 0; r < reps; r++) {
            double tPrune = 0, tCopy = 0;
            for (int j = 0; j < 2; j++) {
                boolean pruneNow = (r + j) % 2 == 0;
                // untimed: the previous outputs gone and every dirty page on disk, so that
                // neither operation pays for the other's deletes or write-back
                FileTrees.delete(out);
                Files.deleteIfExists(copy);
                new ProcessBuilder("sync").inheritIO().start().waitFor();
                long t0 = System.nanoTime();
                if (pruneNow) {
                    CheckpointPruner.write(dir, plan, out, new Provenance("bench", List.of(), List.of()), true);
                    tPrune = (System.nanoTime() - t0) / 1e9;
                    outBytes = Files.size(out.resolve(Checkpoint.SINGLE_FILE));
                } else {
                    copy(src, copy);
                    tCopy = (System.nanoTime() - t0) / 1e9;
                }
            }
            pruneIn[r] = inBytes / tPrune / 1e9;
            pruneOut[r] = outBytes / tPrune / 1e9;
            copyGbs[r] = inBytes / tCopy / 1e9;
            ratio[r] = tCopy / tPrune;
            System.out.printf(
                    Locale.ROOT,
                    "rep %d: prune %.2f s (%.2f GB read, %.2f GB written), copy %.2f s%n",
                    r,
                    tPrune,
                    inBytes / 1e9,
                    outBytes / 1e9,
                    tCopy);
        }
        System.out.printf(
                Locale.ROOT,
                "RESULT prune: block ratio %.3f, %.2f GB -> %.2f GB; prune read GB/s %s, written GB/s %s; "
                        + "copy GB/s %s; prune speed / copy speed (same input bytes) %s%n",
                plan.blockRatio(),
                inBytes / 1e9,
                outBytes / 1e9,
                E2E.spread(pruneIn),
                E2E.spread(pruneOut),
                E2E.spread(copyGbs),
                E2E.spread(ratio));
        FileTrees.delete(out);
        Files.deleteIfExists(copy);
    }

    static void copy(Path src, Path dst) throws IOException {
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
                FileChannel o = FileChannel.open(
                        dst,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            long n = in.size();
            for (long pos = 0; pos < n; ) pos += in.transferTo(pos, n - pos, o);
            o.force(false);
        }
    }
}
