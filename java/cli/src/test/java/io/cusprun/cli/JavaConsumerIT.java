package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.score.PlantedModel;
import io.cusprun.testing.Fixtures;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/java-api.md's consumer project, as a Java tool would use the library: its {@code pom.xml}
 * and {@code Prune.java}, read from the page, built by Maven offline against the packaged
 * {@code cusprun-core} (installed into a private local repository that links everything else
 * from the build's own), then run in a fresh JVM on a small generated model with the JavaCPP and
 * DJL caches moved as the page says. Run by {@code mvn verify} after the jars are packaged.
 */
class JavaConsumerIT {
    private static final String PAGE = "docs/java-api.md";

    @TempDir
    Path dir;

    @Test
    void theDocumentedConsumerBuildsAndRunsOffline() throws Exception {
        Path root = Fixtures.repositoryRoot();
        String version = System.getProperty("cusprun.version", "0.1.0-SNAPSHOT");
        Path coreJar = root.resolve("java/core/target/cusprun-core.jar");
        assertTrue(Files.isRegularFile(coreJar), coreJar + " not packaged");
        String page = Files.readString(root.resolve(PAGE), StandardCharsets.UTF_8);

        // the consumer, exactly as the page shows it
        Path project = Files.createDirectories(dir.resolve("consumer"));
        Files.writeString(project.resolve("pom.xml"), block(page, "<!-- consumer:pom -->", "```xml\n"));
        Path src = Files.createDirectories(project.resolve("src/main/java/example"));
        Files.writeString(src.resolve("Prune.java"), block(page, "<!-- consumer:java -->", "```java\n"));

        // a local repository: the build's own, linked, with cusprun's parent POM and core as packaged now
        Path repo = privateRepository(Path.of(
                System.getProperty("cusprun.localRepository", System.getProperty("user.home") + "/.m2/repository")));
        Path group = Files.createDirectories(repo.resolve("io/cusprun"));
        Path parent = Files.createDirectories(group.resolve("cusprun-parent/" + version));
        Files.copy(root.resolve("pom.xml"), parent.resolve("cusprun-parent-" + version + ".pom"));
        Path core = Files.createDirectories(group.resolve("cusprun-core/" + version));
        Files.copy(root.resolve("java/core/pom.xml"), core.resolve("cusprun-core-" + version + ".pom"));
        Files.copy(coreJar, core.resolve("cusprun-core-" + version + ".jar"));

        run(
                project,
                2,
                "mvn",
                "-o",
                "-B",
                "-q",
                "-Dmaven.repo.local=" + repo,
                "compile",
                "dependency:build-classpath",
                "-Dmdep.outputFile=cp.txt");
        String classPath = Files.readString(project.resolve("cp.txt")).strip();
        List<String> jars = List.of(classPath.split(File.pathSeparator));
        assertTrue(jars.stream().anyMatch(j -> j.endsWith("cusprun-core-" + version + ".jar")), classPath);
        assertFalse(jars.stream().anyMatch(j -> j.contains("/org/bytedeco/cuda/")), "no CUDA jar: " + classPath);
        assertFalse(jars.stream().anyMatch(j -> j.contains("cusprun-cli")), classPath);

        // a model, a corpus and held-out text; the caches moved out of the home
        Path model = PlantedModel.write(dir.resolve("model"), 11);
        Path de = Files.writeString(dir.resolve("de.txt"), PlantedModel.text(PlantedModel.documents('a', 8, 6, 20, 1)));
        Path held =
                Files.writeString(dir.resolve("held.txt"), PlantedModel.text(PlantedModel.documents('a', 4, 6, 20, 3)));
        Path javacpp = dir.resolve("cache/javacpp");
        Path djl = dir.resolve("cache/djl");
        Path out = dir.resolve("expert");
        String printed = run(
                project,
                3,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.bytedeco.javacpp.cachedir=" + javacpp,
                "-DDJL_CACHE_DIR=" + djl,
                "-cp",
                project.resolve("target/classes") + File.pathSeparator + classPath,
                "example.Prune",
                model.toString(),
                de.toString(),
                out.toString(),
                held.toString());
        assertTrue(printed.matches("(?s)kept \\d+ parameters\\nperplexity \\d+\\.\\d{3}\\n"), printed);
        assertTrue(Files.isRegularFile(out.resolve("cusprun-manifest.json")));
        assertTrue(Files.isRegularFile(Path.of(out + ".scores")), "the score file saved through the API");
        assertTrue(holdsFile(javacpp, "libtorch"), "LibTorch unpacked into the moved JavaCPP cache");
        assertTrue(holdsFile(djl, "tokenizers"), "the tokenizer library unpacked into the moved DJL cache");
    }

    /** The fenced block that follows {@code marker} on the page. */
    private static String block(String page, String marker, String fence) {
        int at = page.indexOf(marker);
        assertTrue(at >= 0, PAGE + " lacks " + marker);
        int begin = page.indexOf(fence, at) + fence.length();
        return page.substring(begin, page.indexOf("```\n", begin));
    }

    /** A new local repository linking every group of {@code shared} except io/cusprun. */
    private Path privateRepository(Path shared) throws IOException {
        Path repo = Files.createDirectories(dir.resolve("repository"));
        try (Stream<Path> top = Files.list(shared)) {
            for (Path p : top.toList()) {
                if (p.getFileName().toString().equals("io")) {
                    Path io = Files.createDirectories(repo.resolve("io"));
                    try (Stream<Path> groups = Files.list(p)) {
                        for (Path g : groups.toList()) {
                            if (!g.getFileName().toString().equals("cusprun")) {
                                Files.createSymbolicLink(
                                        io.resolve(g.getFileName().toString()), g);
                            }
                        }
                    }
                } else {
                    Files.createSymbolicLink(repo.resolve(p.getFileName().toString()), p);
                }
            }
        }
        return repo;
    }

    private static boolean holdsFile(Path cache, String part) throws IOException {
        if (!Files.isDirectory(cache)) return false;
        try (Stream<Path> s = Files.walk(cache)) {
            return s.anyMatch(p -> p.toString().contains(part));
        }
    }

    /** Runs a command in {@code work}; its stdout, asserting exit 0. */
    private String run(Path work, int minutes, String... command) throws IOException, InterruptedException {
        Path out = dir.resolve("stdout-" + System.nanoTime());
        Path err = dir.resolve("stderr-" + System.nanoTime());
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(command)))
                .directory(work.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(minutes, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " ran over " + minutes + " minutes");
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(
                0,
                p.exitValue(),
                String.join(" ", command) + "\nstderr:\n" + Files.readString(err, StandardCharsets.UTF_8)
                        + "\nstdout:\n" + stdout);
        return stdout;
    }
}
