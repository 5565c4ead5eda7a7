package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Golden;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logits of every family against the independent PyTorch reference (golden files made by
 * java/core/src/test/python/reference_llama.py; see run_reference.sh to regenerate them).
 */
class ParityTest {

    static final double TOLERANCE = 1e-4;

    static Stream<Fixtures.Spec> committed() {
        return Fixtures.committed().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("committed")
    void packedDocumentsMatchReference(Fixtures.Spec spec) throws IOException {
        Path dir = Golden.fixtureDir(spec);
        List<Golden.Doc> docs = Golden.docs(dir);
        try (LlamaModel model = LlamaModel.load(dir);
                PointerScope scope = new PointerScope()) {
            List<long[]> ids = new ArrayList<>();
            docs.forEach(d -> ids.add(d.ids()));
            Batch batch = Batch.pack(ids);
            float[] all = Tensors.toFloats(model.logits(batch));
            int vocab = spec.vocabSize();
            double worst = 0;
            for (int i = 0; i < docs.size(); i++) {
                float[] mine = Arrays.copyOfRange(
                        all, batch.docStart(i) * vocab, (batch.docStart(i) + batch.docLength(i)) * vocab);
                worst = Math.max(worst, Golden.relativeError(mine, docs.get(i).logits()));
            }
            System.out.printf("parity %-18s packed, max relative error %.2e%n", spec.name(), worst);
            assertTrue(worst <= TOLERANCE, spec.name() + ": relative error " + worst);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("committed")
    void eachDocumentAloneMatchesReference(Fixtures.Spec spec) throws IOException {
        Path dir = Golden.fixtureDir(spec);
        try (LlamaModel model = LlamaModel.load(dir);
                PointerScope scope = new PointerScope()) {
            for (Golden.Doc doc : Golden.docs(dir)) {
                float[] mine = Tensors.toFloats(model.logits(Batch.of(doc.ids())));
                double err = Golden.relativeError(mine, doc.logits());
                assertTrue(err <= TOLERANCE, spec.name() + " doc of " + doc.ids().length + ": relative error " + err);
            }
        }
    }

    /** The committed checkpoints are exactly what the generator writes, so others can rely on Fixtures. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("committed")
    void generatorReproducesCommittedFixture(Fixtures.Spec spec, @TempDir Path tmp) throws IOException {
        Path fresh = Fixtures.write(tmp, spec);
        Path committed = Golden.fixtureDir(spec);
        for (String f : List.of("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json")) {
            assertArrayEquals(
                    java.nio.file.Files.readAllBytes(committed.resolve(f)),
                    java.nio.file.Files.readAllBytes(fresh.resolve(f)),
                    spec.name() + "/" + f);
        }
    }

    /** bf16/fp16 checkpoints of the same weights load to nearly the same logits as fp32. */
    @Test
    void halfPrecisionCheckpointsLoad(@TempDir Path tmp) throws IOException {
        Fixtures.Spec f32 = Fixtures.spec(Fixtures.Family.QWEN2, DType.F32);
        Fixtures.Spec f16 = Fixtures.spec(Fixtures.Family.QWEN2, DType.F16);
        long[] ids = {3, 9, 17, 4, 22, 40};
        try (LlamaModel a = LlamaModel.load(Fixtures.write(tmp, f32));
                LlamaModel b = LlamaModel.load(Fixtures.write(tmp, f16));
                PointerScope scope = new PointerScope()) {
            double err = Golden.relativeError(
                    Tensors.toFloats(b.logits(Batch.of(ids))), Tensors.toFloats(a.logits(Batch.of(ids))));
            assertTrue(err < 1e-2, "fp16 vs fp32 relative error " + err);
        }
    }
}
