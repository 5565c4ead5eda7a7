package io.cusprun.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Spark job on a real standalone cluster, started from the jars the build leaves in
 * java/spark/target/lib/ (integration-test phase, after packaging): a Master and two Workers of
 * one core each on 127.0.0.1, the job submitted in client mode with the command of docs/spark.md
 * (SparkSubmit, --jars from app-jars.txt, executors on one OpenMP thread), one Worker and its
 * executor killed (SIGKILL) while a task runs. The file must equal cusprun score's (2 threads)
 * byte for byte. Every process it starts is stopped, also on failure.
 */
class StandaloneClusterIT {
    static final Path ROOT = Fixtures.repositoryRoot();
    static final Path TARGET = ROOT.resolve("java/spark/target");
    static final Path RUN = TARGET.resolve("standalone-it");

    /** Libraries of app-jars.txt that Spark's own distribution carries too. */
    static final List<String> SHARED_WITH_SPARK =
            List.of("slf4j-api-", "jackson-", "commons-codec-", "commons-compress-", "commons-cli-");

    private final List<Process> started = new ArrayList<>();
    private final List<ProcessHandle> children = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (Process p : started) children.addAll(p.descendants().toList());
        for (ProcessHandle h : children) h.destroyForcibly();
        for (Process p : started) p.destroyForcibly();
        for (Process p : started) p.waitFor(30, TimeUnit.SECONDS);
    }

    @Test
    void scoreFileEqualsCusprunScoreAfterAWorkerIsKilled() throws Exception {
        Path jar = TARGET.resolve("cusprun-spark.jar"), appJars = TARGET.resolve(SparkScore.APP_JARS);
        Path cli = ROOT.resolve("java/target/cusprun.jar");
        assumeTrue(Files.isRegularFile(jar) && Files.isRegularFile(appJars), "java/spark not packaged");
        assumeTrue(Files.isRegularFile(cli), "java/target/cusprun.jar not packaged (the reference)");
        deleteTree(RUN);
        Files.createDirectories(RUN);
        Path model = ROOT.resolve("data/demo-model");
        List<String> score = List.of(
                "--model",
                model.toString(),
                "--corpus",
                "language:de=" + ROOT.resolve("data/corpora/language/de/score.jsonl"),
                "--corpus",
                "domain:technical=" + ROOT.resolve("data/corpora/domain/technical/score.jsonl"),
                "--docs",
                "40");

        // the reference: cusprun score on 2 threads
        long t0 = System.nanoTime();
        Path reference = RUN.resolve("cli.safetensors");
        List<String> cliLine = new ArrayList<>(
                List.of(java(), "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-jar", cli.toString(), "score"));
        cliLine.addAll(score);
        cliLine.addAll(List.of("--out", reference.toString(), "--no-progress"));
        assertEquals(0, run(cliLine, "cli", 2, 300), log("cli"));
        double cliSeconds = (System.nanoTime() - t0) / 1e9;

        // SPARK_HOME: what a Spark distribution's jars/ holds: lib/ beyond app-jars.txt, plus the
        // few libraries both use (a Spark installation has its own copies); the job ships the rest
        Set<String> app = Arrays.stream(Files.readString(appJars).strip().split(","))
                .map(e -> Path.of(e.strip()).getFileName().toString())
                .collect(Collectors.toSet());
        Path jars = Files.createDirectories(RUN.resolve("spark-home/jars"));
        try (Stream<Path> lib = Files.list(TARGET.resolve("lib"))) {
            for (Path j : lib.toList()) {
                String name = j.getFileName().toString();
                if (!app.contains(name) || SHARED_WITH_SPARK.stream().anyMatch(name::startsWith)) {
                    Files.createSymbolicLink(jars.resolve(name), j);
                }
            }
        }
        long t1 = System.nanoTime();
        int port = freePort();
        String master = "spark://127.0.0.1:" + port;
        daemon(
                "master",
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                "" + port,
                "--webui-port",
                "" + freePort());
        waitForLine("master", "I have been elected leader", 60);
        List<Process> workers = new ArrayList<>();
        for (int w = 1; w <= 2; w++) {
            workers.add(daemon(
                    "worker" + w,
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    "127.0.0.1",
                    "--webui-port",
                    "" + freePort(),
                    "--cores",
                    "1",
                    "--memory",
                    "2g",
                    "--work-dir",
                    RUN.resolve("work" + w).toString(),
                    master));
        }
        for (int w = 1; w <= 2; w++) waitForLine("worker" + w, "Successfully registered with master", 60);
        double clusterSeconds = (System.nanoTime() - t1) / 1e9;

        // the documented command (docs/spark.md, "A standalone cluster")
        String shipped = Arrays.stream(Files.readString(appJars).strip().split(","))
                .map(e -> TARGET.resolve(e.strip()).toString())
                .collect(Collectors.joining(","));
        Path out = RUN.resolve("spark.safetensors");
        List<String> submit = new ArrayList<>(List.of(java()));
        submit.addAll(SparkScore.moduleFlags());
        submit.addAll(List.of(
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
                "-cp",
                TARGET.resolve("lib") + "/*",
                "org.apache.spark.deploy.SparkSubmit",
                "--master",
                master,
                "--deploy-mode",
                "client",
                "--class",
                "io.cusprun.spark.SparkScore",
                "--jars",
                shipped,
                "--executor-memory",
                "1g",
                "--conf",
                "spark.executorEnv.OMP_NUM_THREADS=1",
                "--conf",
                "spark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
                "--conf",
                "spark.driver.host=127.0.0.1",
                "--conf",
                "spark.driver.bindAddress=127.0.0.1",
                "--conf",
                "spark.ui.enabled=false",
                jar.toString()));
        submit.addAll(score);
        submit.addAll(List.of("--tasks", "4", "--out", out.toString()));
        long t2 = System.nanoTime();
        Process driver = start(submit, "driver", 2);

        // kill Worker 1 and its executor (a lost machine) while its executor runs a task
        Process worker1 = workers.get(0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (!executorRunsTask(RUN.resolve("work1"))) {
            assertTrue(driver.isAlive(), "the job ended before a task ran on worker 1:\n" + log("driver"));
            assertTrue(System.nanoTime() < deadline, "no task ran on worker 1 within 240 s:\n" + log("driver"));
            Thread.sleep(200);
        }
        double killedAt = (System.nanoTime() - t2) / 1e9;
        List<ProcessHandle> executor1 = worker1.descendants().toList();
        worker1.destroyForcibly();
        executor1.forEach(ProcessHandle::destroyForcibly);

        assertTrue(driver.waitFor(300, TimeUnit.SECONDS), "the job ran over 300 s:\n" + log("driver"));
        double jobSeconds = (System.nanoTime() - t2) / 1e9;
        String driverLog = log("driver");
        assertEquals(0, driver.exitValue(), driverLog);
        List<String> lines = driverLog.strip().lines().toList();
        // the summary line; Spark's shutdown may still log a line after it (a late disconnect warning)
        String summary = lines.stream()
                .filter(l -> l.startsWith("scored "))
                .reduce((a, b) -> b)
                .orElse("");
        assertTrue(
                summary.startsWith("scored 80 documents") && summary.contains("with 4 Spark tasks on " + master),
                driverLog);
        assertTrue(!summary.contains(" 0 failed attempts re-run"), "the lost task was not re-run: " + summary);
        // the lost executor is the scheduler's one line, not also a transport warning with a stack trace
        assertTrue(!driverLog.contains("TransportChannelHandler"), driverLog);
        assertTrue(lines.size() < 25, "the driver logged " + lines.size() + " lines:\n" + driverLog);
        assertArrayEquals(
                Files.readAllBytes(reference), Files.readAllBytes(out), "cluster file differs from cusprun score's");
        System.out.printf(
                Locale.ROOT,
                "standalone cluster: cusprun score %.1f s; Master + 2 Workers up in %.1f s; job %.1f s with a Worker killed at %.1f s%n%s%n",
                cliSeconds,
                clusterSeconds,
                jobSeconds,
                killedAt,
                summary);
    }

    private static boolean executorRunsTask(Path workDir) throws IOException {
        if (!Files.isDirectory(workDir)) return false;
        try (Stream<Path> files = Files.walk(workDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr"))
                    .toList()) {
                if (Files.readString(f, StandardCharsets.ISO_8859_1).contains("Running task")) return true;
            }
        }
        return false;
    }

    private Process daemon(String name, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java()));
        cmd.addAll(SparkScore.moduleFlags());
        cmd.addAll(List.of("-Xmx512m", "-cp", RUN.resolve("spark-home/jars") + "/*", mainClass));
        cmd.addAll(List.of(args));
        return start(cmd, name, 2);
    }

    private Process start(List<String> cmd, String name, int threads) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(RUN.toFile())
                .redirectErrorStream(true)
                .redirectOutput(RUN.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", RUN.resolve("spark-home").toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().remove("OPENBLAS_NUM_THREADS");
        Process p = pb.start();
        started.add(p);
        return p;
    }

    private int run(List<String> cmd, String name, int threads, int seconds) throws IOException, InterruptedException {
        Process p = start(cmd, name, threads);
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), name + " ran over " + seconds + " s");
        return p.exitValue();
    }

    private static void waitForLine(String name, String text, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!log(name).contains(text)) {
            assertTrue(
                    System.nanoTime() < deadline,
                    name + " did not log '" + text + "' within " + seconds + " s:\n" + log(name));
            Thread.sleep(200);
        }
    }

    private static String log(String name) throws IOException {
        Path f = RUN.resolve(name + ".log");
        return Files.exists(f) ? Files.readString(f, StandardCharsets.ISO_8859_1) : "";
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p :
                    s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.delete(p);
        }
    }
}
