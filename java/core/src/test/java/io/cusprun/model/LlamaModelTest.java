package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import io.cusprun.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaModelTest {

    @TempDir
    Path tmp;

    private static Path fixture(Family f) {
        DType dtype = f == Family.LLAMA3 || f == Family.QWEN2 ? DType.BF16 : DType.F32;
        return Golden.fixtureDir(Fixtures.spec(f, dtype));
    }

    private static float[] rows(float[] all, int from, int count, int vocab) {
        return Arrays.copyOfRange(all, from * vocab, (from + count) * vocab);
    }

    @Test
    void packedDocumentsEqualEachDocumentAlone() throws IOException {
        for (Family f : List.of(Family.MISTRAL, Family.LLAMA3, Family.QWEN2)) {
            try (LlamaModel m = LlamaModel.load(fixture(f));
                    PointerScope scope = new PointerScope()) {
                List<long[]> docs = Fixtures.randomDocs(7, 9, 1, 14, 4);
                Batch packed = Batch.pack(docs);
                float[] all = Tensors.toFloats(m.logits(packed));
                for (int i = 0; i < docs.size(); i++) {
                    float[] alone = Tensors.toFloats(m.logits(Batch.of(docs.get(i))));
                    double err = Golden.relativeError(
                            rows(all, packed.docStart(i), packed.docLength(i), Fixtures.VOCAB), alone);
                    assertTrue(err < 1e-5, f + " doc " + i + ": " + err);
                }
            }
        }
    }

    @Test
    void weightsStoredInBf16GiveTheSameFloatsAsWeightsConvertedAtLoad() throws IOException {
        for (Family f : List.of(Family.LLAMA3, Family.QWEN2)) { // bf16 fixtures; Qwen2 has biases, Llama 3 is tied
            try (LlamaModel full = LlamaModel.load(fixture(f));
                    LlamaModel compact = LlamaModel.load(fixture(f), LoadOptions.DEFAULTS.withStorage(DType.BF16));
                    PointerScope scope = new PointerScope()) {
                assertTrue(compact.options().convertsPerLayer());
                assertTrue(Tensors.isType(compact.layer(0).down(), torch.ScalarType.BFloat16));
                Batch packed = Batch.pack(Fixtures.randomDocs(5, 7, 11));
                assertArrayEquals(
                        Tensors.toFloats(full.logits(packed)), Tensors.toFloats(compact.logits(packed)), f.name());
                assertArrayEquals(
                        Tensors.toFloats(full.hiddenStates(
                                packed, LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE))),
                        Tensors.toFloats(compact.hiddenStates(
                                packed, LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE))),
                        f.name());
            }
        }
    }

    @Test
    void hooksSeeTheActivationsAndTheirResultIsUsed() throws IOException {
        try (LlamaModel m = LlamaModel.load(fixture(Family.LLAMA_PRUNED));
                PointerScope scope = new PointerScope()) {
            Batch batch = Batch.pack(Fixtures.randomDocs(5, 4, 6));
            List<String> seen = new ArrayList<>();
            LayerHooks recording = new LayerHooks() {
                @Override
                public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch b) {
                    seen.add("ffn" + layer + Tensors.shapeString(gate) + Tensors.shapeString(up));
                    Tensor act = FfnActivation.LIBTORCH.apply(layer, gate, up, b);
                    float[] expected = Tensors.toFloats(torch.silu(gate).mul(up));
                    assertArrayEquals(expected, Tensors.toFloats(act));
                    return act;
                }

                @Override
                public void attentionOutput(int layer, Tensor z, Batch b) {
                    assertTrue(z.is_contiguous());
                    seen.add("z" + layer + Tensors.shapeString(z));
                }

                @Override
                public void queryKey(int layer, Tensor q, Tensor k, Batch b) {
                    seen.add("qk" + layer + Tensors.shapeString(q) + Tensors.shapeString(k));
                }

                @Override
                public boolean wantsQueryKey() {
                    return true;
                }
            };
            float[] hooked = Tensors.toFloats(m.logits(batch, recording));
            assertEquals(
                    List.of(
                            "qk0[10, 4, 8][10, 2, 8]",
                            "z0[10, 4, 8]",
                            "ffn0[10, 40][10, 40]",
                            "qk1[10, 2, 8][10, 1, 8]",
                            "z1[10, 2, 8]",
                            "ffn1[10, 24][10, 24]"),
                    seen);
            assertTrue(
                    Golden.relativeError(Tensors.toFloats(m.logits(batch)), hooked) < 1e-6,
                    "default vs LibTorch activation");
            LayerHooks doubled =
                    (layer, gate, up, b) -> torch.silu(gate).mul(up).mul(new org.bytedeco.pytorch.Scalar(2.0));
            assertTrue(Golden.relativeError(Tensors.toFloats(m.logits(batch, doubled)), hooked) > 1e-3);
            float[] viaHidden = Tensors.toFloats(
                    m.project(m.hiddenStates(batch, LayerHooks.inference(io.cusprun.engine.KernelBackend.NATIVE))));
            assertTrue(Golden.relativeError(viaHidden, hooked) < 1e-6);
        }
    }

    @Test
    void nativeAndLibTorchActivationsAgree() throws IOException {
        try (LlamaModel m = LlamaModel.load(fixture(Family.QWEN2));
                PointerScope scope = new PointerScope()) {
            Tensor gateUp = torch.randn(7, 2 * 48);
            Tensor gate = gateUp.narrow(1, 0, 48);
            Tensor up = gateUp.narrow(1, 48, 48);
            Batch batch = Batch.of(new long[] {1, 2, 3, 4, 5, 6, 7});
            float[] a = Tensors.toFloats(FfnActivation.NATIVE.apply(0, gate, up, batch));
            float[] b = Tensors.toFloats(FfnActivation.LIBTORCH.apply(0, gate, up, batch));
            assertTrue(Golden.relativeError(a, b) < 1e-6, "activation " + Golden.relativeError(a, b));
            float[] viaNative = Tensors.toFloats(m.logits(batch, FfnActivation.NATIVE::apply));
            float[] viaTorch = Tensors.toFloats(m.logits(batch, FfnActivation.LIBTORCH::apply));
            assertTrue(Golden.relativeError(viaNative, viaTorch) < 1e-6);
            // the setting picks the activation of plain inference, per model
            try (LlamaModel t = LlamaModel.load(
                    fixture(Family.QWEN2),
                    io.cusprun.model.LoadOptions.DEFAULTS.withFfn(io.cusprun.engine.KernelBackend.LIBTORCH))) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(viaTorch, Tensors.toFloats(t.logits(batch)));
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(viaNative, Tensors.toFloats(m.logits(batch)));
        }
        assertSame(FfnActivation.NATIVE, FfnActivation.byName("native"));
        assertSame(FfnActivation.LIBTORCH, FfnActivation.byName("libtorch"));
        assertThrows(IllegalArgumentException.class, () -> FfnActivation.byName("cuda"));
    }

    /** Masking FFN neurons and a KV group gives the logits of the checkpoint with them sliced out. */
    @Test
    void maskedModelEqualsSlicedModel() throws IOException {
        Path src = fixture(Family.MISTRAL);
        ModelConfig config = ModelConfig.read(src);
        long[] keepFfn = {0, 1, 2, 5, 8, 13, 21, 34, 40, 47};
        int d = config.headDim();
        Path sliced = tmp.resolve("sliced");
        Files.createDirectories(sliced);
        try (Checkpoint ck = Checkpoint.open(src)) {
            List<TensorSpec> specs = new ArrayList<>();
            for (String name : ck.tensorNames()) {
                long[] shape = ck.info(name).shape();
                if (name.startsWith("model.layers.0.mlp.gate_proj") || name.startsWith("model.layers.0.mlp.up_proj")) {
                    shape[0] = keepFfn.length;
                } else if (name.startsWith("model.layers.0.mlp.down_proj")) {
                    shape[1] = keepFfn.length;
                } else if (name.matches("model\\.layers\\.1\\.self_attn\\.[qkv]_proj\\.weight")) {
                    shape[0] /= 2;
                } else if (name.equals("model.layers.1.self_attn.o_proj.weight")) {
                    shape[1] /= 2;
                }
                specs.add(new TensorSpec(name, ck.info(name).dtype(), shape));
            }
            new SafetensorsWriter(sliced).write(specs, spec -> {
                Tensor t = ck.tensor(spec.name());
                long[] full = ck.info(spec.name()).shape();
                for (int dim = 0; dim < full.length; dim++) {
                    if (full[dim] != spec.shape()[dim]) {
                        t = spec.name().contains(".mlp.")
                                ? t.index_select(dim, Tensors.ofLongs(keepFfn))
                                : t.narrow(dim, 0, spec.shape()[dim]); // KV group 0 = query heads 0, 1
                    }
                }
                return t;
            });
        }
        config.withLayerSizes(List.of(new LayerSize(keepFfn.length, 4, 2), new LayerSize(48, 2, 1)))
                .write(sliced);
        float[] ffnMask = new float[48];
        for (long k : keepFfn) {
            ffnMask[(int) k] = 1;
        }
        Batch batch = Batch.pack(Fixtures.randomDocs(11, 8, 13));
        try (LlamaModel full = LlamaModel.load(src);
                LlamaModel small = LlamaModel.load(sliced);
                PointerScope scope = new PointerScope()) {
            float[] unmasked = Tensors.toFloats(full.logits(batch));
            full.setFfnMask(0, ffnMask);
            full.setHeadMask(1, new float[] {1, 1, 0, 0});
            float[] masked = Tensors.toFloats(full.logits(batch));
            float[] slicedLogits = Tensors.toFloats(small.logits(batch));
            double err = Golden.relativeError(slicedLogits, masked);
            System.out.printf("sliced vs masked: max relative error %.2e%n", err);
            assertTrue(err < 1e-5, "sliced vs masked " + err);
            assertTrue(Golden.relativeError(unmasked, masked) > 1e-3, "the masks change the output");
            full.clearMasks();
            assertArrayEquals(unmasked, Tensors.toFloats(full.logits(batch)));
            assertThrows(IllegalArgumentException.class, () -> full.setHeadMask(1, new float[3]));
        }
    }

    @Test
    void badTokenIdsAreRejected() throws IOException {
        try (LlamaModel m = LlamaModel.load(fixture(Family.LLAMA2))) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> m.logits(Batch.of(new long[] {1, 64})));
            assertTrue(e.getMessage().contains("token id 64"), e.getMessage());
        }
    }

    @Test
    void batchValidatesOffsets() {
        assertThrows(IllegalArgumentException.class, () -> new Batch(new long[] {1, 2, 3}, new long[] {0, 2}));
        assertThrows(IllegalArgumentException.class, () -> new Batch(new long[] {1, 2, 3}, new long[] {0, 0, 3}));
        Batch b = Batch.pack(List.of(new long[] {5, 6}, new long[] {7, 8, 9}));
        assertArrayEquals(new long[] {0, 1, 0, 1, 2}, b.positions());
        assertArrayEquals(new long[] {0, 2, 5}, b.docOffsets());
    }
}
