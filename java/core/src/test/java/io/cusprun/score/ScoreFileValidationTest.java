package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.NonFiniteException;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.SafetensorsHeader;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Score files are checked on read; scoring stops at a non-finite relevance naming where it is. */
class ScoreFileValidationTest {

    @TempDir
    static Path dir;

    static Path model;
    static Path good;
    static final ScoreSettings SETTINGS = ScoreSettings.DEFAULTS
            .withMaxTokens(64)
            .withBins(20)
            .withBatchTokens(64)
            .withBatchDocs(4);

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 7);
        try (ScoreTarget target = ScoreTarget.open(model, d -> TorchRelevanceBackend.INSTANCE)) {
            TokenizedCorpus a = new TokenizedCorpus(
                    new CorpusSpec(CorpusKind.LANGUAGE, "a", dir), PlantedModel.documents('a', 6, 5, 20, 1));
            good = dir.resolve("good.scores");
            ScoreFile.write(Scorer.score(target, List.of(a), SETTINGS), good);
        }
    }

    private static final String MAX = "a/model.layers.0.mlp.rank_max";
    private static final String HIST = "a/model.layers.0.mlp.rank_hist";
    private static final String SUM = "a/model.layers.0.mlp.relevance_sum";

    /** A copy of the good file with bytes written at an element of a tensor. */
    private static Path patched(String name, String tensor, long element, ByteBuffer value) throws IOException {
        Path p = dir.resolve(name);
        Files.copy(good, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        SafetensorsHeader h = SafetensorsHeader.read(p);
        TensorInfo t = h.tensor(tensor);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(
                    value.flip(),
                    h.dataStart() + t.begin() + element * t.dtype().byteSize());
        }
        return p;
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A copy of the good file with its metadata edited. */
    private static Path withMetadata(String name, Consumer<Map<String, String>> edit) throws IOException {
        Path p = dir.resolve(name);
        try (SafetensorsFile f = SafetensorsFile.open(good);
                PointerScope scope = new PointerScope()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String t : f.header().tensors().keySet()) {
                tensors.put(t, f.tensor(t).clone());
            }
            Map<String, String> meta = new LinkedHashMap<>(f.header().metadata());
            edit.accept(meta);
            SafetensorsWriter.writeFile(p, tensors, meta);
        }
        return p;
    }

    private static void refused(Path file, String... fragments) {
        IOException e = assertThrows(IOException.class, () -> ScoreFile.read(file));
        String msg = e.getMessage();
        assertFalse(msg.contains("\n"), msg);
        assertTrue(msg.contains(file.toString()), msg);
        for (String f : fragments) {
            assertTrue(msg.contains(f), "'" + f + "' missing from: " + msg);
        }
    }

    @Test
    void goodFileReads() throws IOException {
        assertEquals(6, ScoreFile.read(good).corpus("a").documents());
    }

    @Test
    void badRanksHistogramsAndSumsAreRefused() throws IOException {
        refused(patched("nan-rank", MAX, 3, le(4).putFloat(Float.NaN)), "corpus a", "mlp", "rank_max[3]");
        refused(patched("big-rank", MAX, 0, le(4).putFloat(1.5f)), "rank_max[0]", "[0, 1]");
        refused(patched("neg-rank", MAX, 0, le(4).putFloat(-0.25f)), "rank_max[0]");
        refused(patched("neg-hist", HIST, 5, le(4).putInt(-3)), "rank_hist", "negative");
        refused(patched("more-hist", HIST, 5, le(4).putInt(1000)), "rank_hist", "documents");
        refused(patched("nan-sum", SUM, 2, le(8).putDouble(Double.NaN)), "relevance_sum[2]");
    }

    /**
     * Values that are each valid alone but wrong: a rank_max outside its histogram's highest
     * bin, and any flipped bit that leaves a valid number (the checksum), are refused.
     */
    @Test
    void aRankMaxContradictingItsHistogramAndValidLookingFlipsAreRefused() throws IOException {
        ScoreSet set = ScoreFile.read(good);
        RankAccumulator acc = set.corpus("a").modules().get(ScoreFile.parseKey("model.layers.0.mlp."));
        int bins = acc.bins();
        int top = 0;
        for (int b = 0; b < bins; b++) if (acc.rankHist()[b] > 0) top = b;
        float wrong = top == bins - 1 ? 0f : 1f;
        refused(patched("contradicting-rank", MAX, 0, le(4).putFloat(wrong)), "rank_max[0]", "histogram");
        // a sum with its last mantissa bit flipped: finite, plausible, and not what was computed
        double sum = acc.relevanceSum()[2];
        refused(
                patched(
                        "flipped-sum",
                        SUM,
                        2,
                        le(8).putDouble(Double.longBitsToDouble(Double.doubleToLongBits(sum) ^ 1))),
                "checksum");
        refused(withMetadata("no-checksum", m -> m.remove(ScoreFile.CHECKSUM)), "no checksum");
        refused(withMetadata("other-version", m -> m.put("cusprun_version", "0.0.1")), "checksum");
    }

    @Test
    void badCountsAndMetadataAreRefused() throws IOException {
        refused(
                withMetadata(
                        "neg-docs",
                        m -> m.put("corpora", m.get("corpora").replace("\"documents\":6", "\"documents\":-6"))),
                "documents");
        refused(
                withMetadata(
                        "str-docs",
                        m -> m.put("corpora", m.get("corpora").replace("\"documents\":6", "\"documents\":\"6\""))),
                "documents");
        refused(
                withMetadata(
                        "more-docs",
                        m -> m.put("corpora", m.get("corpora").replace("\"documents\":6", "\"documents\":7"))),
                "rank_hist");
        refused(withMetadata("no-settings", m -> m.remove("settings")), "settings");
        refused(
                withMetadata(
                        "bins",
                        m -> m.put("settings", m.get("settings").replace("\"bins\":\"20\"", "\"bins\":\"10\""))),
                "rank_hist");
    }

    /** Seeded bit flips, byte edits, truncations and appended bytes: a clean one-line error, or a file that reads. */
    @Test
    void mutatedScoreFilesAreRefusedCleanlyOrRead() throws IOException {
        byte[] original = Files.readAllBytes(good);
        java.util.Random rnd = new java.util.Random(5);
        Path p = dir.resolve("fuzz.scores");
        int refused = 0;
        int cases = Integer.getInteger("cusprun.fuzz.scorecases", 600);
        for (int i = 0; i < cases; i++) {
            byte[] b = original.clone();
            int kind = rnd.nextInt(4);
            String what;
            if (kind == 0) {
                int pos = rnd.nextInt(b.length);
                b[pos] ^= (byte) (1 << rnd.nextInt(8));
                what = "bit flip at " + pos;
            } else if (kind == 1) {
                int pos = rnd.nextInt(Math.min(b.length, 4096));
                b[pos] = (byte) "{}[]\",:0123456789-. ae".charAt(rnd.nextInt(22));
                what = "header byte " + pos;
            } else if (kind == 2) {
                b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                what = "truncated to " + b.length;
            } else {
                b = java.util.Arrays.copyOf(b, b.length + 1 + rnd.nextInt(16));
                what = "bytes appended";
            }
            Files.write(p, b);
            try {
                ScoreFile.read(p);
            } catch (IOException e) {
                refused++;
                assertFalse(e.getMessage().contains("\n"), what + ": " + e.getMessage());
                assertTrue(e.getMessage().contains(p.toString()), what + ": " + e.getMessage());
            } catch (Throwable e) {
                throw new AssertionError(what + ": not a clean error: " + e, e);
            }
        }
        System.out.println("score file fuzz: cases " + cases + ", refused " + refused + ", read " + (cases - refused));
        assertTrue(refused > cases / 2, "refused " + refused);
    }

    @Test
    void overflowingActivationsStopScoringNamingLayerAndDocument() throws Exception {
        Path bad = PlantedModel.write(dir.resolve("overflow"), 7);
        Path file = bad.resolve("model.safetensors");
        SafetensorsHeader h = SafetensorsHeader.read(file);
        TensorInfo t = h.tensor("model.layers.0.mlp.down_proj.weight");
        ByteBuffer b = le((int) t.byteSize());
        while (b.hasRemaining()) {
            b.putFloat(3e38f);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(b.flip(), h.dataStart() + t.begin());
        }
        try (ScoreTarget target = ScoreTarget.open(bad, d -> TorchRelevanceBackend.INSTANCE)) {
            TokenizedCorpus a = new TokenizedCorpus(
                    new CorpusSpec(CorpusKind.LANGUAGE, "a", dir), PlantedModel.documents('a', 6, 5, 20, 1));
            NonFiniteException e =
                    assertThrows(NonFiniteException.class, () -> Scorer.score(target, List.of(a), SETTINGS));
            assertTrue(
                    e.getMessage().contains("corpus a, document ")
                            && e.getMessage().contains("layer "),
                    e.getMessage());
        }
    }
}
