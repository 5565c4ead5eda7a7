package io.cusprun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** SIGTERM and SIGINT while an output is being written: exit 143 / 130, no temporary left, the old output kept. */
class InterruptionTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"dir, TERM, 143", "dir, INT, 130", "file, TERM, 143", "file, INT, 130"})
    void aSignalRemovesTheTemporaryAndKeepsTheOldOutput(String kind, String signal, int exit) throws Exception {
        assumeFalse(
                signal.equals("INT") && sigintIgnored(),
                "SIGINT is ignored in this process (a background job, nohup): the child JVM inherits that, as any"
                        + " program does, and a SIGINT cannot stop it");
        Path out = dir.resolve("out");
        if (kind.equals("dir")) {
            AtomicOutput.writeDirectory(out, d -> Files.writeString(d.resolve("old"), "previous"));
        } else {
            AtomicOutput.writeString(out, "previous");
        }
        Process p = child(HoldTemporary.class.getName(), kind, out.toString());
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("ready", r.readLine(), () -> stderr(p));
            assertTrue(Files.exists(out.resolveSibling(".out.tmp-" + p.pid())), "the temporary exists while writing");
            if (signal.equals("TERM")) {
                p.destroy(); // SIGTERM on Linux
            } else {
                assertEquals(
                        0,
                        new ProcessBuilder("kill", "-INT", Long.toString(p.pid()))
                                .start()
                                .waitFor());
            }
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        assertEquals(exit, p.exitValue());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(out), s.toList(), "nothing but the old output");
        }
        assertEquals("previous", kind.equals("dir") ? Files.readString(out.resolve("old")) : Files.readString(out));
    }

    /** Whether this process ignores SIGINT (Linux: bit 2 of SigIgn in /proc/self/status); false where unknown. */
    private static boolean sigintIgnored() throws java.io.IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        return Files.readAllLines(status).stream()
                .filter(l -> l.startsWith("SigIgn:"))
                .anyMatch(l -> (Long.parseUnsignedLong(l.substring(7).strip(), 16) & (1L << (2 - 1))) != 0);
    }

    /** A JVM running {@code mainClass} on this test's class path. */
    static Process child(String mainClass, String... args) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new java.util.ArrayList<>(
                List.of(java.toString(), "-Xmx256m", "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.PIPE)
                .start();
    }

    private static String stderr(Process p) {
        try {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (Exception e) {
            return e.toString();
        }
    }
}
