package io.cusprun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Output appears whole or not at all, and no temporary is left behind. */
class AtomicOutputTest {
    @TempDir
    Path dir;

    @Test
    void aFileIsReplacedWholeAndAFailureLeavesTheOldOne() throws IOException {
        Path file = dir.resolve("out.json");
        AtomicOutput.writeString(file, "old");
        assertEquals(
                ".out.json.tmp-" + ProcessHandle.current().pid(),
                AtomicOutput.temporary(file).getFileName().toString());
        assertThrows(
                IOException.class,
                () -> AtomicOutput.writeFile(file, ch -> {
                    AtomicOutput.writeAll(ch, java.nio.ByteBuffer.wrap("half".getBytes()));
                    throw new IOException("disk full");
                }));
        assertEquals("old", Files.readString(file));
        AtomicOutput.writeString(file, "new");
        assertEquals("new", Files.readString(file));
        assertOnly(dir, "out.json");
    }

    @Test
    void aDirectoryIsReplacedWholeAndAFailureLeavesTheOldOne() throws IOException {
        Path out = dir.resolve("model");
        AtomicOutput.writeDirectory(out, d -> Files.writeString(d.resolve("a"), "1"));
        assertThrows(
                IllegalStateException.class,
                () -> AtomicOutput.writeDirectory(out, d -> {
                    Files.writeString(d.resolve("b"), "2");
                    throw new IllegalStateException("bad plan");
                }));
        assertOnly(out, "a");
        AtomicOutput.writeDirectory(out, d -> Files.writeString(d.resolve("c"), "3"));
        assertOnly(out, "c");
        assertOnly(dir, "model");
    }

    private static void assertOnly(Path dir, String name) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(
                    java.util.List.of(name),
                    s.map(p -> p.getFileName().toString()).toList());
        }
        assertFalse(Files.exists(AtomicOutput.temporary(dir.resolve(name))));
    }
}
