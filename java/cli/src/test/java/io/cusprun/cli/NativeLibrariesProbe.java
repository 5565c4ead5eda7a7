package io.cusprun.cli;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * Run by {@link NativeLibrariesIT} in a fresh JVM: the Java API's path (score with the kernels,
 * plan, write), then the thread settings ({@code ompThreads}, {@code processors}, {@code
 * blasOnOneThread}), every shared library mapped into this process ({@code mapped=PATH}) and this
 * process's thread names ({@code thread=NAME}), read from /proc/self.
 * Arguments: model folder, a corpus file, output folder.
 */
public final class NativeLibrariesProbe {
    private NativeLibrariesProbe() {}

    public static void main(String[] args) throws Exception {
        ExpertPruner pruner = ExpertPruner.open(Path.of(args[0]));
        ScoreSettings scoring =
                ScoreSettings.DEFAULTS.withMaxDocs(OptionalInt.of(8)).withMaxTokens(128);
        var documents = pruner.tokenize(List.of(CorpusSpec.parse("language:de=" + args[1])), scoring);
        ScoreSet scores = pruner.scoreTokenized(documents, scoring);
        // the default: the compensated relevance and the refit, both on the scored documents
        var data = io.cusprun.api.PruneData.scored(scores.corpora()).withDocuments(documents);
        PruneStatistics stats = pruner.statistics(Method.CUSPRUN, data, PruneSettings.DEFAULTS);
        PrunePlan plan = pruner.plan(stats, PruneSettings.DEFAULTS.withRatio(0.3));
        pruner.write(
                plan,
                Path.of(args[2]),
                io.cusprun.api.WriteOptions.of(pruner.provenance(data)).withDocuments(documents));
        System.out.println("written=" + Path.of(args[2]));
        // one OpenMP pool (LibTorch's and the kernels') of one thread per processor, OpenBLAS on one thread
        System.out.println("ompThreads=" + org.bytedeco.pytorch.global.torch.get_num_threads());
        System.out.println("processors=" + Runtime.getRuntime().availableProcessors());
        System.out.println("blasOnOneThread=" + io.cusprun.engine.CpuRuntime.gemmOnOpenMp());
        for (String library : mappedLibraries()) System.out.println("mapped=" + library);
        for (Path task : Files.list(Path.of("/proc/self/task")).toList()) {
            System.out.println(
                    "thread=" + Files.readString(task.resolve("comm")).strip());
        }
    }

    /** The files of the shared objects mapped into this process (/proc/self/maps), each once. */
    static TreeSet<String> mappedLibraries() throws java.io.IOException {
        TreeSet<String> files = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash > 0 && line.contains(".so"))
                files.add(line.substring(slash).strip());
        }
        return files;
    }
}
