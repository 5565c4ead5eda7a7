package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScorerTest {
    @TempDir
    static Path dir;

    static ScoreTarget target;
    static TokenizedCorpus corpusA, corpusB;
    static final ScoreSettings SETTINGS = ScoreSettings.DEFAULTS
            .withMaxTokens(64)
            .withBins(20)
            .withBatchTokens(64)
            .withBatchDocs(4);

    @BeforeAll
    static void setUp() throws Exception {
        Path model = PlantedModel.write(dir.resolve("model"), 7);
        target = ScoreTarget.open(model, d -> TorchRelevanceBackend.INSTANCE);
        corpusA = new TokenizedCorpus(
                new CorpusSpec(CorpusKind.LANGUAGE, "a", dir), PlantedModel.documents('a', 12, 5, 30, 1));
        corpusB = new TokenizedCorpus(
                new CorpusSpec(CorpusKind.LANGUAGE, "b", dir), PlantedModel.documents('b', 12, 5, 30, 2));
    }

    @AfterAll
    static void tearDown() {
        target.close();
    }

    @Test
    void plantedUnitsAreIrrelevantToTheOtherLanguage() throws Exception {
        ScoreSet set = Scorer.score(target, List.of(corpusA, corpusB), SETTINGS);
        CorpusScores a = set.corpus("a"), b = set.corpus("b");
        assertEquals(12, a.documents());
        for (int l = 0; l < PlantedModel.LAYERS; l++) {
            float[] maxOnA = a.module(l, ModuleKind.MLP).rankMax();
            float[] maxOnB = b.module(l, ModuleKind.MLP).rankMax();
            float lowestTie = 1.5f / (PlantedModel.FFN - 1); // four planted neurons tied at relevance 0
            for (int k : PlantedModel.FFN_B) assertEquals(lowestTie, maxOnA[k], 1e-6, "B neuron " + k + " on A text");
            for (int k : PlantedModel.FFN_A) assertEquals(lowestTie, maxOnB[k], 1e-6, "A neuron " + k + " on B text");
            for (int k : PlantedModel.FFN_A)
                assertTrue(maxOnA[k] > 2 * lowestTie, "A neuron " + k + " matters on A text");
            float[] groupsOnA = a.module(l, ModuleKind.GROUP).rankMax();
            assertEquals(0f, groupsOnA[1]);
            assertEquals(1f, groupsOnA[0]);
            float[] headsOnB = b.module(l, ModuleKind.HEAD).rankMax();
            assertTrue(headsOnB[0] < 0.5 && headsOnB[1] < 0.5, "heads of group 0 are silent on B text");
        }
        assertFalse(a.has(ModuleKind.QK));
    }
}
