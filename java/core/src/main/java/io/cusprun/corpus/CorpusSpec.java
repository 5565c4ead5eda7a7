package io.cusprun.corpus;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A corpus named on the command line as {@code KIND:NAME=PATH}.
 *
 * @param kind language, domain or task
 * @param name a short name (letters, digits, '-', '_', '.'); it prefixes the corpus' tensors in score files
 * @param path a .txt file (documents separated by blank lines), a .jsonl file (field "text") or a folder of such files
 */
public record CorpusSpec(CorpusKind kind, String name, Path path) {

    public CorpusSpec {
        if (!name.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("bad corpus name '" + name + "' (letters, digits, '-', '_', '.')");
        }
    }

    /** Parses {@code KIND:NAME=PATH}; throws IllegalArgumentException with a one-line message. */
    public static CorpusSpec parse(String text) {
        int colon = text.indexOf(':');
        int eq = text.indexOf('=');
        if (colon <= 0 || eq < colon + 2 || eq == text.length() - 1) {
            throw new IllegalArgumentException("bad corpus '" + text + "' (expected KIND:NAME=PATH)");
        }
        CorpusKind kind = CorpusKind.parse(text.substring(0, colon));
        return new CorpusSpec(kind, text.substring(colon + 1, eq), Path.of(text.substring(eq + 1)));
    }

    /** Throws NoSuchFileException (a failure, not a usage error) when the path does not exist. */
    public CorpusSpec checkExists() throws java.io.IOException {
        if (!Files.exists(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "corpus " + name + ": path not found");
        }
        try {
            io.cusprun.Inputs.fileOrDirectory(path);
        } catch (java.io.IOException e) {
            throw new java.io.IOException("corpus " + name + ": " + e.getMessage(), e);
        }
        return this;
    }

    @Override
    public String toString() {
        return kind.label() + ":" + name + "=" + path;
    }
}
