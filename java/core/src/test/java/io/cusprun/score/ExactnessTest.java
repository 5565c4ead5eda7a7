package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.SafetensorsHeader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shards, workers and restarts give bit-identical statistics (and files). */
class ExactnessTest {
    @TempDir
    static Path dir;

    static ScoreTarget target;
    static List<TokenizedCorpus> corpora;
    static final ScoreSettings SETTINGS = ScoreSettings.DEFAULTS
            .withMaxTokens(40)
            .withBins(16)
            .withBatchTokens(48)
            .withBatchDocs(3)
            .withNeurons(true);
    static ScoreSet reference;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void setUp() throws Exception {
        target =
                ScoreTarget.open(PlantedModel.write(dir.resolve("model"), 5, true), RelevanceBackends.byName("native"));
        corpora = List.of(
                new TokenizedCorpus(
                        new CorpusSpec(CorpusKind.LANGUAGE, "a", dir), PlantedModel.documents('a', 14, 3, 40, 8)),
                new TokenizedCorpus(
                        new CorpusSpec(CorpusKind.TASK, "b", dir), PlantedModel.documents('b', 9, 3, 40, 9)));
        reference = Scorer.score(target, corpora, SETTINGS);
    }

    @AfterAll
    static void tearDown() {
        target.close();
    }

    @Test
    void mergedShardsEqualOneRun() throws Exception {
        ScoreSet merged = null;
        for (int i : new int[] {2, 0, 1}) { // any order
            ScoreSet shard = Scorer.run(
                            target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withShard(ShardSpec.parse(i + "/3")))
                    .scores();
            Path f = dir.resolve("shard" + i + ".safetensors");
            ScoreFile.write(shard, f);
            ScoreSet read = ScoreFile.read(f);
            assertTrue(read.sameAs(shard), () -> "file round trip: " + describeDiff(read, shard));
            merged = merged == null ? read : merged.merge(read);
        }
        assertTrue(merged.shard().complete());
        assertTrue(merged.sameAs(reference));
    }

    static String describeDiff(ScoreSet a, ScoreSet b) {
        StringBuilder sb = new StringBuilder();
        if (!a.modelFingerprint().equals(b.modelFingerprint())) sb.append("fingerprint ");
        if (!a.settings().equals(b.settings())) sb.append("settings ");
        if (!a.shard().equals(b.shard()))
            sb.append("shard ").append(a.shard()).append(" vs ").append(b.shard());
        for (int i = 0; i < a.corpora().size(); i++) {
            CorpusScores x = a.corpora().get(i), y = b.corpora().get(i);
            if (x.documents() != y.documents() || x.tokens() != y.tokens())
                sb.append(" counts ").append(x.name());
            if (!x.modules().keySet().equals(y.modules().keySet()))
                sb.append(" keys ")
                        .append(x.modules().keySet())
                        .append(y.modules().keySet());
            x.modules().forEach((k, v) -> {
                RankAccumulator w = y.modules().get(k);
                if (w != null && !v.sameAs(w))
                    sb.append(" module ")
                            .append(k)
                            .append(" docs ")
                            .append(v.documents())
                            .append("/")
                            .append(w.documents());
            });
        }
        return sb.toString();
    }

