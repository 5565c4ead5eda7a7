package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Golden;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What training needs from the runtime: fresh parameters, the forward pass with autograd, export to HF names. */
class TrainingSupportTest {

    @TempDir
    Path tmp;

    /** A small Llama config: GQA, tied embeddings, the given initializer_range. */
    static ModelConfig tinyConfig(double initStd) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("vocab_size", Fixtures.VOCAB)
                .put("hidden_size", 32)
                .put("intermediate_size", 48)
                .put("num_hidden_layers", 2)
                .put("num_attention_heads", 4)
                .put("num_key_value_heads", 2)
                .put("rms_norm_eps", 1e-5)
                .put("tie_word_embeddings", true)
                .put("initializer_range", initStd)
                .put("bos_token_id", 1)
                .put("eos_token_id", 2);
        return ModelConfig.parse(c);
    }

    static Batch randomBatch(long seed, int... lengths) {
        return Batch.pack(Fixtures.randomDocs(seed, lengths));
    }

    private static Path fixture(Fixtures.Family f, DType dtype) {
        return Golden.fixtureDir(Fixtures.spec(f, dtype));
    }

    private static void requireGrad(LlamaModel m, boolean on) {
        m.parameters().values().forEach(p -> p.requires_grad_(on));
    }

    @Test
    void autogradForwardEqualsInferenceForward() throws IOException {
        Batch batch = randomBatch(3, 7, 1, 12);
        List<LlamaModel> models = List.of(
                LlamaModel.load(fixture(Fixtures.Family.LLAMA_PRUNED, DType.F32)),
                LlamaModel.load(fixture(Fixtures.Family.LLAMA3, DType.BF16)),
                LlamaModel.initialize(tinyConfig(0.2), LoadOptions.DEFAULTS, 5));
        for (LlamaModel m : models) {
            try (m;
                    PointerScope scope = new PointerScope()) {
                requireGrad(m, true);
                float[] inference = Tensors.toFloats(m.logits(batch));
                Tensor withGrad = m.logitsWithGrad(batch);
                assertTrue(withGrad.requires_grad(), "autograd graph recorded");
                assertTrue(Golden.relativeError(Tensors.toFloats(withGrad), inference) < 1e-6);
                assertFalse(m.logits(batch).requires_grad(), "inference stays without autograd");
                withGrad.pow(new Scalar(2.0)).mean().backward();
                for (Map.Entry<String, Tensor> p : m.parameters().entrySet()) {
                    Tensor g = p.getValue().grad();
                    assertTrue(g.defined(), p.getKey() + " has a gradient");
                    assertTrue(g.abs().max().item_double() > 0, p.getKey() + " has a non-zero gradient");
                }
                requireGrad(m, false);
            }
        }
    }

    /** The gradient along a random direction equals the central difference of the (inference) loss. */
    @Test
    void gradientsMatchFiniteDifferences() {
        try (LlamaModel m = LlamaModel.initialize(tinyConfig(0.2), LoadOptions.DEFAULTS, 7);
                PointerScope scope = new PointerScope()) {
            Batch batch = randomBatch(9, 10, 6);
            Tensor targets = Tensors.ofLongs(randomBatch(10, 16).tokens());
            requireGrad(m, true);
            loss(m.logitsWithGrad(batch), targets).backward();
            double analytic = 0;
            List<Tensor> directions = new ArrayList<>();
            torch.manual_seed(11);
            for (Tensor p : m.parameters().values()) {
                Tensor d = torch.randn(Tensors.shape(p))
                        .mul_(new Scalar(1e-3)); // small: the loss is far from linear at 1e-2
                directions.add(d);
                analytic += p.grad().mul(d).sum().item_double();
            }
            requireGrad(m, false);
            double plus = shiftedLoss(m, directions, 1.0, batch, targets);
            double minus = shiftedLoss(m, directions, -2.0, batch, targets);
            shift(m, directions, 1.0);
            double numeric = (plus - minus) / 2;
            assertTrue(Math.abs(analytic) > 1e-4, "a meaningful directional derivative: " + analytic);
            assertEquals(analytic, numeric, 1e-2 * Math.abs(analytic), "analytic " + analytic + " numeric " + numeric);
        }
    }

    private static Tensor loss(Tensor logits, Tensor targets) {
        return torch.cross_entropy_loss(logits, targets, new TensorOptional(), 1, -100, 0.0);
    }

    private static double shiftedLoss(LlamaModel m, List<Tensor> directions, double by, Batch batch, Tensor targets) {
        shift(m, directions, by);
        return loss(m.logits(batch), targets).item_double();
    }

    private static void shift(LlamaModel m, List<Tensor> directions, double by) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            int i = 0;
            for (Tensor p : m.parameters().values()) {
                p.add_(directions.get(i++).mul(new Scalar(by)));
            }
        }
    }

    /** Loading a checkpoint and saving it gives back the same tensors, and the reloaded model the same logits. */
    @Test
    void exportSplitsFusedWeightsBackExactly() throws IOException {
        Batch batch = randomBatch(4, 9, 5);
        for (Fixtures.Spec spec : Fixtures.committed()) {
            Path src = Golden.fixtureDir(spec);
            Path out = tmp.resolve(spec.name());
            try (LlamaModel m = LlamaModel.load(src);
                    PointerScope scope = new PointerScope()) {
                m.save(out, spec.dtype(), Map.of("format", "pt"));
                try (Checkpoint a = Checkpoint.open(src);
                        Checkpoint b = Checkpoint.open(out)) {
                    assertEquals(a.tensorNames(), b.tensorNames(), spec.name());
                    for (String name : a.tensorNames()) {
                        assertEquals(a.info(name).dtype(), b.info(name).dtype(), name);
                        assertArrayEquals(a.info(name).shape(), b.info(name).shape(), name);
                        assertArrayEquals(
                                Tensors.toFloats(a.tensor(name)),
                                Tensors.toFloats(b.tensor(name)),
                                spec.name() + " " + name);
                    }
                    assertEquals("pt", b.metadata().get("format"));
                }
                assertEquals(
                        ModelConfig.read(src).withTorchDtype(spec.dtype()).toJson(),
                        ModelConfig.read(out).toJson());
                try (LlamaModel reloaded = LlamaModel.load(out)) {
                    assertArrayEquals(
                            Tensors.toFloats(m.logits(batch)), Tensors.toFloats(reloaded.logits(batch)), spec.name());
                }
            }
        }
    }

    @Test
    void initializedModelRoundTripsThroughSafetensors() throws IOException {
        Batch batch = randomBatch(6, 11);
        try (LlamaModel m = LlamaModel.initialize(tinyConfig(0.02), LoadOptions.DEFAULTS, 3);
                PointerScope scope = new PointerScope()) {
            Map<String, Tensor> params = m.parameters();
            assertEquals(1.0, params.get("model.norm.weight").mean().item_double(), 0.0);
            double std =
                    params.get("model.layers.0.mlp.gate_up_proj.weight").std().item_double();
            assertEquals(0.02, std, 0.002, "HF init std");
            assertFalse(params.containsKey("lm_head.weight"), "tied lm_head is the embedding");
            try (LlamaModel again = LlamaModel.initialize(tinyConfig(0.02), LoadOptions.DEFAULTS, 3)) {
                assertArrayEquals(Tensors.toFloats(m.logits(batch)), Tensors.toFloats(again.logits(batch)), "seeded");
            }
            float[] expected = Tensors.toFloats(m.logits(batch));
            m.save(tmp.resolve("f32"), DType.F32, Map.of());
            try (LlamaModel f32 = LlamaModel.load(tmp.resolve("f32"))) {
                assertArrayEquals(expected, Tensors.toFloats(f32.logits(batch)));
            }
            m.save(tmp.resolve("bf16"), DType.BF16, Map.of("step", "0"));
            assertEquals(DType.BF16, ModelConfig.read(tmp.resolve("bf16")).torchDtype());
            try (Checkpoint ck = Checkpoint.open(tmp.resolve("bf16"))) {
                assertEquals(
                        DType.BF16,
                        ck.info("model.layers.1.self_attn.k_proj.weight").dtype());
                assertFalse(ck.has("lm_head.weight"));
            }
            try (LlamaModel bf16 = LlamaModel.load(tmp.resolve("bf16"))) {
                assertTrue(Golden.relativeError(Tensors.toFloats(bf16.logits(batch)), expected) < 2e-2);
            }
        }
    }
}
