package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cusprun.testing.Fixtures;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs benchmarks/llamacpp/check.sh (GGUF exports of the demo model, unpruned, pruned and pruned with a trimmed vocabulary, in
 * llama.cpp vs cusprun) in the integration-test phase, after the runnable jar is packaged.
 * Skipped, with the reason, only where node is not on PATH or with -Dcusprun.llamacpp.skip=true;
 * an npm install that fails is a failure. Uses 8 held-out documents (CHECK_DOCS) to stay fast.
 */
class LlamaCppCheckIT {

    @Test
    void exportsRunInLlamaCppLikeInCusprun() throws IOException, InterruptedException {
        assumeTrue(!Boolean.getBoolean("cusprun.llamacpp.skip"), "llama.cpp check skipped (-Dcusprun.llamacpp.skip)");
        assumeTrue(onPath("node"), "llama.cpp check skipped: node is not on PATH (Node 20 and npm run the check)");
        assumeTrue(onPath("bash"), "llama.cpp check skipped: bash is not on PATH");
        Path root = Fixtures.repositoryRoot();
        Path jar = root.resolve("java/target/cusprun.jar");
        assumeTrue(Files.isRegularFile(jar), "llama.cpp check skipped: " + jar + " not packaged");
        // output through System.out (surefire owns the fork's stdin/stdout, so nothing is inherited)
        ProcessBuilder pb = new ProcessBuilder(
                        "bash", root.resolve("benchmarks/llamacpp/check.sh").toString())
                .directory(root.toFile())
                .redirectErrorStream(true);
        pb.environment().putIfAbsent("CHECK_DOCS", "8");
        Process p = pb.start();
        p.getOutputStream().close();
        Thread echo = new Thread(() -> {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                r.lines().forEach(System.out::println);
            } catch (IOException e) {
                System.out.println("(output of check.sh lost: " + e.getMessage() + ")");
            }
        });
        echo.start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("benchmarks/llamacpp/check.sh ran over 15 minutes");
        }
        echo.join();
        assertEquals(0, p.exitValue(), "benchmarks/llamacpp/check.sh failed (see its output above)");
    }

    private static boolean onPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, exe))) {
                return true;
            }
        }
        return false;
    }
}
