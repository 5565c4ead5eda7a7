package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.cusprun.export.GgufReader;
import io.cusprun.testing.Fixtures;

/** {@code cusprun export}: writes the demo model as GGUF; usage errors exit 2, failures 1, nothing written. */
class ExportCommandTest {

    @TempDir
    Path tmp;

    @Test
    void exportsTheDemoModel() throws IOException {
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        Path out = tmp.resolve("sub/demo.gguf");
        assertEquals(Cli.OK, Main.run(new String[] {"export", "--model", demo.toString(), "--out", out.toString(),
                "--dtype", "q8_0"}));
        GgufReader g = GgufReader.open(out);
        assertEquals("llama", g.metadata().get("general.architecture").asString());
        assertTrue(g.tensors().containsKey("blk.5.ffn_down.weight"));
        assertFalse(g.tensors().containsKey("output.weight")); // tied
    }

    @Test
    void badUsageAndFailures() {
        Path out = tmp.resolve("x.gguf");
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        assertEquals(Cli.USAGE, Main.run(new String[] {"export", "--model", demo.toString(), "--out", out.toString(),
                "--dtype", "q4_0"}));
        assertEquals(Cli.USAGE, Main.run(new String[] {"export", "--model", demo.toString()}));
        assertEquals(Cli.FAILURE, Main.run(new String[] {"export", "--model", tmp.resolve("none").toString(),
                "--out", out.toString()}));
        assertFalse(Files.exists(out));
    }
}
