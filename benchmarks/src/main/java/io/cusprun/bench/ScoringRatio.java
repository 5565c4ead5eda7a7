package io.cusprun.bench;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.LlamaModel;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ModuleKey;
import io.cusprun.score.RankAccumulator;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 6, items 1-2, interleaved: plain forward, cusprun scoring (fused native kernels) and
 * hook-style scoring ({@link E2E#hooks}) over the same batches of the same model, in one
 * process, in rotating order each round, so that every round gives its own ratios under the
 * same machine load. Prints tokens/s and ratios (median [min..max] over rounds), then checks
 * that cusprun and the hooks give the same rank statistics and writes cusprun's score file and
 * the corpus for the Python peer.
 *
 * <p>Args: [preset=small] [docs=16] [rounds=5] [outDir=benchmarks/target/e2e] [neurons=false].
 */
public final class ScoringRatio {
    public static void main(String[] args) throws Exception {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        String preset = args.length > 0 ? args[0] : "small";
        int docs = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Path out = Path.of(args.length > 3 ? args[3] : "benchmarks/target/e2e");
        boolean neurons = args.length > 4 && Boolean.parseBoolean(args[4]);
        Path dir = E2E.modelDir(preset);
        RandomCheckpoint.Shape shape = RandomCheckpoint.preset(preset);
        TokenizedCorpus corpus = E2E.corpus(shape.vocab(), docs, 512, 42);
        List<TokenizedCorpus> corpora = List.of(corpus);
        ScoreSettings settings = E2E.settings(neurons);
        E2E.writeCorpus(corpus, out.resolve("corpus.safetensors"));
        long tokens = (long) docs * 512;
        System.out.printf(
                Locale.ROOT,
                "model %s (%s), %d docs x 512 = %d tokens, batches of %d tokens, %d rounds, "
                        + "OMP_NUM_THREADS=%s, torch threads %d%n",
                preset,
                dir,
                docs,
                tokens,
                settings.batchTokens(),
                rounds,
                System.getenv("OMP_NUM_THREADS"),
                org.bytedeco.pytorch.global.torch.get_num_threads());
        try (ScoreTarget nat = ScoreTarget.open(dir, RelevanceBackends.byName("native"));
                ScoreTarget hook = ScoreTarget.open(dir, d -> E2E.hooks())) {
            LlamaModel model = nat.model("cpu");
            // warm-up: one pass of each on the first two documents
            List<TokenizedCorpus> warm = List.of(
                    new TokenizedCorpus(corpus.spec(), corpus.documents().subList(0, Math.min(2, docs))));
            E2E.forward(model, warm.get(0), settings);
            Scorer.score(nat, warm, settings);
            Scorer.score(hook, warm, settings);
            String[] modes = {"forward", "cusprun", "hooks"};
            double[][] tps = new double[3][rounds];
            ScoreSet natScores = null, hookScores = null;
            for (int r = 0; r < rounds; r++) {
                for (int j = 0; j < 3; j++) {
                    int m = (r + j) % 3;
                    long t0 = System.nanoTime();
                    switch (m) {
                        case 0 -> E2E.forward(model, corpus, settings);
                        case 1 -> natScores = Scorer.score(nat, corpora, settings);
                        default -> hookScores = Scorer.score(hook, corpora, settings);
                    }
                    tps[m][r] = tokens / ((System.nanoTime() - t0) / 1e9);
                }
                System.out.printf(
                        Locale.ROOT,
                        "round %d: forward %.0f, cusprun %.0f, hooks %.0f tok/s; cusprun/forward %.3f, "
                                + "cusprun/hooks %.3f%n",
                        r,
                        tps[0][r],
                        tps[1][r],
                        tps[2][r],
                        tps[1][r] / tps[0][r],
                        tps[1][r] / tps[2][r]);
            }
            double[] overhead = new double[rounds], speedup = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                overhead[r] = tps[1][r] / tps[0][r];
                speedup[r] = tps[1][r] / tps[2][r];
            }
            for (int m = 0; m < 3; m++) System.out.printf("%-8s tok/s %s%n", modes[m], E2E.spread(tps[m]));
            System.out.printf("RESULT cusprun/forward %s%n", E2E.spread(overhead));
            System.out.printf("RESULT cusprun/hooks   %s%n", E2E.spread(speedup));
            compare(natScores, hookScores, 0.3);
            ScoreFile.write(natScores, out.resolve("cusprun-scores.safetensors"));
            System.out.printf(
                    "wrote %s, peak RSS %.0f MiB%n",
                    out.resolve("cusprun-scores.safetensors"), E2E.statusKiB("VmHWM") / 1024.0);
        }
    }

    /** Same rank statistics? Counts exactly equal rank_max / histograms, and the bottom-{@code ratio} sets per module. */
    static void compare(ScoreSet a, ScoreSet b, double ratio) {
        CorpusScores x = a.corpora().get(0), y = b.corpora().get(0);
        long units = 0, maxEq = 0, histEq = 0, setEq = 0, modules = 0, diffUnits = 0;
        double maxDiff = 0;
        for (Map.Entry<ModuleKey, RankAccumulator> e : x.modules().entrySet()) {
            RankAccumulator p = e.getValue(), q = y.modules().get(e.getKey());
            float[] pm = p.rankMax(), qm = q.rankMax();
            int[] ph = p.rankHist(), qh = q.rankHist();
            int bins = p.bins();
            for (int k = 0; k < pm.length; k++) {
                units++;
                if (pm[k] == qm[k]) maxEq++;
                maxDiff = Math.max(maxDiff, Math.abs(pm[k] - qm[k]));
                if (Arrays.equals(ph, k * bins, (k + 1) * bins, qh, k * bins, (k + 1) * bins)) histEq++;
            }
            modules++;
            List<Integer> sp = bottom(p, ratio), sq = bottom(q, ratio);
            if (sp.equals(sq)) setEq++;
            else {
                List<Integer> onlyP = new ArrayList<>(sp);
                onlyP.removeAll(sq);
                diffUnits += onlyP.size();
            }
        }
        System.out.printf(
                Locale.ROOT,
                "RESULT same rank stats: rank_max equal %d/%d (max |diff| %.4f), histograms equal %d/%d, "
                        + "bottom-%.0f%% sets equal in %d/%d modules (%d units differ)%n",
                maxEq,
                units,
                maxDiff,
                histEq,
                units,
                ratio * 100,
                setEq,
                modules,
                diffUnits);
    }

    /** Sorted indices of the least relevant {@code ratio} of units by (rank_max, relevance sum, index). */
    static List<Integer> bottom(RankAccumulator a, double ratio) {
        float[] m = a.rankMax();
        double[] s = a.relevanceSum();
        Integer[] idx = new Integer[m.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (i, j) -> {
            int c = Float.compare(m[i], m[j]);
            return c != 0 ? c : Double.compare(s[i], s[j]);
        });
        List<Integer> out = new ArrayList<>(Arrays.asList(idx).subList(0, (int) Math.round(ratio * m.length)));
        out.sort(null);
        return out;
    }
}
