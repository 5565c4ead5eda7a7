package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.prune.CheckpointPruner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The second round of hostile use through the commands: two writers on one output, --dry-run,
 * repeated option values, forged ownership, special files and $HOME.
 */
class ReliabilityCliTest {
    @TempDir
    static Path dir;

    static CliInputs in;
    static Path model, corpus, scores, held;

    static CompareCommandTest.Run run(String... args) {
        return CompareCommandTest.run(args);
    }

    @BeforeAll
    static void setUp() throws Exception {
        in = CliInputs.write(dir);
        model = in.model();
        corpus = in.corpus();
        held = in.held();
        scores = in.scores();
    }

    static String[] score(Path out, String... more) {
        return in.score(out, more);
    }

    static String[] prune(Path out, String method, String... more) {
        return in.prune(out, method, more);
    }

    /** The two runs started together; returns their results in order. */
    static List<CompareCommandTest.Run> together(String[] first, String[] second) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<CompareCommandTest.Run>> f = new ArrayList<>();
            for (String[] args : List.of(first, second)) {
                f.add(pool.submit(() -> {
                    go.await();
                    return run(args);
                }));
            }
            go.countDown();
            return List.of(f.get(0).get(120, TimeUnit.SECONDS), f.get(1).get(120, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    /** Exactly one exit 0; the other exit 2 with one line; returns the index of the winner. */
    static int oneWins(List<CompareCommandTest.Run> runs, String what) {
        return wins(runs, what, false);
    }

    /**
     * Writers with --force: one wins as {@link #oneWins} says, or, where the second started after
     * the first had finished (a fast command on a loaded machine), both win, one after the other.
     */
    static int oneWinsOrBothInTurn(List<CompareCommandTest.Run> runs, String what) {
        return wins(runs, what, true);
    }

    private static int wins(List<CompareCommandTest.Run> runs, String what, boolean inTurn) {
        int wins = 0, winner = -1;
        for (int i = 0; i < 2; i++) {
            CompareCommandTest.Run r = runs.get(i);
            if (r.code() == 0) {
                wins++;
                winner = i;
            } else {
                assertEquals(2, r.code(), what + ": " + r.err());
                assertEquals(1, r.err().strip().lines().count(), what + ": " + r.err());
                assertTrue(
                        r.err().contains("is writing it") || r.err().contains("exists (use --force"),
                        what + ": " + r.err());
            }
        }
        if (!(inTurn && wins == 2)) assertEquals(1, wins, what + ": exactly one writer wins: " + runs);
        return winner;
    }

    static List<String> dotFiles(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("."))
                    .toList();
        }
    }

    @Test
    void twoWritersOnOneOutputExactlyOneWinsWithOrWithoutForce() throws Exception {
        ObjectMapper json = new ObjectMapper();
        for (int trial = 0; trial < 4; trial++) {
            Path out = dir.resolve("race/expert-" + trial);
            String[] more = trial % 2 == 0 ? new String[0] : new String[] {"--force"};
            List<CompareCommandTest.Run> runs = together(prune(out, "cusprun", more), prune(out, "magnitude", more));
            int winner = oneWins(runs, "prune trial " + trial);
            String method = json.readTree(out.resolve(CheckpointPruner.MANIFEST).toFile())
                    .get("method")
                    .asText();
            assertEquals(winner == 0 ? "cusprun" : "magnitude", method, "the survivor is the winner's");
            assertEquals(List.of(), dotFiles(out.getParent()), "no lock or temporary left");
        }
        Path s = dir.resolve("race/s.safetensors");
        oneWins(together(score(s, "--shard", "0/2"), score(s, "--shard", "0/2", "--force")), "score");
        Path s1 = dir.resolve("race/s1.safetensors");
        assertEquals(0, run(score(s1, "--shard", "1/2")).code());
        Path m = dir.resolve("race/m.safetensors");
        oneWins(
                together(
                        new String[] {"merge", s.toString(), s1.toString(), "--out", m.toString()},
                        new String[] {"merge", s.toString(), s1.toString(), "--out", m.toString(), "--force"}),
                "merge");
        assertEquals(List.of(), dotFiles(dir.resolve("race")));
    }

