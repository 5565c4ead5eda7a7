package io.cusprun.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.api.ScoreJob;
import io.cusprun.corpus.Corpora;
import io.cusprun.score.PlantedModel;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSettings;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Spark job in local mode against {@code cusprun score}: same bytes, retries, one-line errors, atomic output. */
class SparkScoreTest {
    @TempDir
    static Path dir;

    static Path model, textA, textB, reference;
    static String[] corpora;

    record Run(int code, String err) {
        String lastLine() {
            List<String> lines = err.strip().lines().toList();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }

    static Run spark(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = SparkScore.run(
                args,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, err.toString(StandardCharsets.UTF_8));
    }

    static String[] line(String master, int tasks, Path out, String... more) {
        return Stream.concat(
                        Stream.of(
                                "--master",
                                master,
                                "--tasks",
                                Integer.toString(tasks),
                                "--model",
                                model.toString(),
                                "--corpus",
                                corpora[0],
                                "--corpus",
                                corpora[1],
                                "--batch-tokens",
                                "40",
                                "--bins",
                                "16",
                                "--out",
                                out.toString()),
                        Stream.of(more))
                .toArray(String[]::new);
    }

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 7);
        textA = Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 24, 4, 20, 1)));
        textB = Files.createDirectories(dir.resolve("b"));
        Files.writeString(textB.resolve("1.txt"), PlantedModel.text(PlantedModel.documents('b', 14, 4, 20, 2)));
        corpora = new String[] {"language:a=" + textA, "domain:b=" + textB};
        reference = dir.resolve("cli.safetensors");
        // what cusprun score runs for the same options
        ScoreJob.of(model, Corpora.parse(corpora))
                .withSettings(ScoreSettings.DEFAULTS.withBatchTokens(40).withBins(16))
                .run(reference, null);
    }

    /** 1, 2, 5 tasks, and 24: more shards than corpus b has batches, so some tasks score nothing of it. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 24})
    void scoreFileIsBitIdenticalToCusprunScore(int tasks) throws Exception {
        Path out = dir.resolve("spark-" + tasks + ".safetensors");
        Run r = spark(line("local[2]", tasks, out));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.lastLine().startsWith("scored 38 documents"), r.err());
        assertTrue(r.lastLine().contains("with " + tasks + " Spark tasks"), r.err());
        // no timestamp or host in a score file: the bytes must agree, not only the tensors
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(out));
        assertEquals("all", ScoreFile.read(out).shard().toString());
    }

    @Test
    void aTaskThatFailsOnceIsRetriedAndCountedOnce() throws Exception {
        Path out = dir.resolve("retried.safetensors");
        System.setProperty(ShardTask.FAIL_FIRST_ATTEMPT, "1");
        try {
            // local[N,F]: N threads, F attempts per task
            Run r = spark(line("local[2,3]", 3, out));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.lastLine().contains("1 failed attempts re-run"), r.err());
        } finally {
            System.clearProperty(ShardTask.FAIL_FIRST_ATTEMPT);
        }
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(out));
    }

    @Test
    void aFailedJobLeavesNoFileAndSaysWhyInOneLine() throws Exception {
        Path out = dir.resolve("failed/never.safetensors");
        System.setProperty(ShardTask.FAIL_FIRST_ATTEMPT, "1");
        Run r;
        try {
            r = spark(line("local[2]", 2, out)); // one attempt per task
        } finally {
            System.clearProperty(ShardTask.FAIL_FIRST_ATTEMPT);
        }
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertEquals(
                "cusprun spark-score: shard 1/2 on host " + ShardTask.host() + ": attempt 0 fails as "
                        + ShardTask.FAIL_FIRST_ATTEMPT + " asks",
                r.lastLine());
        assertFalse(Files.exists(out));
        if (Files.isDirectory(out.getParent())) {
            try (Stream<Path> left = Files.list(out.getParent())) {
                assertEquals(List.of(), left.toList(), "temporary files left");
            }
        }
    }

    @Test
    void aMissingCorpusFailsFastInOneLine() {
        Path missing = dir.resolve("nope.txt");
        Path out = dir.resolve("missing.safetensors");
        long start = System.nanoTime();
        Run r = spark(
                "--master",
                "local[2]",
                "--model",
                model.toString(),
                "--corpus",
                "language:x=" + missing,
                "--out",
                out.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(
                r.lastLine().startsWith("cusprun spark-score: ") && r.lastLine().contains(missing.toString()), r.err());
        assertTrue((System.nanoTime() - start) / 1e9 < 2, "checked before Spark starts");
        assertFalse(Files.exists(out));
    }

    @Test
    void anExecutorThatCannotReadAPathNamesThePathAndItsHost() {
        Path missing = dir.resolve("not-on-this-host.txt");
        ShardTask task = new ShardTask(
                ScoreJob.of(model, Corpora.parse(new String[] {"language:x=" + missing})),
                2,
                new LongAccumulator(),
                new LongAccumulator(),
                new LongAccumulator());
        IOException e = assertThrows(IOException.class, () -> task.call(0));
        assertEquals(
                "cannot read corpus x " + missing + " on host " + ShardTask.host()
                        + " (not found: models and corpora must be on a filesystem every executor sees)",
                e.getMessage());
    }

    @Test
    void optionsSparkDecidesAreRefusedAndTheMasterIsRequired() {
        Path out = dir.resolve("usage.safetensors");
        Run devices = spark(line("local[2]", 2, out, "--devices", "cpu,cpu"));
        assertEquals(2, devices.code(), devices.err());
        assertTrue(
                devices.lastLine().startsWith("cusprun spark-score: --devices is not for the Spark job"),
                devices.err());
        Run noMaster = spark("--model", model.toString(), "--corpus", corpora[0], "--out", out.toString());
        assertEquals(2, noMaster.code(), noMaster.err());
        assertEquals(
                "cusprun spark-score: --master is required outside spark-submit (e.g. --master 'local[2]')",
                noMaster.lastLine());
        Run tasks = spark(line("local[2]", 0, out));
        assertEquals(2, tasks.code(), tasks.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void gpuTasksInLocalModeAreRefusedNotLeftWaiting() {
        System.setProperty("spark.task.resource.gpu.amount", "1");
        try {
            Run r = spark(line("local[2]", 1, dir.resolve("gpu.safetensors")));
            assertEquals(2, r.code(), r.err());
            assertTrue(
                    r.lastLine()
                            .startsWith("cusprun spark-score: spark.task.resource.gpu.amount needs a cluster manager"),
                    r.err());
        } finally {
            System.clearProperty("spark.task.resource.gpu.amount");
        }
    }

    @Test
    void aRemoteTasksFailureIsReadFromSparksMessage() {
        // on a cluster the executor's exception may reach the driver as text only
        String spark =
                "Job aborted due to stage failure: Task 1 in stage 0.0 failed 4 times, most recent failure: Lost task"
                        + " 1.3 in stage 0.0 (TID 7) (10.0.0.7 executor 2): java.io.IOException: cannot read corpus de /data/de.jsonl"
                        + " on host node7 (not found)\n\tat io.cusprun.spark.ShardTask.checkReadable(ShardTask.java:1)\n";
        assertEquals(
                "cannot read corpus de /data/de.jsonl on host node7 (not found)",
                SparkScore.taskFailure(new org.apache.spark.SparkException(spark)));
    }

    @Test
    void theTasksGpuBecomesItsDevice() {
        assertEquals("cpu", ShardTask.device(Map.of()));
        assertEquals("cuda:3", ShardTask.device(Map.of("gpu", new ResourceInformation("gpu", new String[] {"3"}))));
    }

    @Test
    void jarsTheExecutorsLackAreShippedOrNamedInOneLine() throws Exception {
        Path build = Files.createDirectories(dir.resolve("build"));
        Path jobJar = Files.writeString(build.resolve("cusprun-spark.jar"), "job");
        Files.createDirectories(build.resolve("lib"));
        Files.writeString(build.resolve("lib/cusprun-core-9.jar"), "core");
        Files.writeString(build.resolve("lib/pytorch-9.jar"), "torch");
        Files.writeString(build.resolve(SparkScore.APP_JARS), "lib/cusprun-core-9.jar,lib/pytorch-9.jar\n");
        List<Path> app = SparkScore.appJars(jobJar);
        assertEquals(List.of(jobJar, build.resolve("lib/cusprun-core-9.jar"), build.resolve("lib/pytorch-9.jar")), app);
        // --jars shipped one of them (spark-submit passes absolute URIs): the others are added
        org.apache.spark.SparkConf conf =
                new org.apache.spark.SparkConf(false).set("spark.jars", "file:/elsewhere/pytorch-9.jar");
        SparkScore.shipAppJars(conf, app);
        assertEquals(
                "file:/elsewhere/pytorch-9.jar," + jobJar.toUri() + ","
                        + build.resolve("lib/cusprun-core-9.jar").toUri(),
                conf.get("spark.jars"));
        // a listed jar that is gone: one line naming it
        Files.delete(build.resolve("lib/cusprun-core-9.jar"));
        SparkScore.UsageException gone = assertThrows(
                SparkScore.UsageException.class,
                () -> SparkScore.shipAppJars(new org.apache.spark.SparkConf(false), app));
        assertTrue(gone.getMessage().startsWith("jar " + build.resolve("lib/cusprun-core-9.jar")), gone.getMessage());
        assertEquals(List.of(), SparkScore.appJars(dir.resolve("nowhere/cusprun-spark.jar")), "no list, no jars");
    }

    @Test
    void relativePathsAreMadeAbsoluteOnTheDriver() throws Exception {
        org.apache.commons.cli.CommandLine cl = new org.apache.commons.cli.DefaultParser()
                .parse(
                        SparkScore.options(),
                        new String[] {"--model", "m", "--corpus", "language:de=c/de.txt", "--out", "o"});
        ScoreJob job = SparkScore.job(cl);
        assertEquals(Path.of("m").toAbsolutePath(), job.model());
        assertEquals(Path.of("c/de.txt").toAbsolutePath(), job.corpora().get(0).path());
    }
}
