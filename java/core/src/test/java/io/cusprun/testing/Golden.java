package io.cusprun.testing;

import io.cusprun.model.Checkpoint;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;

/**
 * The committed fixtures and their golden logits (from java/core/src/test/python/reference_llama.py):
 * per document i, "input_ids.i" [T] and "logits.i" [T, V] in golden.safetensors.
 */
public final class Golden {

    /** One reference document: its ids and logits (row-major [T, V]). */
    public record Doc(long[] ids, float[] logits) {}

    private Golden() {}

    /** The committed fixture directory of a spec, read in place so that every module's tests can use it. */
    public static Path fixtureDir(Fixtures.Spec spec) {
        Path dir = Fixtures.repositoryRoot()
                .resolve("java/core/src/test/resources/fixtures")
                .resolve(spec.name());
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("fixture " + spec.name() + " is not committed under " + dir);
        }
        return dir;
    }

    public static List<Doc> docs(Path fixtureDir) throws IOException {
        List<Doc> out = new ArrayList<>();
        try (Checkpoint g = Checkpoint.open(fixtureDir.resolve("golden.safetensors"));
                PointerScope scope = new PointerScope()) {
            for (int i = 0; g.has("input_ids." + i); i++) {
                out.add(new Doc(
                        Tensors.toLongs(g.tensor("input_ids." + i)), Tensors.toFloats(g.tensor("logits." + i))));
            }
        }
        return out;
    }

    /** max |a - b| / max(1, max |b|): the relative error used by the parity tests. */
    public static double relativeError(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + " != " + expected.length);
        }
        double maxDiff = 0;
        double maxRef = 1;
        for (int i = 0; i < actual.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        return maxDiff / maxRef;
    }
}
