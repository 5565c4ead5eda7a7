package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import io.cusprun.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {

    @TempDir
    Path tmp;

    private static ModelConfig parse(Family f) {
        return ModelConfig.parse(Fixtures.config(Fixtures.spec(f, DType.F32)));
    }

    /** The one config builder writes the committed fixtures' config.json byte for byte, and parses back. */
    @Test
    void builderWritesTheCommittedFixtureConfigs() throws IOException {
        for (Fixtures.Spec spec : Fixtures.committed()) {
            Path file = tmp.resolve(spec.name() + ".json");
            ModelConfig.Builder b = ModelConfig.builder(Architecture.LLAMA, 64, 32, 48, 2, 4, 2);
            b.write(file);
            assertEquals(Architecture.LLAMA, ModelConfig.read(file).architecture());
            Fixtures.writeJson(file, Fixtures.config(spec));
            assertEquals(
                    Files.readString(Golden.fixtureDir(spec).resolve(ModelConfig.FILE_NAME)),
                    Files.readString(file),
                    spec.name());
        }
    }

    @Test
    void llama2() {
        ModelConfig c = parse(Family.LLAMA2);
        assertEquals(Architecture.LLAMA, c.architecture());
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(8, c.headDim());
        assertEquals(1e-5, c.rmsNormEps());
        assertFalse(c.qkvBias() || c.oBias() || c.mlpBias() || c.tieWordEmbeddings());
        assertTrue(c.ropeScaling().isDefault());
        assertEquals(1L, c.bosTokenId());
        assertEquals(List.of(2L), c.eosTokenIds());
        assertTrue(c.isUniform());
    }

    @Test
    void llama3WithScalingGqaTiedAndExplicitHeadDim() {
        ModelConfig c = parse(Family.LLAMA3);
        assertEquals(16, c.headDim());
        assertEquals(2, c.numKeyValueHeads());
        assertTrue(c.tieWordEmbeddings());
        assertEquals("llama3", c.ropeScaling().type());
        assertEquals(1024, c.ropeScaling().originalMaxPositionEmbeddings());
        assertEquals(List.of(2L, 3L), c.eosTokenIds());
        assertEquals(500000.0, c.ropeTheta());
    }

    @Test
    void llama3ScalingKeepsHighDividesLowAndSmoothsTheMiddle() {
        RopeScaling s = new RopeScaling("llama3", 8, 1, 4, 1024);
        double[] inv = new double[8];
        for (int i = 0; i < 8; i++) {
            inv[i] = Math.pow(500000.0, -i / 8.0);
        }
        double[] out = s.apply(inv);
        assertEquals(inv[0], out[0]); // wavelength 6: high frequency, kept
        assertEquals(inv[7] / 8, out[7], 1e-18); // wavelength > 1024: divided by the factor
        assertTrue(out[3] < inv[3] && out[3] > inv[3] / 8, "wavelength 870 is smoothed");
    }

    @Test
    void mistralAndQwen2() {
        ModelConfig m = parse(Family.MISTRAL);
        assertEquals(6, m.slidingWindow(0));
        assertEquals(6, m.slidingWindow(1));
        ModelConfig q = parse(Family.QWEN2);
        assertTrue(q.qkvBias());
        assertFalse(q.oBias());
        assertEquals(0, q.slidingWindow(1), "use_sliding_window false");
        assertNull(ModelConfig.parse(Fixtures.config(Fixtures.spec(Family.QWEN2, DType.F32)))
                .raw()
                .get("nothing"));
    }

    @Test
    void perLayerSizesAndBiases() {
        ModelConfig c = parse(Family.LLAMA_PRUNED);
        assertFalse(c.isUniform());
        assertEquals(new LayerSize(24, 2, 1), c.layer(1));
        assertTrue(c.qkvBias() && c.oBias() && c.mlpBias());
        assertEquals("linear", c.ropeScaling().type());
    }

    @Test
    void writeBackKeepsUnknownFieldsAndRecordsLayerSizes() throws IOException {
        ModelConfig c = parse(Family.LLAMA2);
        ModelConfig pruned = c.withLayerSizes(List.of(new LayerSize(20, 4, 4), new LayerSize(30, 2, 2)));
        Path file = tmp.resolve("config.json");
        pruned.write(file);
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(file.toFile());
        assertEquals(0.02, json.get("initializer_range").asDouble());
        assertEquals(2, json.get(ModelConfig.LAYER_SIZES_KEY).size());
        ModelConfig back = ModelConfig.read(file);
        assertEquals(pruned.layers(), back.layers());
        assertEquals(8, back.headDim());

        ModelConfig uniform = c.withLayerSizes(List.of(new LayerSize(20, 2, 2), new LayerSize(20, 2, 2)));
        uniform.write(file);
        json = (ObjectNode) new ObjectMapper().readTree(file.toFile());
        assertFalse(json.has(ModelConfig.LAYER_SIZES_KEY));
        assertEquals(20, json.get("intermediate_size").asInt());
        assertEquals(2, json.get("num_attention_heads").asInt());
        assertEquals(8, json.get("head_dim").asInt(), "head_dim stays explicit when heads change");
        assertEquals(uniform.layers(), ModelConfig.read(file).layers());
        try (var files = Files.list(tmp)) {
            assertEquals(1, files.count(), "no temporary files left");
        }
    }

    @Test
    void unsupportedArchitectureListsSupported() throws IOException {
        ObjectNode c = Fixtures.config(Fixtures.spec(Family.LLAMA2, DType.F32));
        c.putArray("architectures").add("GPTNeoXForCausalLM");
        Path file = tmp.resolve("config.json");
        Fixtures.writeJson(file, c);
        IOException e = assertThrows(IOException.class, () -> ModelConfig.read(file));
        assertEquals(
                file + ": unsupported architecture GPTNeoXForCausalLM; supported: LlamaForCausalLM, "
                        + "MistralForCausalLM, Qwen2ForCausalLM",
                e.getMessage());
    }

    @Test
    void unsupportedRopeScalingAndBadSizes() throws IOException {
        ObjectNode c = Fixtures.config(Fixtures.spec(Family.LLAMA3, DType.F32));
        ((ObjectNode) c.get("rope_scaling")).put("rope_type", "yarn");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(c));
        assertTrue(e.getMessage().contains("'yarn'") && e.getMessage().contains("llama3"), e.getMessage());

        ObjectNode d = Fixtures.config(Fixtures.spec(Family.LLAMA2, DType.F32));
        d.put("num_key_value_heads", 3);
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(d));
        assertTrue(e.getMessage().contains("not a multiple"), e.getMessage());

        ObjectNode p = Fixtures.config(Fixtures.spec(Family.LLAMA_PRUNED, DType.F32));
        p.withArray(ModelConfig.LAYER_SIZES_KEY).remove(1);
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(p));
        assertTrue(e.getMessage().contains(ModelConfig.LAYER_SIZES_KEY), e.getMessage());

        ObjectNode m = Fixtures.config(Fixtures.spec(Family.LLAMA2, DType.F32));
        m.remove("hidden_size");
        e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.parse(m));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
    }
}
