package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Tensors;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native kernels agree with the LibTorch/Java reference of the same contract. */
class NativeBackendTest {
    @TempDir
    Path dir;

    /**
     * The native rank_update and the Java reference (RankUpdater.JAVA, ExactSum) give the same
     * statistics bit for bit, over two calls, on relevance with ties and fractions down to 2^-60.
     */
    @Test
    void nativeRanksEqualTheJavaReference() {
        Random rnd = new Random(3);
        int nDocs = 7, n = 33, bins = 10;
        RankAccumulator java = new RankAccumulator(n, bins);
        DeviceRanks nat = null, ref = null;
        try {
            for (int call = 0; call < 2; call++) {
                double[] rel = new double[nDocs * n];
                for (int i = 0; i < rel.length; i++) {
                    rel[i] = rnd.nextInt(6) == 0
                            ? 0.0
                            : rnd.nextInt(20) + Math.scalb((double) rnd.nextInt(1 << 20), -60);
                    if (rnd.nextInt(5) == 0) rel[i] = 3.0; // many ties
                }
                java.update(rel, nDocs, RankUpdater.JAVA);
                Tensor t = Tensors.ofDoubles(rel, nDocs, n);
                if (nat == null) {
                    nat = new DeviceRanks(n, bins, t);
                    ref = new DeviceRanks(n, bins, t);
                }
                nat.update(t, NativeRelevanceBackend.forDevice("cpu"));
                ref.update(t, TorchRelevanceBackend.INSTANCE);
            }
            assertTrue(java.sameAs(nat.toHost()), "native rank_update differs from the Java reference");
            assertTrue(java.sameAs(ref.toHost()), "the torch back end's ranks differ from the Java reference");
        } finally {
            if (nat != null) nat.close();
            if (ref != null) ref.close();
        }
    }

    @Test
    void nativeScoringMatchesTheReference() throws Exception {
        Path model = PlantedModel.write(dir.resolve("m"), 21, true);
        List<TokenizedCorpus> corpora = List.of(new TokenizedCorpus(
                new CorpusSpec(CorpusKind.DOMAIN, "a", dir), PlantedModel.documents('a', 6, 4, 30, 2)));
        ScoreSettings settings = ScoreSettings.DEFAULTS
                .withMaxTokens(64)
                .withBins(10)
                .withBatchTokens(64)
                .withBatchDocs(4)
                .withNeurons(true);
        ScoreSet ref, nat;
        try (ScoreTarget t = ScoreTarget.open(model, d -> TorchRelevanceBackend.INSTANCE)) {
            ref = Scorer.score(t, corpora, settings);
        }
        try (ScoreTarget t = ScoreTarget.open(model, RelevanceBackends.byName("native"))) {
            nat = Scorer.score(t, corpora, settings);
        }
        CorpusScores r = ref.corpus("a"), n = nat.corpus("a");
        assertEquals(r.modules().keySet(), n.modules().keySet());
        r.modules().forEach((k, a) -> {
            double[] x = a.relevanceSum(), y = n.modules().get(k).relevanceSum();
            double scale = Arrays.stream(x).max().orElse(1);
            for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 1e-4 * scale + 1e-9, k + " unit " + i);
        });
    }
}
