package io.cusprun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The one check of an input path before it is opened: cusprun reads regular files and
 * directories only. A FIFO would block the read forever, a device ({@code /dev/zero},
 * {@code /dev/urandom}) never ends; both are refused up front with one line naming the path.
 */
public final class Inputs {
    private Inputs() {}

    /** {@code file}, which must be a regular file (symbolic links followed). */
    public static Path regularFile(Path file) throws IOException {
        BasicFileAttributes a = attributes(file);
        if (!a.isRegularFile()) {
            throw new IOException(file + ": not a regular file (" + kind(a) + ")");
        }
        return file;
    }

    /** {@code path}, which must be a regular file or a directory (symbolic links followed). */
    public static Path fileOrDirectory(Path path) throws IOException {
        BasicFileAttributes a = attributes(path);
        if (!a.isRegularFile() && !a.isDirectory()) {
            throw new IOException(path + ": not a regular file or directory (" + kind(a) + ")");
        }
        return path;
    }

    /**
     * {@code dir}, which must be a model directory: a directory holding a config.json. The one
     * check of a model directory, for every job and entry point (one-line IOException naming it).
     */
    public static Path modelDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("model directory not found: " + dir);
        }
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IOException("model directory has no config.json: " + dir);
        }
        return dir;
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(p.toString(), null, "no such file");
        }
    }

    /** What a path that is neither a file nor a directory is, in words. */
    private static String kind(BasicFileAttributes a) {
        if (a.isDirectory()) {
            return "a directory";
        }
        if (a.isSymbolicLink()) {
            return "a symbolic link";
        }
        return "a FIFO, device or socket";
    }
}
