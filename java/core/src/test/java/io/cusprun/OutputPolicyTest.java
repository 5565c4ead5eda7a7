package io.cusprun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The output policy's rules, through its check function only: the working directory and its
 * ancestors are never handed to a writer here.
 */
class OutputPolicyTest {
    @TempDir
    Path dir;

    /** Ours: a directory holding a file named "mine". */
    static final OutputPolicy.Kind DIR = OutputPolicy.Kind.directory("thing", d -> Files.exists(d.resolve("mine")));

    static final OutputPolicy.Kind FILE =
            OutputPolicy.Kind.file("thing file", f -> Files.readString(f).startsWith("mine"));

    static String refused(Path out, OutputPolicy.Kind kind, boolean force, Map<Path, String> inputs) {
        return assertThrows(
                        OutputPolicy.RefusedException.class,
                        () -> OutputPolicy.check(out, "--out", kind, force, inputs, null))
                .getMessage();
    }

    @Test
    void neverTheWorkingDirectoryItsAncestorsTheRootOrHome() {
        Path cwd = Path.of("").toAbsolutePath();
        for (boolean force : new boolean[] {false, true}) {
            assertTrue(refused(Path.of(""), DIR, force, Map.of()).contains("empty path"));
            assertTrue(refused(Path.of("."), DIR, force, Map.of()).contains("working directory"));
            assertTrue(refused(cwd, DIR, force, Map.of()).contains("it is the working directory"));
            assertTrue(refused(cwd.getParent(), DIR, force, Map.of()).contains("contains the working directory"));
            assertTrue(refused(Path.of(".."), FILE, force, Map.of()).contains("contains the working directory"));
            assertTrue(refused(cwd.getRoot(), DIR, force, Map.of()).contains("root"));
            assertTrue(refused(Path.of(System.getProperty("user.home")), DIR, force, Map.of())
                    .contains("home"));
        }
        assertEquals("it is the working directory", OutputPolicy.protectedReason(cwd.resolve("x/..")));
        assertNull(OutputPolicy.protectedReason(dir.resolve("x")));
    }

    @Test
    void neverAnInputNorWhatHoldsOneNorWhatIsInsideOne() throws IOException {
        Path model = Files.createDirectories(dir.resolve("models/src"));
        Files.writeString(model.resolve("config.json"), "{}");
        Path corpus = Files.writeString(dir.resolve("c.txt"), "text");
        Map<Path, String> inputs = Map.of(model, "--model", corpus, "--corpus");
        String m = refused(model, DIR, true, inputs);
        assertTrue(m.startsWith("--out " + model + ": not written: it is the input"), m);
        assertTrue(m.contains("(--model)"), m);
        assertTrue(refused(dir.resolve("models"), DIR, true, inputs).contains("contains the input"));
        assertTrue(refused(model.resolve("../src/./"), DIR, true, inputs).contains("is the input"));
        assertTrue(refused(model.resolve("pruned"), DIR, true, inputs).contains("inside the input"));
        assertTrue(refused(corpus, FILE, true, inputs).contains("is the input"));
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, model);
        assertTrue(refused(link, DIR, true, inputs).contains("is the input"), "links are followed");
        assertTrue(Files.exists(model.resolve("config.json")));
        assertEquals(dir.resolve("new"), OutputPolicy.check(dir.resolve("new"), "--out", DIR, false, inputs, null));
    }

    @Test
    void anExistingOutputIsReplacedOnlyWithForceAndOnlyWhenOursOrEmpty() throws IOException {
        Path ours = Files.createDirectories(dir.resolve("ours"));
        Files.writeString(ours.resolve("mine"), "");
        Path foreign = Files.createDirectories(dir.resolve("foreign"));
        Files.writeString(foreign.resolve("thesis.tex"), "years of work");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(refused(ours, DIR, false, Map.of())
                .contains("exists (not replaced unless asked to: ExistingOutput.REPLACE)"));
        assertTrue(refused(empty, DIR, false, Map.of())
                .contains("exists (not replaced unless asked to: ExistingOutput.REPLACE)"));
        assertEquals(ours, OutputPolicy.check(ours, "--out", DIR, true, Map.of(), null));
        assertEquals(empty, OutputPolicy.check(empty, "--out", DIR, true, Map.of(), null));
        assertTrue(refused(foreign, DIR, true, Map.of()).contains("not a thing written by cusprun"));

        Path mine = Files.writeString(dir.resolve("a.bin"), "mine!");
        Path theirs = Files.writeString(dir.resolve("b.bin"), "theirs");
        assertEquals(mine, OutputPolicy.check(mine, "--out", FILE, true, Map.of(), null));
        assertTrue(refused(theirs, FILE, true, Map.of()).contains("not a thing file written by cusprun"));
        assertTrue(refused(empty, FILE, true, Map.of()).contains("is a directory"));
        assertTrue(refused(theirs, DIR, true, Map.of()).contains("not a thing written by cusprun"));
        assertEquals("years of work", Files.readString(foreign.resolve("thesis.tex")));
    }

    @Test
    void staleTemporariesOfDeadProcessesAreRemovedAndAMovedAsideOutputPutBack() throws Exception {
        long dead = deadPid();
        long live = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);
        Path out = dir.resolve("model");
        Path staleDir = Files.createDirectories(dir.resolve(".model.tmp-" + dead));
        Files.writeString(staleDir.resolve("model.safetensors"), "half");
        Path staleFile = Files.writeString(dir.resolve(".model.partial.tmp-" + dead), "half");
        Path aside = Files.createDirectories(dir.resolve(".model.old-" + dead));
        Files.writeString(aside.resolve("mine"), "the previous output");
        Path running = Files.createDirectories(dir.resolve(".model.tmp-" + live));
        Path other = Files.writeString(dir.resolve(".other.tmp-" + dead), "not ours to judge");
        List<String> notes = new ArrayList<>();
        OutputPolicy.check(out, "--out", DIR, false, Map.of(), notes::add);
        assertFalse(Files.exists(staleDir));
        assertFalse(Files.exists(staleFile));
        assertEquals("the previous output", Files.readString(out.resolve("mine")), "put back, not deleted");
        assertTrue(Files.exists(running), "a live process's temporary stays");
        assertTrue(Files.exists(other), "another output's temporary stays");
        assertEquals(3, notes.size(), notes.toString());
        assertTrue(
                notes.stream().allMatch(n -> n.contains("interrupted run (process " + dead + ")")), notes.toString());
    }

    @Test
    void scratchDirectoriesOfDeadProcessesAreRemoved() throws Exception {
        Path tmpRoot = Path.of(System.getProperty("java.io.tmpdir"));
        Path stale = Files.createDirectories(tmpRoot.resolve("cusprun-policytest-" + deadPid() + "-x"));
        Files.writeString(stale.resolve("model.safetensors"), "left");
        List<String> notes = new ArrayList<>();
        Path fresh = AtomicOutput.scratchDirectory("cusprun-policytest", notes::add);
        try {
            assertFalse(Files.exists(stale));
            assertEquals(1, notes.size(), notes.toString());
            assertTrue(fresh.getFileName()
                    .toString()
                    .startsWith("cusprun-policytest-" + ProcessHandle.current().pid() + "-"));
        } finally {
            AtomicOutput.release(fresh);
        }
        assertFalse(Files.exists(fresh));
    }

    /** The id of a process that has ended. */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long pid = p.pid();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        return pid;
    }
}
