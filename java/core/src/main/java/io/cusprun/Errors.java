package io.cusprun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** One-line descriptions of failures, shared by every front end (CLI, trainer, tools). */
public final class Errors {
    private Errors() {}

    /** The first line of an exception's message (the cause's, for an UncheckedIOException). */
    public static String firstLine(Throwable e) {
        Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        if (t instanceof IOException io) {
            return describe(io);
        }
        String m = t.getMessage() == null || t.getMessage().isBlank()
                ? t.getClass().getSimpleName()
                : t.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** One line describing an I/O failure, naming the file. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException n && n.getReason() == null) {
            return n.getFile() + ": no such file";
        }
        if (e instanceof AccessDeniedException a && a.getReason() == null) {
            return a.getFile() + ": permission denied";
        }
        String m = e.getMessage() == null || e.getMessage().isBlank()
                ? e.getClass().getSimpleName()
                : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }
}
