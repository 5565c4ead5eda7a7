package io.cusprun.prune;

import static io.cusprun.testing.Fixtures.corpus;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.DType;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The Grams spilled to disk ({@link SpilledGrams}) against the Grams held in memory. */
class SpilledGramsTest {
    @TempDir
    Path dir;

    /** Three dimensions of unequal size. */
    private static List<TokenizedCorpus> corpora() {
        return List.of(corpus("a", 1, 8, 40), corpus("b", 2, 5, 30), corpus("c", 3, 3, 50));
    }

    /**
     * Every layer read back is, bit for bit, the layer held in memory, except the per-dimension
     * Grams of down_proj's input, which are refused; the pass hands them to its consumer, in layer
     * order; the files take {@link SpilledGrams#spilledBytes} and nothing else is left beside them;
     * closing deletes them.
     */
    @ParameterizedTest
    @EnumSource(
            value = Family.class,
            names = {"LLAMA3", "QWEN2", "LLAMA_PRUNED"})
    void layersReadBackAreTheHeldLayersBitForBit(Family family) throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(family, DType.BF16));
        ModelConfig config = ModelConfig.read(model);
        UnprunedGrams held = UnprunedGrams.hold(model, corpora());
        List<Integer> seen = new ArrayList<>();
        Path spillDir = Files.createDirectories(dir.resolve("spill"));
        SpilledGrams spilled = SpilledGrams.spill(model, corpora(), spillDir, g -> {
            seen.add(g.layer());
            assertEquals(3, g.ffnPerCorpus().length, "the pass's consumer gets the per-dimension Grams");
            try (PointerScope scope = new PointerScope()) {
                UnprunedGrams.Layer h = held.layer(g.layer());
                for (int c = 0; c < 3; c++) assertBits(h.ffnPerCorpus()[c], g.ffnPerCorpus()[c], "ffn " + c);
            }
        });
        assertEquals(IntStream.range(0, config.numHiddenLayers()).boxed().toList(), seen);
        assertEquals(held.numLayers(), spilled.numLayers());
        assertEquals(held.documents(), spilled.documents());
        assertEquals(held.tokens(), spilled.tokens());
        for (int l = 0; l < held.numLayers(); l++) {
            try (PointerScope scope = new PointerScope()) {
                UnprunedGrams.Layer a = held.layer(l), b = spilled.layer(l);
                assertEquals(l, b.layer());
                assertBits(a.down(), b.down(), "down " + l);
                assertBits(a.o(), b.o(), "o " + l);
                assertBits(a.ffn(), b.ffn(), "ffn " + l);
                assertBits(a.attention(), b.attention(), "attention " + l);
                assertEquals(3, b.attentionPerCorpus().length);
                for (int c = 0; c < 3; c++) {
                    assertBits(a.attentionPerCorpus()[c], b.attentionPerCorpus()[c], "attention " + l + "/" + c);
                }
                IllegalStateException refused = assertThrows(IllegalStateException.class, b::ffnPerCorpus);
                assertTrue(refused.getMessage().contains("layer " + l), refused.getMessage());
            }
        }
        long bytes = 0;
        try (Stream<Path> files = Files.list(spillDir)) {
            List<Path> all = files.sorted().toList();
            assertEquals(
                    IntStream.range(0, config.numHiddenLayers())
                            .mapToObj(spilled::file)
                            .toList(),
                    all,
                    "one file per layer and no temporary");
            for (Path f : all) bytes += Files.size(f);
        }
        assertEquals(SpilledGrams.spilledBytes(config, 3), bytes);
        spilled.close();
        assertFalse(Files.exists(spillDir), "deleted on close");
        assertThrows(IllegalStateException.class, () -> spilled.layer(0));
    }

    /**
     * Refits and the block form for heads from spilled Grams equal those from held Grams bit for
     * bit; a layer's file that holds another layer is refused, naming the file.
     */
    @Test
    void refitAndHeadsFromSpilledGramsEqualTheHeldOnes() throws Exception {
        Path model = Fixtures.write(dir, Fixtures.spec(Family.LLAMA3, DType.BF16));
        ModelShape shape = CheckpointPruner.shapeOf(model);
        PrunePlan plan = plan(shape);
        UnprunedGrams held = UnprunedGrams.hold(model, corpora());
        try (SpilledGrams spilled =
                SpilledGrams.spill(model, corpora(), Files.createDirectories(dir.resolve("spill")), g -> {})) {
            try (Compensation.Refit a = Compensation.fit(model, plan, held);
                    Compensation.Refit b = Compensation.fit(model, plan, spilled);
                    PointerScope scope = new PointerScope()) {
                assertEquals(a.layers(), b.layers());
                assertEquals(a.documents(), b.documents());
                assertEquals(a.tokens(), b.tokens());
                int refitted = 0;
                for (int l = 0; l < shape.numLayers(); l++) {
                    for (String p : List.of("mlp.down_proj.weight", "self_attn.o_proj.weight")) {
                        String name = ModelShape.layerPrefix(l) + p;
                        assertArrayEquals(
                                Tensors.toFloats(a.keptColumns(name)), Tensors.toFloats(b.keptColumns(name)), name);
                        refitted++;
                    }
                }
                assertEquals(2 * shape.numLayers(), refitted);
            }
            UnitScores given = BaselineStatistics.random(shape, 3);
            UnitScores a = HeadCompensation.of(given, held), b = HeadCompensation.of(given, spilled);
            for (int l = 0; l < shape.numLayers(); l++) {
                assertArrayEquals(
                        a.layers().get(l).heads().stat(),
                        b.layers().get(l).heads().stat());
                assertArrayEquals(
                        a.layers().get(l).heads().tie(),
                        b.layers().get(l).heads().tie());
                assertArrayEquals(
                        a.layers().get(l).groups().stat(),
                        b.layers().get(l).groups().stat());
            }
            Files.copy(spilled.file(1), spilled.file(0), StandardCopyOption.REPLACE_EXISTING);
            IOException wrong = assertThrows(IOException.class, () -> spilled.layer(0));
            assertTrue(wrong.getMessage().contains(spilled.file(0).toString()), wrong.getMessage());
        }
    }

    /**
     * A third of every layer's FFN neurons and the last query head of every group removed (with
     * one head per group, the last group), so both projections are refitted.
     */
    private static PrunePlan plan(ModelShape shape) {
        List<LayerPlan> layers = new ArrayList<>();
        for (int l = 0; l < shape.numLayers(); l++) {
            ModelShape.Layer s = shape.layer(l);
            int g = s.groupSize();
            int[] ffn = IntStream.range(0, s.ffn()).filter(k -> k % 3 != 1).toArray();
            int[] heads = g > 1
                    ? IntStream.range(0, s.heads()).filter(h -> h % g != g - 1).toArray()
                    : IntStream.range(0, s.heads() - 1).toArray();
            int[] kv = IntStream.range(0, g > 1 ? s.kvHeads() : s.kvHeads() - 1).toArray();
            layers.add(new LayerPlan(l, false, ffn, heads, kv, new int[0], new int[0]));
        }
        return new PrunePlan(shape, PruneSettings.DEFAULTS, Method.RANDOM, 0, layers);
    }

    private static void assertBits(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(Tensors.shape(expected), Tensors.shape(actual), what);
        double[] x = Tensors.toDoubles(expected), y = Tensors.toDoubles(actual);
        for (int i = 0; i < x.length; i++) {
            if (Double.doubleToRawLongBits(x[i]) != Double.doubleToRawLongBits(y[i])) {
                throw new AssertionError(what + ": element " + i + " is " + y[i] + ", not " + x[i]);
            }
        }
    }
}
