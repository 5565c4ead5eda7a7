package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native kernels agree with the LibTorch/Java reference of the same contract. */
class NativeBackendTest {
    @TempDir
    Path dir;

    @Test
    void nativeRanksEqualTheJavaReference() {
        Random rnd = new Random(3);
        int nDocs = 7, n = 33, bins = 10;
        double[] rel = new double[nDocs * n];
        for (int i = 0; i < rel.length; i++) rel[i] = rnd.nextInt(6) == 0 ? 0.0 : rnd.nextInt(20); // many ties
        float[] maxJ = new float[n], maxN = new float[n];
        int[] histJ = new int[n * bins], histN = new int[n * bins];
        RankUpdater.JAVA.update(rel, nDocs, n, maxJ, histJ, bins);
        NativeRelevanceBackend.forDevice("cpu").ranks().update(rel, nDocs, n, maxN, histN, bins);
        assertArrayEquals(maxJ, maxN);
        assertArrayEquals(histJ, histN);
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
