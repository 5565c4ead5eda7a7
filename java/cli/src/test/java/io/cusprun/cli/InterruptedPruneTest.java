package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.DType;
import io.cusprun.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cusprun prune} in a child JVM, stopped with SIGTERM while it writes the pruned model:
 * exit 143 and no temporary left. The model is large enough (about 60 MB) that the write takes a
 * while; the test watches for the temporary and signals as soon as it appears.
 */
class InterruptedPruneTest {
    @TempDir
    Path dir;

    @Test
    void sigtermDuringPruneLeavesNoTemporary() throws Exception {
        Path model = Fixtures.write(
                dir.resolve("models"),
                new Fixtures.Spec(
                        Fixtures.Family.LLAMA2, DType.F32, Fixtures.VOCAB, 256, 4, 4096, 4, 4, 64, false, 5, null));
        Path out = dir.resolve("expert");
        int caught = 0;
        for (int attempt = 0; attempt < 3 && caught == 0; attempt++) {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process p = new ProcessBuilder(
                            java.toString(),
                            "-cp",
                            System.getProperty("java.class.path"),
                            "io.cusprun.cli.Main",
                            "prune",
                            "--model",
                            model.toString(),
                            "--method",
                            "magnitude",
                            "--ratio",
                            "0.2",
                            "--out",
                            out.toString(),
                            "--force")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectErrorStream(true)
                    .start();
            Path tmp = dir.resolve(".expert.tmp-" + p.pid());
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (p.isAlive() && !Files.exists(tmp) && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                if (p.isAlive()) {
                    p.destroy(); // SIGTERM
                }
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            } finally {
                p.destroyForcibly();
            }
            if (p.exitValue() == 143) {
                caught++;
            } else {
                assertEquals(0, p.exitValue(), "finished before the signal, or failed");
            }
            try (Stream<Path> s = Files.list(dir)) {
                List<String> left = s.map(x -> x.getFileName().toString())
                        .filter(n -> n.startsWith("."))
                        .toList();
                assertEquals(List.of(), left, "no temporary left (attempt " + attempt + ")");
            }
        }
        assertTrue(caught > 0, "the signal came during the write at least once");
    }
}
