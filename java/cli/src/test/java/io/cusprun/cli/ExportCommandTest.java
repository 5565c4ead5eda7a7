package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.export.GgufReader;
import io.cusprun.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cusprun export}: writes the demo model as GGUF; usage errors exit 2, failures 1, nothing written. */
class ExportCommandTest {

    @TempDir
    Path tmp;

    /** Runs {@code cusprun export ARGS}; an error is exactly one line. */
    private static int run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 1];
        all[0] = "export";
        System.arraycopy(args, 0, all, 1, args.length);
        int code = Main.run(all, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        if (code != Cli.OK) {
            assertEquals(1, err.toString().strip().lines().count(), err.toString());
        }
        return code;
    }

    @Test
    void exportsTheDemoModel() throws IOException {
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        Path out = tmp.resolve("sub/demo.gguf");
        assertEquals(Cli.OK, run("--model", demo.toString(), "--out", out.toString(), "--dtype", "q8_0"));
        GgufReader g = GgufReader.open(out);
        assertEquals("llama", g.metadata().get("general.architecture").asString());
        assertTrue(g.tensors().containsKey("blk.5.ffn_down.weight"));
        assertFalse(g.tensors().containsKey("output.weight")); // tied
    }

    @Test
    void badUsageAndFailures() {
        Path out = tmp.resolve("x.gguf");
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        assertEquals(Cli.USAGE, run("--model", demo.toString(), "--out", out.toString(), "--dtype", "q4_0"));
        assertEquals(Cli.USAGE, run("--model", demo.toString()));
        assertEquals(Cli.FAILURE, run("--model", tmp.resolve("none").toString(), "--out", out.toString()));
        assertFalse(Files.exists(out));
    }

    @Test
    void replacesOnlyItsOwnOutputAndOnlyWithForce() throws IOException {
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        Path out = tmp.resolve("demo.gguf");
        assertEquals(Cli.OK, run("--model", demo.toString(), "--out", out.toString(), "--dtype", "q8_0"));
        long size = Files.size(out);
        assertEquals(Cli.USAGE, run("--model", demo.toString(), "--out", out.toString(), "--dtype", "f16"));
        assertEquals(size, Files.size(out), "refused without --force, left as it was");
        assertEquals(Cli.OK, run("--model", demo.toString(), "--out", out.toString(), "--dtype", "f16", "--force"));
        assertTrue(Files.size(out) > size, "replaced by the f16 export");

        Path notOurs = tmp.resolve("notes.gguf");
        Files.writeString(notOurs, "a user's file");
        assertEquals(Cli.USAGE, run("--model", demo.toString(), "--out", notOurs.toString(), "--force"));
        assertEquals("a user's file", Files.readString(notOurs));
        assertEquals(
                Cli.USAGE,
                run("--model", demo.toString(), "--out", demo.resolve("x.gguf").toString()));
        assertFalse(Files.exists(demo.resolve("x.gguf")), "never writes into an input");
    }
}
