package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cusprun.model.DType;
import io.cusprun.model.LayerSize;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A score file has the same bytes for any thread count: random models of every family scored in
 * fresh JVMs with {@code OMP_NUM_THREADS} 1, 2 and 3, and with two CPU workers, give identical
 * files. The models are wide enough that the GEMMs are tiled and a batch's RoPE tables exceed
 * LibTorch's per-thread grain (the two places whose rounding followed the thread count).
 */
class ThreadCountTest {
    @TempDir
    Path dir;

    /** A family's fixture, widened: hidden 128, FFN 384, head dim 32 (pruned: per-layer sizes). */
    static Fixtures.Spec wide(Family family) {
        Fixtures.Spec s = Fixtures.spec(family, DType.F32);
        int heads = s.numHeads(), kv = s.numKvHeads();
        List<LayerSize> sizes = s.layerSizes() == null
                ? null
                : List.of(new LayerSize(320, heads, kv), new LayerSize(192, heads / 2, kv / 2));
        return new Fixtures.Spec(
                family, DType.F32, s.vocabSize(), 128, 2, 384, heads, kv, 32, s.tied(), s.seed(), sizes);
    }

    private void probe(Path models, Path out, String threads, String devices) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
                        "-cp",
                        System.getProperty("java.class.path"),
                        ThreadCountProbe.class.getName(),
                        models.toString(),
                        out.toString(),
                        devices)
                .redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", threads);
        pb.environment().remove("OPENBLAS_NUM_THREADS");
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("probe with " + threads + " threads ran over 5 minutes");
        }
        assertEquals(0, p.exitValue(), threads + " threads, " + devices + ":\n" + log);
    }

    @Test
    void scoreFilesAreByteIdenticalForOneTwoThreeThreadsAndTwoWorkers() throws Exception {
        Path models = Files.createDirectories(dir.resolve("models"));
        for (Family f : Family.values()) Fixtures.write(models, wide(f));
        String[][] runs = {{"1", "cpu"}, {"2", "cpu"}, {"3", "cpu"}, {"2", "cpu,cpu"}};
        for (String[] run : runs) probe(models, dir.resolve(run[0] + "-" + run[1]), run[0], run[1]);
        for (Family f : Family.values()) {
            String name = wide(f).name() + ".safetensors";
            byte[] one = Files.readAllBytes(dir.resolve("1-cpu").resolve(name));
            ScoreSet set = ScoreFile.read(dir.resolve("1-cpu").resolve(name));
            assertEquals(ThreadCountProbe.LENGTHS.length, set.corpus("a").documents(), name);
            for (String[] run : runs) {
                assertArrayEquals(
                        one,
                        Files.readAllBytes(dir.resolve(run[0] + "-" + run[1]).resolve(name)),
                        name + ": " + run[0] + " threads, workers " + run[1] + " differ from 1 thread");
            }
        }
    }
}
