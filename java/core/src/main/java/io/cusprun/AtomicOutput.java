package io.cusprun;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one way output is written: into a temporary sibling {@code .NAME.tmp-PID}, forced to disk,
 * then renamed over the target; on failure the temporary is deleted and the target is untouched.
 */
public final class AtomicOutput {
    private AtomicOutput() {}

    /** Writes the contents of a file to an open channel. */
    @FunctionalInterface
    public interface FileBody {
        void write(FileChannel ch) throws IOException;
    }

    /** Fills a directory. */
    @FunctionalInterface
    public interface DirectoryBody {
        void write(Path dir) throws IOException;
    }

    /** The temporary sibling of {@code target}: {@code .NAME.tmp-PID} in the same directory. */
    public static Path temporary(Path target) {
        Path abs = target.toAbsolutePath().normalize();
        return abs.resolveSibling("." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    }

    /** Writes a file through {@code body}, forces it to disk and renames it over {@code target}. */
    public static void writeFile(Path target, FileBody body) throws IOException {
        Path tmp = temporary(target);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(false);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Writes {@code bytes} as the whole of {@code target}. */
    public static void writeBytes(Path target, byte[] bytes) throws IOException {
        writeFile(target, ch -> writeAll(ch, ByteBuffer.wrap(bytes)));
    }

    /** Writes {@code text} as UTF-8 as the whole of {@code target}. */
    public static void writeString(Path target, String text) throws IOException {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Builds a directory through {@code body} in the temporary sibling, then puts it at {@code
     * target}, replacing what was there (moved aside first, deleted once the new one is in place).
     */
    public static void writeDirectory(Path target, DirectoryBody body) throws IOException {
        Path out = target.toAbsolutePath().normalize();
        Files.createDirectories(out.getParent());
        Path tmp = temporary(out);
        FileTrees.delete(tmp);
        try {
            Files.createDirectories(tmp);
            body.write(tmp);
            Path old = null;
            if (Files.exists(out)) {
                old = out.resolveSibling("." + out.getFileName() + ".old-" + ProcessHandle.current().pid());
                FileTrees.delete(old);
                Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            }
            try {
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                if (old != null) {
                    Files.move(old, out, StandardCopyOption.ATOMIC_MOVE);
                }
                throw e;
            }
            if (old != null) {
                FileTrees.delete(old);
            }
        } catch (IOException | RuntimeException e) {
            FileTrees.delete(tmp);
            throw e;
        }
    }

    /** Writes all of {@code buf} to {@code ch}. */
    public static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
