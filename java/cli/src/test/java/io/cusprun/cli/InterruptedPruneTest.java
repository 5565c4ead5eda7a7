package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.DType;
import io.cusprun.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cusprun prune} and {@code cusprun export} in a child JVM, stopped with SIGTERM while they
 * write: exit 143 and no temporary (or claim) left. The outputs are large enough (tens of MB)
 * that the write takes a while; the test watches for the temporary and signals as soon as it
 * appears.
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
        assertTrue(
                interrupted(out, "prune", "--model", model.toString(), "--method", "magnitude", "--ratio", "0.2") > 0,
                "the signal came during the write at least once");
    }

    /** The temporary of an export is {@code .NAME.tmp-PID} like every output's, and SIGTERM removes it. */
    @Test
    void sigtermDuringExportLeavesNoTemporary() throws Exception {
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        Path out = dir.resolve("demo.gguf");
        assertTrue(
                interrupted(out, "export", "--model", demo.toString(), "--dtype", "f32") > 0,
                "the signal came during the write at least once");
    }

    /**
     * Runs the command (with {@code --out out --force}) up to three times, sending SIGTERM as soon
     * as its temporary appears; each run must end with 143 (or 0 when it finished first) and leave
     * no dot-file beside the output. Returns how many runs the signal caught.
     */
    private int interrupted(Path out, String... command) throws Exception {
        int caught = 0;
        for (int attempt = 0; attempt < 3 && caught == 0; attempt++) {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> args = new ArrayList<>(
                    List.of(java.toString(), "-cp", System.getProperty("java.class.path"), "io.cusprun.cli.Main"));
            args.addAll(List.of(command));
            args.addAll(List.of("--out", out.toString(), "--force"));
            Process p = new ProcessBuilder(args)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectErrorStream(true)
                    .start();
            Path tmp = out.resolveSibling("." + out.getFileName() + ".tmp-" + p.pid());
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
            try (Stream<Path> s = Files.list(out.getParent())) {
                List<String> left = s.map(x -> x.getFileName().toString())
                        .filter(n -> n.startsWith("."))
                        .toList();
                assertEquals(List.of(), left, "no temporary left (attempt " + attempt + ")");
            }
        }
        return caught;
    }
}
