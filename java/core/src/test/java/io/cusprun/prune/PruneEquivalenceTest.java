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
    /** Heads may go (the paper's granularity; the compensated relevance's default removes none). */
    private static final PruneSettings HEADS = PruneSettings.DEFAULTS.withGranularity(Granularity.FFN_HEADS);

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
        PrunePlan plan =
                PrunePlanner.plan(shape, expertA, HEADS.withRatio(ratio).withHeadUnit(HeadUnit.GROUP));
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
        PruneSettings s = HEADS.withRatio(0.3)
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
        PrunePlan plan = PrunePlanner.plan(shape, expertA, HEADS.withRatio(0.25));
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

    /**
     * The manifest's per-layer accounting against the written checkpoint (removed counts = source
     * sizes minus sliced shapes) and the scores (each module's cut, recomputed from the
     * statistics and the kept indices the manifest lists).
     */
    @ParameterizedTest
    @CsvSource({"uniform,query,0.3", "uniform,group,0.3", "per-layer,group,0.45", "per-layer,query,0.2"})
    void manifestRecordsCountsAndCutsOfTheWrittenModel(String mode, String headUnit, double ratio) throws Exception {
        PruneSettings s = HEADS.withRatio(ratio).withMode(PruneMode.parse(mode)).withHeadUnit(HeadUnit.parse(headUnit));
        PrunePlan plan = PrunePlanner.plan(shape, expertA, s);
        Path out = dir.resolve("cuts-" + mode + headUnit);
        CheckpointPruner.write(model, plan, out, new Provenance("fp", List.of(), List.of()), false);
        JsonNode manifest = new ObjectMapper()
                .readTree(out.resolve(CheckpointPruner.MANIFEST).toFile());
        ModelShape written = CheckpointPruner.shapeOf(out);
        int ffn = 0, heads = 0, kv = 0;
        for (int l = 0; l < shape.numLayers(); l++) {
            JsonNode layer = manifest.get("layers").get(l);
            JsonNode removed = layer.get("removed");
            ModelShape.Layer src = shape.layer(l), dst = written.layer(l);
            assertEquals(src.ffn() - dst.ffn(), removed.get("ffn_neurons").asInt());
            assertEquals(src.heads() - dst.heads(), removed.get("query_heads").asInt());
            assertEquals(src.kvHeads() - dst.kvHeads(), removed.get("kv_groups").asInt());
            ffn += removed.get("ffn_neurons").asInt();
            heads += removed.get("query_heads").asInt();
            kv += removed.get("kv_groups").asInt();
            UnitScores.Layer sc = expertA.layers().get(l);
            JsonNode cuts = layer.get("cuts");
            assertCut(sc.ffn().stat(), ints(layer.get("ffn_kept")), cuts.get("ffn_neurons"));
            if (headUnit.equals("group")) {
                assertCut(sc.groups().stat(), ints(layer.get("kv_heads_kept")), cuts.get("kv_groups"));
            } else {
                int g = src.groupSize();
                int[] kept = ints(layer.get("heads_kept"));
                for (int grp = 0; grp < src.kvHeads(); grp++) {
                    final int group = grp;
                    assertCut(
                            Arrays.copyOfRange(sc.heads().stat(), grp * g, grp * g + g),
                            Arrays.stream(kept)
                                    .filter(h -> h / g == group)
                                    .map(h -> h % g)
                                    .toArray(),
                            cuts.get("query_heads_by_group").get(grp));
                }
            }
        }
        JsonNode total = manifest.get("removed");
        assertEquals(ffn, total.get("ffn_neurons").asInt());
        assertEquals(heads, total.get("query_heads").asInt());
        assertEquals(kv, total.get("kv_groups").asInt());
        assertTrue(ffn > 0, "the ratio removes FFN neurons");
        assertEquals(
                mode.equals("uniform"), manifest.get("sigma_meaning").asText().startsWith("nominal"));
        assertEquals(heads == 0 && kv == 0, manifest.has("note"), manifest.toString());
    }

    /** last_removed / first_kept are the largest removed and smallest kept statistic, in that order. */
    static void assertCut(double[] stat, int[] kept, JsonNode cut) {
        double last = Double.NEGATIVE_INFINITY, first = Double.POSITIVE_INFINITY;
        boolean[] keep = new boolean[stat.length];
        for (int k : kept) keep[k] = true;
        for (int i = 0; i < stat.length; i++) {
            if (keep[i]) first = Math.min(first, stat[i]);
            else last = Math.max(last, stat[i]);
        }
        assertEquals(stat.length - kept.length, cut.get("removed").asInt(), cut.toString());
        assertEquals(kept.length, cut.get("kept").asInt(), cut.toString());
        if (kept.length == stat.length) assertTrue(cut.get("last_removed").isNull(), cut.toString());
        else assertEquals(last, cut.get("last_removed").asDouble(), 0.0, cut.toString());
        if (kept.length == 0) assertTrue(cut.get("first_kept").isNull(), cut.toString());
        else assertEquals(first, cut.get("first_kept").asDouble(), 0.0, cut.toString());
        if (kept.length > 0 && kept.length < stat.length) assertTrue(last <= first, "removed before kept: " + cut);
    }

    static int[] ints(JsonNode array) {
        int[] v = new int[array.size()];
        for (int i = 0; i < v.length; i++) v[i] = array.get(i).asInt();
        return v;
    }

    static float[] logits(Path dir) throws Exception {
        try (LlamaModel m = LlamaModel.load(dir);
                PointerScope scope = new PointerScope()) {
            return Tensors.toFloats(m.logits(Batch.pack(evalDocs)));
        }
    }
}