    @Test
    void twoCpuWorkersEqualOne() throws Exception {
        ScoreSet two = Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withDevices(List.of("cpu", "cpu")))
                .scores();
        assertTrue(two.sameAs(reference));
    }

    @Test
    void resumedRunEqualsUninterruptedRun() throws Exception {
        Path partial = dir.resolve("scores.safetensors.partial");
        Scorer.Result first = Scorer.run(
                target,
                corpora,
                SETTINGS,
                Scorer.Options.DEFAULTS.withPartial(partial, true).withStopAfter(3));
        assertFalse(first.complete());
        assertNull(first.scores());
        assertTrue(Files.exists(partial));
        Scorer.Result second =
                Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withPartial(partial, true));
        assertTrue(second.complete());
        assertTrue(second.documents() < 23, "the restart skipped the batches done");
        assertTrue(second.scores().sameAs(reference));
    }

    /**
     * A partial file is resumed only by a run on the same documents: another file under the same
     * corpus name (other contents), or another selection of its documents, is refused naming the
     * corpus; so is a partial file with one flipped byte.
     */
    @Test
    void resumeRefusesOtherCorpusContentsOtherSelectionsAndDamagedPartials() throws Exception {
        Path partial = dir.resolve("digest.safetensors.partial");
        assertFalse(Scorer.run(
                        target,
                        corpora,
                        SETTINGS,
                        Scorer.Options.DEFAULTS.withPartial(partial, true).withStopAfter(3))
                .complete());
        List<TokenizedCorpus> otherText = List.of(
                corpora.get(0), new TokenizedCorpus(corpora.get(1).spec(), PlantedModel.documents('b', 9, 3, 40, 10)));
        List<TokenizedCorpus> otherSelection = List.of(
                corpora.get(0),
                new TokenizedCorpus(
                        corpora.get(1).spec(),
                        corpora.get(1).documents().subList(1, corpora.get(1).size())));
        for (List<TokenizedCorpus> other : List.of(otherText, otherSelection)) {
            IOException e = assertThrows(
                    IOException.class,
                    () -> Scorer.run(target, other, SETTINGS, Scorer.Options.DEFAULTS.withPartial(partial, true)));
            assertTrue(e.getMessage().contains("corpus b") && e.getMessage().contains("digest"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        // one flipped bit anywhere in the data region
        SafetensorsHeader h = SafetensorsHeader.read(partial);
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 20; i++) {
            Path flipped = dir.resolve("flipped.safetensors.partial");
            Files.copy(partial, flipped, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            long at = h.dataStart() + (long) (r.nextDouble() * h.dataSize());
            byte[] all = Files.readAllBytes(flipped);
            all[(int) at] ^= (byte) (1 << r.nextInt(8));
            Files.write(flipped, all);
            IOException e = assertThrows(
                    IOException.class,
                    () -> Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withPartial(flipped, true)),
                    "byte " + at);
            assertTrue(e.getMessage().contains(flipped.toString()), e.getMessage());
        }
        Scorer.Result resumed =
                Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withPartial(partial, true));
        assertTrue(resumed.scores().sameAs(reference));
    }

    @Test
    void partialFilesListTheBatchesDoneAsAnArrayAndTheOldStringFormStillResumes() throws Exception {
        Path partial = dir.resolve("array.safetensors.partial");
        assertFalse(Scorer.run(
                        target,
                        corpora,
                        SETTINGS,
                        Scorer.Options.DEFAULTS.withPartial(partial, true).withStopAfter(3))
                .complete());
        JsonNode done = JSON.readTree(SafetensorsHeader.read(partial).metadata().get(PartialCheckpoint.DONE_KEY));
        ObjectNode old = JSON.createObjectNode();
        done.fields().forEachRemaining(e -> {
            assertTrue(e.getValue().isArray(), e.toString());
            old.put(e.getKey(), PartialCheckpoint.doneBatches(e.getValue()).toString());
        });
        assertTrue(old.toString().contains("\"{0, 1"), old.toString());
        Path legacy = dir.resolve("legacy.safetensors.partial");
        ScoreFile.write(
                ScoreFile.read(partial),
                legacy,
                Map.of(
                        PartialCheckpoint.DONE_KEY,
                        JSON.writeValueAsString(old),
                        PartialCheckpoint.DIGESTS_KEY,
                        SafetensorsHeader.read(partial).metadata().get(PartialCheckpoint.DIGESTS_KEY)));
        Scorer.Result resumed =
                Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withPartial(legacy, true));
        assertTrue(resumed.complete());
        assertTrue(resumed.documents() < 23, "the restart skipped the batches done");
        assertTrue(resumed.scores().sameAs(reference));
    }

    @Test
    void doneBatchesReadsBothFormsAndRejectsOthers() throws Exception {
        BitSet expected = new BitSet();
        expected.set(1);
        expected.set(2);
        expected.set(5);
        assertEquals("[1,2,5]", PartialCheckpoint.doneBatches(expected).toString());
        assertEquals(expected, PartialCheckpoint.doneBatches(JSON.readTree("[1, 2, 5]")));
        assertEquals(expected, PartialCheckpoint.doneBatches(JSON.readTree("\"{1, 2, 5}\"")));
        assertEquals(new BitSet(), PartialCheckpoint.doneBatches(JSON.readTree("\"{}\"")));
        assertThrows(IllegalArgumentException.class, () -> PartialCheckpoint.doneBatches(JSON.readTree("[1, -2]")));
        assertThrows(IllegalArgumentException.class, () -> PartialCheckpoint.doneBatches(JSON.readTree("\"1; 2\"")));
    }

    @Test
    void mergeRefusesOtherSettingsOrOverlap() throws Exception {
        ScoreSet s0 = Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withShard(ShardSpec.parse("0/2")))
                .scores();
        assertThrows(IllegalArgumentException.class, () -> s0.merge(s0));
        ScoreSet other = new ScoreSet("other", SETTINGS, ShardSpec.parse("1/2"), s0.corpora());
        assertThrows(IllegalArgumentException.class, () -> s0.merge(other));
        ScoreSettings bins = ScoreSettings.DEFAULTS
                .withMaxTokens(40)
                .withBins(8)
                .withBatchTokens(48)
                .withBatchDocs(3)
                .withNeurons(true);
        assertThrows(
                IllegalArgumentException.class,
                () -> s0.merge(new ScoreSet(s0.modelFingerprint(), bins, ShardSpec.parse("1/2"), s0.corpora())));
    }
}
