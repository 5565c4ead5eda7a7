package io.cusprun.bench;

import io.cusprun.FileTrees;
import io.cusprun.api.ExpertPruner;
import io.cusprun.api.PruneData;
import io.cusprun.api.WriteOptions;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.engine.CpuRuntime;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.prune.Relevance;
import io.cusprun.prune.StructuredObs;
import io.cusprun.prune.UnprunedGrams;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The cost of compensation against scoring alone (benchmarks/README.md, "Compensation cost").
 *
 * <p>{@code run MODEL_DIR DOCS MODE [BUDGET]}: three expert dimensions of DOCS documents of 256
 * random token ids each, scored (the scoring alone), then, by MODE: {@code score} stops there;
 * {@code grams} runs the Gram pass alone (one layer at a time, every layer's Grams dropped); {@code refit} plans 45 % with the paper's rule and writes with the refit (one Gram pass of the
 * unpruned model, a Cholesky solve per layer); {@code default} plans with the compensated relevance
 * (the same Gram pass, the greedy per layer and dimension) and writes with the refit; {@code plain}
 * plans with the paper's rule and writes without refit (the writing alone). BUDGET (e.g. 4G)
 * streams the model layer by layer. Prints each phase's seconds and the peak RSS (VmHWM); run each
 * MODE in its own JVM.
 *
 * <p>{@code greedy N D [exact]}: one layer's compensated relevance at N neurons and hidden size D on
 * a random W and a random Gram: the ridge inverse, the blocked greedy ({@link
 * StructuredObs#stepSize}) and, with {@code exact}, the one-channel-per-step greedy on Java arrays.
 *
 * <p>{@code fit N D K}: one projection's refit at N input channels, D outputs and K kept (the first
 * of every N/K) on a random W and the Gram of 2,048 random tokens: the refit ({@link
 * StructuredObs#refit}) and its errors ({@link StructuredObs#relativeErrors}).
 */
public final class CompensationCost {
    public static void main(String[] args) throws Exception {
        CpuRuntime.configure(); // threads and BLAS as every entry point sets them
        if (args[0].equals("fit")) {
            fit(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        } else if (args[0].equals("greedy")) {
            greedy(Integer.parseInt(args[1]), Integer.parseInt(args[2]), args.length > 3 && args[3].equals("exact"));
        } else {
            run(Path.of(args[1]), Integer.parseInt(args[2]), args[3], args.length > 4 ? args[4] : null);
        }
    }

    private static void run(Path dir, int docs, String mode, String budget) throws Exception {
        int vocab = ModelConfig.read(dir.resolve("config.json")).vocabSize();
        List<TokenizedCorpus> corpora = new ArrayList<>();
        String[] names = {"a", "b", "c"};
        CorpusKind[] kinds = {CorpusKind.LANGUAGE, CorpusKind.DOMAIN, CorpusKind.TASK};
        for (int c = 0; c < 3; c++) {
            TokenizedCorpus r = E2E.corpus(vocab, docs, 256, 100 + c);
            corpora.add(new TokenizedCorpus(new CorpusSpec(kinds[c], names[c], Path.of(".")), r.documents()));
        }
        long tokens = corpora.stream().mapToLong(TokenizedCorpus::tokens).sum();
        Path out = Path.of(
                System.getProperty("java.io.tmpdir"),
                "cusprun-comp-cost-" + ProcessHandle.current().pid());
        try (ExpertPruner pruner = ExpertPruner.open(dir).withProgress(System.err)) {
            if (budget != null) {
                pruner.withMemory(MemorySettings.DEFAULTS
                        .withBudget(MemorySettings.parseSize(budget))
                        .withStream(true));
            }
            long t0 = System.nanoTime();
            ScoreSet scores = pruner.scoreTokenized(corpora, ScoreSettings.DEFAULTS);
            double score = (System.nanoTime() - t0) / 1e9;
            double stats = 0, write = 0;
            if (mode.equals("grams")) { // the Gram pass alone, layer by layer, nothing kept
                long t1 = System.nanoTime();
                UnprunedGrams.stream(dir, corpora, l -> true, g -> {});
                stats = (System.nanoTime() - t1) / 1e9;
            } else if (!mode.equals("score")) {
                PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.45);
                if (!mode.equals("default")) settings = settings.withRelevance(Relevance.ABLATION);
                if (mode.equals("plain")) settings = settings.withCompensate(false);
                PruneData data = PruneData.scored(scores.corpora()).withDocuments(corpora);
                long t1 = System.nanoTime();
                PruneStatistics st = pruner.statistics(Method.CUSPRUN, data, settings);
                PrunePlan plan = pruner.plan(st, settings);
                stats = (System.nanoTime() - t1) / 1e9;
                long t2 = System.nanoTime();
                pruner.write(plan, out, WriteOptions.of(pruner.provenance(data)).withDocuments(corpora));
                write = (System.nanoTime() - t2) / 1e9;
                FileTrees.delete(out);
            }
            double peak = E2E.statusKiB("VmHWM") * 1024 / 1e9;
            System.out.printf(
                    Locale.ROOT,
                    "RESULT compensation-cost %s mode %s%s: %d tokens; scoring %.1f s, statistics+plan %.1f s,"
                            + " write %.1f s, total %.1f s; peak RSS %.2f GB%n",
                    dir.getFileName(),
                    mode,
                    budget == null ? "" : " (streamed, budget " + budget + ")",
                    tokens,
                    score,
                    stats,
                    write,
                    score + stats + write,
                    peak);
        }
    }

    private static void fit(int n, int d, int k) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            Tensor x = torch.randn(new long[] {2048, n}).to(torch.ScalarType.Double);
            Tensor g = x.t().mm(x), w = torch.randn(new long[] {d, n}).to(torch.ScalarType.Double);
            long[] kept = new long[k];
            for (int i = 0; i < k; i++) kept[i] = (long) i * n / k;
            long t0 = System.nanoTime();
            StructuredObs.Fit fit = StructuredObs.refit(w, g, kept);
            double refit = (System.nanoTime() - t0) / 1e9;
            Tensor keptColumns = fit.weight().index_select(1, Tensors.ofLongs(kept));
            long t1 = System.nanoTime();
            StructuredObs.relativeErrors(w, g, kept, keptColumns, fit.cross());
            double errors = (System.nanoTime() - t1) / 1e9;
            System.out.printf(
                    Locale.ROOT, "RESULT fit N %d D %d K %d: refit %.1f s, errors %.1f s%n", n, d, k, refit, errors);
        }
    }

    private static void greedy(int n, int d, boolean exact) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            Tensor x = torch.randn(new long[] {2L * n, n}).to(torch.ScalarType.Double);
            Tensor g = x.t().mm(x);
            Tensor w = torch.randn(new long[] {d, n}).to(torch.ScalarType.Double);
            long t0 = System.nanoTime();
            Tensor hinv = StructuredObs.ridgeInverseTensor(g);
            double inverse = (System.nanoTime() - t0) / 1e9;
            double[] wa = exact ? Tensors.toDoubles(w) : null, ha = exact ? Tensors.toDoubles(hinv) : null;
            long t1 = System.nanoTime();
            StructuredObs.Greedy order =
                    StructuredObs.blockedGreedy(w, Tensors.keep(hinv), StructuredObs.stepSize(n)); // takes hinv
            double blocked = (System.nanoTime() - t1) / 1e9;
            String exactTime = "not run";
            if (exact) {
                long t2 = System.nanoTime();
                StructuredObs.greedy(wa, d, n, ha);
                exactTime = String.format(Locale.ROOT, "%.1f s", (System.nanoTime() - t2) / 1e9);
            }
            System.out.printf(
                    Locale.ROOT,
                    "RESULT greedy N %d D %d: ridge inverse %.1f s, blocked greedy (%d per step) %.1f s, exact greedy %s;"
                            + " order %08x, costs %08x (hashes: the same bits give the same)%n",
                    n,
                    d,
                    inverse,
                    StructuredObs.stepSize(n),
                    blocked,
                    exactTime,
                    java.util.Arrays.hashCode(order.order()),
                    java.util.Arrays.hashCode(order.cost()));
        }
    }
}