    /** A second process (another JVM) holding the claim: refused while it lives, free once it is gone. */
    @Test
    void aClaimHeldByAnotherProcessRefusesAndDiesWithIt() throws Exception {
        Path out = dir.resolve("held-elsewhere");
        Path lock = io.cusprun.AtomicOutput.lockFile(out);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // a child that takes the claim with the same code and waits
        Process p = new ProcessBuilder(
                        java.toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        ClaimHolder.class.getName(),
                        out.toString())
                .redirectErrorStream(true)
                .start();
        try {
            assertEquals('c', p.getInputStream().read(), "the child claimed it");
            CompareCommandTest.Run r = run(prune(out, "magnitude"));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("another cusprun run (process " + p.pid() + ") is writing it"), r.err());
            assertFalse(Files.exists(out));
            p.destroyForcibly(); // SIGKILL: no clean-up; the kernel drops the lock
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertTrue(Files.exists(lock), "the lock file stays (never beside the output)");
            CompareCommandTest.Run again = run(prune(out, "magnitude"));
            assertEquals(0, again.code(), again.err());
            assertEquals(0, Files.size(lock), "released: emptied");
        } finally {
            p.destroyForcibly();
        }
    }

    /** Claims the output named by its argument, says 'c' and waits to be killed. */
    public static final class ClaimHolder {
        public static void main(String[] args) throws Exception {
            io.cusprun.AtomicOutput.claim(Path.of(args[0]));
            System.out.print('c');
            System.out.flush();
            Thread.sleep(120_000);
        }
    }

    static String[] compare(String... more) {
        return in.compare(more);
    }

    @Test
    void dryRunOfCompareAndDemoPrintsThePlanAndTouchesNothing() throws Exception {
        List<String> before = OutputPolicyCliTest.listing(dir);
        Path report = dir.resolve("dry/report");
        CompareCommandTest.Run r = run(compare(
                "--dry-run",
                "--report",
                report.toString(),
                "--keep",
                dir.resolve("dry/kept").toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(
                r.out().contains("plan: model")
                        && r.out().contains("random")
                        && r.out().contains(report.toString()),
                r.out());
        Path data = io.cusprun.testing.Fixtures.repositoryRoot().resolve("data");
        long start = System.nanoTime();
        CompareCommandTest.Run demo = run(
                "demo",
                "--dry-run",
                "--quick",
                "--data",
                data.toString(),
                "--out",
                dir.resolve("dry/demo").toString());
        assertEquals(0, demo.code(), demo.err());
        assertTrue(demo.out().contains("plan: model") && demo.out().contains("dry run"), demo.out());
        assertTrue((System.nanoTime() - start) / 1e9 < 20, "the plan only, not the run");
        assertEquals(before, OutputPolicyCliTest.listing(dir), "nothing created, written or deleted");
    }

    @Test
    void repeatedRatiosAndMethodsAreRefusedBeforeAnyWork() throws Exception {
        List<String> before = OutputPolicyCliTest.listing(dir);
        Path report = dir.resolve("dup-report");
        for (String[] bad : List.of(
                new String[] {"--ratio", "0.3,0.3"},
                new String[] {"--ratio", "0.3,0.30"},
                new String[] {"--method", "cusprun,cusprun"},
                new String[] {"--method", "random,magnitude,random"},
                new String[] {"--ratio", "0.3,"})) {
            long start = System.nanoTime();
            CompareCommandTest.Run r = run(CliInputs.replaced(compare("--report", report.toString()), bad[0], bad[1]));
            assertEquals(2, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(bad[0]), bad[1] + ": " + r.err());
            assertTrue((System.nanoTime() - start) / 1e9 < 5, "refused before running");
        }
        CompareCommandTest.Run demo = run(
                "demo",
                "--method",
                "random,random",
                "--out",
                dir.resolve("dup-demo").toString());
        assertEquals(2, demo.code(), demo.err());
        assertTrue(demo.err().contains("--method"), demo.err());
        assertEquals(before, OutputPolicyCliTest.listing(dir));
    }

    @Test
    void forceReplacesOnlyAFolderWhoseManifestFingerprintMatches() throws Exception {
        Path forged = Files.createDirectories(dir.resolve("forged"));
        Files.writeString(forged.resolve("chapter1.tex"), "years of work");
        for (String manifest : List.of("", "{}", "{\"format\": \"cusprun-manifest/1\"}")) {
            Files.writeString(forged.resolve(CheckpointPruner.MANIFEST), manifest);
            CompareCommandTest.Run r = run(prune(forged, "magnitude", "--force"));
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("not a pruned model written by cusprun"), r.err());
            assertEquals("years of work", Files.readString(forged.resolve("chapter1.tex")));
        }
        // a real pruned model with something added (or changed) is not replaced, and the message lists it
        Path real = dir.resolve("real");
        assertEquals(0, run(prune(real, "magnitude")).code());
        Files.writeString(real.resolve("notes.txt"), "mine");
        CompareCommandTest.Run r = run(prune(real, "magnitude", "--force"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("unexpected entries: notes.txt"), r.err());
        Files.delete(real.resolve("notes.txt"));
        Files.writeString(real.resolve("config.json"), Files.readString(real.resolve("config.json")) + " ");
        r = run(prune(real, "magnitude", "--force"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("config.json (changed)"), r.err());
        // a forged report page
        Path page = Files.createDirectories(dir.resolve("page"));
        Files.writeString(page.resolve("index.html"), "<html><head><title>cusprun</title></head></html>");
        Files.writeString(page.resolve("photo.jpg"), "jpeg");
        r = run(compare("--report", page.toString(), "--force"));
        assertEquals(2, r.code(), r.err());
        assertTrue(Files.exists(page.resolve("photo.jpg")));
    }

    @Test
    void fifosAndDevicesAreRefusedUpFrontNamingThem() throws Exception {
        Path fifo = dir.resolve("pipe.txt");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path zero = Path.of("/dev/zero");
        List<String[]> cases = List.of(
                new String[] {
                    "score",
                    "--model",
                    model.toString(),
                    "--corpus",
                    "language:p=" + fifo,
                    "--out",
                    dir.resolve("fifo.safetensors").toString(),
                    "--no-progress"
                },
                new String[] {"eval", "--model", model.toString(), "--text", fifo.toString()},
                new String[] {"eval", "--model", model.toString(), "--text", zero.toString()},
                new String[] {"eval", "--model", model.toString(), "--ids", zero.toString()},
                new String[] {
                    "score",
                    "--model",
                    model.toString(),
                    "--corpus",
                    "language:z=" + zero,
                    "--out",
                    dir.resolve("zero.safetensors").toString(),
                    "--no-progress"
                },
                new String[] {"inspect", "--model", zero.toString()},
                new String[] {
                    "merge",
                    fifo.toString(),
                    scores.toString(),
                    "--out",
                    dir.resolve("mm").toString()
                },
                CliInputs.replaced(compare("--dry-run"), "--eval-expert", zero.toString()));
        for (String[] c : cases) {
            long start = System.nanoTime();
            CompareCommandTest.Run r = run(c);
            String what = String.join(" ", c);
            assertTrue(r.code() == 1 || r.code() == 2, what + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), what + ": " + r.err());
            assertTrue(r.err().contains(fifo.toString()) || r.err().contains(zero.toString()), what + ": " + r.err());
            assertTrue((System.nanoTime() - start) / 1e9 < 10, what + ": refused up front");
        }
    }

    /** $HOME as the shell sets it is the home directory, whatever Java's user.home says. */
    @Test
    void theHomeCheckUsesDollarHome() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.writeString(home.resolve(".bashrc"), "alias ll='ls -l'");
        Files.writeString(home.resolve(CheckpointPruner.MANIFEST), "{}");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(
                        java.toString(), "-cp", System.getProperty("java.class.path"), "io.cusprun.cli.Main")
                .redirectErrorStream(true);
        pb.command().addAll(List.of(prune(home, "magnitude", "--force")));
        pb.environment().put("HOME", home.toString());
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), output);
        assertTrue(output.contains("home directory"), output);
        assertEquals("alias ll='ls -l'", Files.readString(home.resolve(".bashrc")));
    }
}
