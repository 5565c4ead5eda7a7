package io.cusprun.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.score.PlantedModel;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import io.cusprun.score.TorchRelevanceBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The planted expert, and sliced == masked for every mode and granularity that slices. */
class PruneEquivalenceTest {
    @TempDir
    static Path dir;

    static Path model;
    static ModelShape shape;
    static UnitScores expertA;
    static List<long[]> evalDocs;

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 11);
        shape = CheckpointPruner.shapeOf(model);
        TokenizedCorpus a = new TokenizedCorpus(
                new CorpusSpec(CorpusKind.LANGUAGE, "a", dir), PlantedModel.documents('a', 10, 5, 30, 3));
        ScoreSet set;
        try (ScoreTarget t = ScoreTarget.open(model, d -> TorchRelevanceBackend.INSTANCE)) {
            set = Scorer.score(
                    t,
                    List.of(a),
                    ScoreSettings.DEFAULTS
                            .withMaxTokens(64)
                            .withBins(20)
                            .withBatchTokens(64)
                            .withBatchDocs(4));
        }
        expertA = CusprunStatistics.from(Method.CUSPRUN, set.corpora(), shape.numLayers(), 1.0);
        evalDocs = new ArrayList<>(PlantedModel.documents('a', 2, 8, 12, 5));
        evalDocs.addAll(PlantedModel.documents('b', 2, 8, 12, 6));
    }

    @Test
    void expertForAKeepsAsPlantedUnitsAndDropsBs() {
        ModelShape.Layer l0 = shape.layer(0);
        // exactly one KV group and the four B neurons per layer
        double ratio = shape.numLayers() * (l0.group() + 4 * l0.ffnNeuron()) / (double) shape.blockParams();
        PrunePlan plan = PrunePlanner.plan(
                shape, expertA, PruneSettings.DEFAULTS.withRatio(ratio).withHeadUnit(HeadUnit.GROUP));
        assertEquals(ratio, plan.blockRatio(), 1e-12);
        for (LayerPlan l : plan.layers()) {
            for (int k : PlantedModel.FFN_A)
                assertTrue(Arrays.stream(l.keptFfn()).anyMatch(x -> x == k), "A neuron kept");
            for (int k : PlantedModel.FFN_B)
                assertFalse(Arrays.stream(l.keptFfn()).anyMatch(x -> x == k), "B neuron dropped");
            assertArrayEquals(new int[] {0}, l.keptKvHeads(), "group 1 (B) dropped");
            assertArrayEquals(new int[] {0, 1}, l.keptHeads());
        }
    }

    @ParameterizedTest
    @CsvSource({
        "uniform,ffn,query",
        "uniform,ffn+heads,group",
        "uniform,ffn+heads,query",
        "per-layer,ffn+heads,group",
        "per-layer,ffn+heads,query",
        "per-layer,ffn,query"
    })
    void slicedAndMaskedGiveTheSameLogits(String mode, String granularity, String headUnit) throws Exception {
        PruneSettings s = PruneSettings.DEFAULTS
                .withRatio(0.3)
                .withMode(PruneMode.parse(mode))
                .withGranularity(Granularity.parse(granularity))
                .withHeadUnit(HeadUnit.parse(headUnit));
        PrunePlan plan = PrunePlanner.plan(shape, expertA, s);
        assertEquals(0.3, plan.blockRatio(), 0.05);
        Path sliced = dir.resolve("sliced-" + mode + granularity + headUnit);
        Path masked = dir.resolve("masked-" + mode + granularity + headUnit);
        Provenance prov = new Provenance("fp", List.of(), List.of());
        CheckpointPruner.write(model, plan, sliced, prov, false);
        CheckpointPruner.write(
                model,
                new PrunePlan(shape, s.withMasked(true), plan.method(), plan.sigma(), plan.layers()),
                masked,
                prov,
                false);
        float[] a = logits(sliced), b = logits(masked);
        float scale = 0;
        for (float v : b) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-5 * scale, "logit " + i);
        assertFalse(Arrays.equals(logits(model), b), "pruning changed the model");
        // the masked checkpoint keeps the full shapes
        assertEquals(shape.totalParams(), CheckpointPruner.shapeOf(masked).totalParams());
    }

    @Test
    void uniformOutputIsAStockConfigAndMatchesTheManifest() throws Exception {
        PrunePlan plan = PrunePlanner.plan(shape, expertA, PruneSettings.DEFAULTS.withRatio(0.25));
        Path out = dir.resolve("stock");
        CheckpointPruner.write(model, plan, out, new Provenance("fp", List.of(), List.of()), false);
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertFalse(cfg.has(ModelConfig.LAYER_SIZES_KEY));
        assertEquals(
                plan.layers().get(0).keptFfn().length,
                cfg.get("intermediate_size").asInt());
        assertEquals(
                plan.layers().get(0).keptHeads().length,
                cfg.get("num_attention_heads").asInt());
        assertEquals(PlantedModel.HEAD_DIM, cfg.get("head_dim").asInt());
        ModelConfig reread = ModelConfig.read(out);
        assertTrue(reread.isUniform());
        long params = 0;
        try (Checkpoint cp = Checkpoint.open(out)) {
            for (String n : cp.tensorNames()) params += cp.info(n).numel();
        }
        JsonNode manifest = new ObjectMapper()
                .readTree(out.resolve(CheckpointPruner.MANIFEST).toFile());
        assertEquals(params, manifest.get("achieved").get("kept_params").asLong());
        assertEquals(
                plan.blockRatio(), manifest.get("achieved").get("block_ratio").asDouble(), 1e-12);
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertTrue(Files.exists(out.resolve("generation_config.json")));
        try (LlamaModel m = LlamaModel.load(out)) {
            assertEquals(plan.layers().get(0).keptFfn().length, m.config().intermediateSize());
        }
    }

    static float[] logits(Path dir) throws Exception {
        try (LlamaModel m = LlamaModel.load(dir);
                PointerScope scope = new PointerScope()) {
            return Tensors.toFloats(m.logits(Batch.pack(evalDocs)));
        }
    }
}
