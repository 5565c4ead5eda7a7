package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.Fixtures;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The newcomer's path, in the integration-test phase after the runnable jar is packaged: fresh
 * JVMs, each with an empty private JavaCPP cache, on a library path ({@code LD_LIBRARY_PATH} and
 * {@code java.library.path}) whose first folder holds other copies of every library cusprun ships
 * (the build's {@code conflicting-lib}: libtorch.so, libtorch_cpu.so, libc10.so, libgomp.so.1,
 * libopenblas.so.0, libgfortran.so.5, libcusprun.so, each aborting when loaded). This is where a
 * system PyTorch puts its LibTorch, and where the first run of every command once took it from
 * (docs/reliability.md, "Native libraries"). A non-zero exit, a conflicting library loaded or an
 * {@code hs_err} file fails the build.
 */
class NativeLibrariesIT {
    private static final Path ROOT = Fixtures.repositoryRoot();
    private static final Path JAR = ROOT.resolve("java/target/cusprun.jar");
    private static final Path CONFLICTING = ROOT.resolve("java/core/target/native-build/conflicting-lib");

    /** The file names of the libraries cusprun ships (LibTorch, its OpenMP runtime, OpenBLAS, the kernels). */
    private static final List<String> SHIPPED =
            List.of("libtorch", "libc10", "libgomp", "libopenblas", "libgfortran", "libcusprun", "libjnitorch");

    @TempDir
    static Path dir;

    @BeforeAll
    static void built() {
        assertTrue(Files.isRegularFile(JAR), JAR + " not packaged");
        assertTrue(Files.isRegularFile(CONFLICTING.resolve("libtorch_cpu.so")), CONFLICTING + " not built");
    }

    record Run(int code, String out, String err, Path cache) {}

    /** A fresh JVM in a fresh working folder, with an empty JavaCPP cache, on the conflicting library path. */
    private static Run java(String name, List<String> args, int minutes) throws IOException, InterruptedException {
        Path work = Files.createDirectories(dir.resolve(name));
        Path cache = Files.createDirectories(dir.resolve(name + "-cache"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.bytedeco.javacpp.cachedir=" + cache,
                "-Djava.library.path=" + CONFLICTING + File.pathSeparator + System.getProperty("java.library.path"),
                "-XX:ErrorFile=" + work.resolve("hs_err_pid%p.log")));
        command.addAll(args);
        Path out = work.resolve("stdout.txt");
        Path err = work.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(work.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        env.remove("OMP_NUM_THREADS"); // cusprun's own thread settings (CpuRuntime)
        env.remove("OPENBLAS_NUM_THREADS");
        String ld = env.get("LD_LIBRARY_PATH");
        env.put("LD_LIBRARY_PATH", CONFLICTING + (ld == null || ld.isEmpty() ? "" : File.pathSeparator + ld));
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(name + " ran over " + minutes + " minutes");
        }
        Run r = new Run(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8),
                cache);
        String context = name + " exited " + r.code() + "\nstderr:\n" + r.err() + "\nstdout:\n" + r.out();
        try (Stream<Path> files = Files.list(work)) {
            List<Path> crashLogs = files.filter(f -> f.getFileName().toString().startsWith("hs_err"))
                    .toList();
            assertEquals(List.of(), crashLogs, "the JVM crashed: " + context);
        }
        assertFalse(r.err().contains("conflicting library loaded"), context);
        assertEquals(0, r.code(), context);
        return r;
    }

    /**
     * The README's first command (its quick form, which CI's time allows: one draw, no dimension
     * study) from the built jar, from an empty cache, as a newcomer next to a system PyTorch runs it.
     */
    @Test
    void theFirstCommandRunsFromAnEmptyCacheNextToAnotherLibTorch() throws Exception {
        Run demo = java("demo", List.of("-jar", JAR.toString(), "demo", "--quick", "--out", "demo-output"), 30);
        // the table's cusprun row at 35%, and the report with it
        assertTrue(
                Pattern.compile("(?m)^cusprun\\s+0\\.35\\s").matcher(demo.out()).find(), demo.out());
        assertTrue(Files.isRegularFile(dir.resolve("demo/demo-output/report/index.html")), demo.err());
    }

    /** Three cold starts in all (with the demo's): none may depend on what an earlier one extracted. */
    @Test
    void everyColdStartLoadsTheShippedLibraries() throws Exception {
        for (int i = 1; i <= 2; i++) {
            Run r = java("version-" + i, List.of("-jar", JAR.toString(), "--version"), 3);
            assertTrue(r.out().startsWith("cusprun "), r.out());
        }
    }

    /**
     * The Java API's path (ExpertPruner: score with the kernels, plan, write) in a fresh JVM; then,
     * from the process's own /proc/self/maps, every library cusprun ships is mapped from the JavaCPP
     * cache only, and one OpenMP runtime is mapped.
     */
    @Test
    void theJavaApiMapsOnlyTheShippedLibrariesAndOneOpenMpRuntime() throws Exception {
        String classPath = JAR
                + File.pathSeparator
                + Path.of(NativeLibrariesProbe.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI());
        Path data = ROOT.resolve("data");
        Run r = java(
                "api",
                List.of(
                        "-cp",
                        classPath,
                        NativeLibrariesProbe.class.getName(),
                        data.resolve("demo-model").toString(),
                        data.resolve("corpora/language/de/score.jsonl").toString(),
                        dir.resolve("api-pruned").toString()),
                5);
        assertTrue(Files.isRegularFile(dir.resolve("api-pruned/config.json")), r.out());
        TreeSet<String> mapped = new TreeSet<>();
        r.out().lines().filter(l -> l.startsWith("mapped=")).forEach(l -> mapped.add(l.substring(7)));
        assertTrue(mapped.stream().anyMatch(f -> f.endsWith("/libtorch_cpu.so")), "LibTorch not mapped: " + mapped);
        String cache = r.cache().toRealPath().toString();
        List<String> openMp = new ArrayList<>();
        for (String file : mapped) {
            String name = Path.of(file).getFileName().toString();
            if (SHIPPED.stream().anyMatch(name::startsWith)) {
                assertTrue(file.startsWith(cache + "/"), file + " is not a shipped library (cache " + cache + ")");
            }
            if (name.startsWith("libgomp") || name.startsWith("libiomp") || name.startsWith("libomp")) {
                openMp.add(file);
            }
        }
        assertEquals(1, openMp.size(), "OpenMP runtimes mapped: " + openMp);
        // and its one pool has a thread per processor, with OpenBLAS's own pool on one thread
        assertTrue(r.out().contains("blasOnOneThread=true\n"), r.out());
        String processors = r.out().replaceAll("(?s).*processors=(\\d+)\n.*", "$1");
        assertTrue(r.out().contains("ompThreads=" + processors + "\n"), r.out());
    }
}
