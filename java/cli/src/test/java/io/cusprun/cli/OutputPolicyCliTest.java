package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.prune.CheckpointPruner;
import io.cusprun.score.PlantedModel;
import io.cusprun.score.ScoreFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every writing command goes through the output policy: destructive --out values are refused
 * with one line and exit 2, leaving everything as it was. All paths lie in a temporary folder;
 * the working directory is only ever named where the refusal cannot touch it (a score file is
 * never renamed over a directory), and its ancestors only in OutputPolicyTest.
 */
class OutputPolicyCliTest {
    @TempDir
    static Path dir;

    static Path model, corpus, scores, data;

    static CompareCommandTest.Run run(String... args) {
        return CompareCommandTest.run(args);
    }

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("models/source"), 13);
        corpus = Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 4, 4, 20, 1)));
        scores = dir.resolve("a.safetensors");
        CompareCommandTest.Run r = run(
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + corpus,
                "--out",
                scores.toString(),
                "--no-progress");
        assertEquals(0, r.code(), r.err());
    }

    /** Exit 2, one line naming the path and containing {@code why}; nothing under dir changed. */
    static void refused(String why, String... args) throws Exception {
        List<String> before = listing();
        CompareCommandTest.Run r = run(args);
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(why), r.err());
        assertEquals(before, listing(), "nothing written, moved or deleted");
    }

    static List<String> listing() throws Exception {
        return listing(dir);
    }

    /** Every path under {@code dir}, relative, with the size of each file. */
    static List<String> listing(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted().toList()) {
                out.add(dir.relativize(p) + (Files.isRegularFile(p) ? " " + Files.size(p) : ""));
            }
        }
        return out;
    }

    String[] prune(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of(
                "prune",
                "--model",
                model.toString(),
                "--scores",
                scores.toString(),
                "--ratio",
                "0.3",
                "--out",
                out.toString()));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void pruneNeverReplacesTheSourceWhatHoldsItOrForeignFolders() throws Exception {
        refused("is the input " + model, prune(model, "--force"));
        refused("contains the input", prune(model.getParent(), "--force"));
        refused("contains the input", prune(model.resolve(".."), "--force"));
        refused("contains the input", prune(dir, "--force"));
        refused("inside the input", prune(model.resolve("pruned"), "--force"));
        refused("is the input " + scores, prune(scores, "--force"));
        Path foreign = Files.createDirectories(dir.resolve("thesis"));
        Files.writeString(foreign.resolve("chapter1.tex"), "years of work");
        refused("not a pruned model written by cusprun", prune(foreign, "--force"));
        refused("use --force", prune(foreign));
        assertEquals("years of work", Files.readString(foreign.resolve("chapter1.tex")));
    }

    @Test
    void pruneReplacesItsOwnOutputOrAnEmptyFolderOnlyWithForce() throws Exception {
        Path out = dir.resolve("expert");
        assertEquals(0, run(prune(out)).code());
        refused("exists (use --force", prune(out));
        CompareCommandTest.Run again = run(prune(out, "--force"));
        assertEquals(0, again.code(), again.err());
        assertTrue(Files.isRegularFile(out.resolve(CheckpointPruner.MANIFEST)));
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertEquals(0, run(prune(empty, "--force")).code());
        assertTrue(Files.isRegularFile(empty.resolve(CheckpointPruner.MANIFEST)));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().matches("\\..*\\.(tmp|old)-\\d+")));
        }
    }

    @Test
    void scoreAndMergeReplaceOnlyScoreFilesAndOnlyWithForce() throws Exception {
        String[] score = {
            "score", "--model", model.toString(), "--corpus", "language:a=" + corpus, "--no-progress", "--out"
        };
        Path notes = Files.writeString(dir.resolve("notes.safetensors"), "not a score file");
        refused("use --force", concat(score, notes.toString()));
        refused("not a score file written by cusprun", concat(score, notes.toString(), "--force"));
        refused("is the input " + corpus, concat(score, corpus.toString(), "--force"));
        refused("inside the input", concat(score, model.resolve("s.safetensors").toString()));
        refused("empty path", concat(score, ""));
        refused("working directory", concat(score, ".", "--force"));
        Path folder = Files.createDirectories(dir.resolve("folder.safetensors"));
        refused("is a directory", concat(score, folder.toString(), "--force"));
        Path copy = Files.copy(scores, dir.resolve("copy.safetensors"));
        refused("use --force", concat(score, copy.toString()));
        CompareCommandTest.Run r = run(concat(score, copy.toString(), "--force"));
        assertEquals(0, r.code(), r.err());
        assertTrue(ScoreFile.isScoreFile(copy));

        refused(
                "is the input " + scores,
                "merge",
                scores.toString(),
                copy.toString(),
                "--out",
                scores.toString(),
                "--force");
        refused("use --force", "merge", scores.toString(), copy.toString(), "--out", notes.toString());
        refused("not a score file", "merge", scores.toString(), copy.toString(), "--out", notes.toString(), "--force");
        assertEquals("not a score file", Files.readString(notes));
    }

    @Test
    void compareAndDemoRefuseInputsAndForeignFolders() throws Exception {
        Path held =
                Files.writeString(dir.resolve("held.txt"), PlantedModel.text(PlantedModel.documents('a', 2, 4, 20, 2)));
        String[] compare = {
            "compare",
            "--model",
            model.toString(),
            "--corpus",
            "language:a=" + corpus,
            "--ratio",
            "0.3",
            "--method",
            "random",
            "--eval-expert",
            held.toString(),
            "--eval-general",
            held.toString()
        };
        refused("contains the input", concat(compare, "--report", dir.toString(), "--force"));
        refused("is the input", concat(compare, "--report", model.toString(), "--force"));
        Path foreign = Files.createDirectories(dir.resolve("photos"));
        Files.writeString(foreign.resolve("a.jpg"), "jpeg");
        refused("not a report written by cusprun", concat(compare, "--report", foreign.toString(), "--force"));
        refused("use --force", concat(compare, "--report", foreign.toString()));
        refused(
                "not a folder of pruned models",
                concat(compare, "--report", dir.resolve("r").toString(), "--keep", foreign.toString(), "--force"));
        refused(
                "inside the input " + dir.resolve("r") + " (--report)",
                concat(
                        compare,
                        "--report",
                        dir.resolve("r").toString(),
                        "--keep",
                        dir.resolve("r/kept").toString()));
        refused(
                "inside the input",
                "demo",
                "--data",
                dir.toString(),
                "--out",
                dir.resolve("models").toString(),
                "--force");
        refused(
                "inside the input",
                "demo",
                "--data",
                dir.toString(),
                "--out",
                dir.resolve("demo").toString());
        refused(
                "not a demo output folder",
                "demo",
                "--data",
                dir.resolve("data").toString(),
                "--out",
                foreign.toString(),
                "--force");
    }

    @Test
    void staleTemporariesOfKilledRunsAreRemovedWithANote() throws Exception {
        long dead = deadPid();
        Path out = dir.resolve("stale.safetensors");
        Path stale = Files.writeString(dir.resolve(".stale.safetensors.tmp-" + dead), "half");
        CompareCommandTest.Run r = run(
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + corpus,
                "--out",
                out.toString(),
                "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(stale));
        assertTrue(
                r.err().contains("removed " + stale + ", left by an interrupted run (process " + dead + ")"), r.err());

        Path model2 = dir.resolve("stale-model");
        Path staleDir = Files.createDirectories(dir.resolve(".stale-model.tmp-" + dead));
        Files.writeString(staleDir.resolve("model.safetensors"), "half");
        assertEquals(0, run(prune(model2)).code());
        assertFalse(Files.exists(staleDir));
    }

    /** The id of a process that has ended. */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        assertFalse(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive).orElse(false));
        return p.pid();
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
