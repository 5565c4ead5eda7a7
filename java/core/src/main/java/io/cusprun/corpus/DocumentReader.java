package io.cusprun.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads the documents of a corpus path, in a fixed order (files of a folder sorted by name):
 * {@code .txt} documents are separated by blank lines, {@code .jsonl} lines carry a {@code text} field.
 */
public final class DocumentReader {

    private DocumentReader() {}

    /** All documents, at most {@code limit} (limit &lt;= 0: no limit). */
    public static List<String> read(Path path, int limit) throws IOException {
        return read(path, limit, Integer.MAX_VALUE);
    }

    /**
     * All documents, at most {@code limit} (limit &lt;= 0: no limit), each cut to its first
     * {@code maxChars} characters: text documents are never held longer than that, whatever the
     * length of their lines. Files are read only until the limit is reached. Malformed UTF-8 is
     * an IOException naming the file and the byte offset.
     */
    public static List<String> read(Path path, int limit, int maxChars) throws IOException {
        if (maxChars < 1) throw new IllegalArgumentException("maxChars must be at least 1, not " + maxChars);
        List<String> docs = new ArrayList<>();
        for (Path file : files(path)) {
            if (limit > 0 && docs.size() >= limit) break;
            try {
                if (file.getFileName().toString().endsWith(".jsonl")) readJsonl(file, docs, limit, maxChars);
                else readText(file, docs, limit, maxChars);
            } catch (CharacterCodingException e) {
                throw new IOException(file + ": not valid UTF-8 at byte " + Utf8.firstMalformedByte(file));
            }
        }
        return docs;
    }

    static List<Path> files(Path path) throws IOException {
        if (!Files.exists(path)) throw new IOException("corpus path not found: " + path);
        if (!Files.isDirectory(path)) {
            checkExtension(path);
            return List.of(path);
        }
        try (Stream<Path> s = Files.list(path)) {
            List<Path> files = s.filter(Files::isRegularFile)
                    .filter(p -> isText(p) || isJsonl(p))
                    .sorted()
                    .toList();
            if (files.isEmpty()) throw new IOException("no .txt or .jsonl files in " + path);
            return files;
        }
    }

    private static void checkExtension(Path file) throws IOException {
        if (!isText(file) && !isJsonl(file)) {
            throw new IOException("corpus file must end in .txt or .jsonl: " + file);
        }
    }

    private static boolean isText(Path p) {
        return p.getFileName().toString().endsWith(".txt");
    }

    private static boolean isJsonl(Path p) {
        return p.getFileName().toString().endsWith(".jsonl");
    }

    private static BufferedReader open(Path file) throws IOException {
        io.cusprun.Inputs.regularFile(file); // a FIFO or a device would block or never end
        // a strict decoder: malformed input is an error (reported with its offset), never replaced
        return new BufferedReader(
                new InputStreamReader(
                        Files.newInputStream(file),
                        StandardCharsets.UTF_8
                                .newDecoder()
                                .onMalformedInput(CodingErrorAction.REPORT)
                                .onUnmappableCharacter(CodingErrorAction.REPORT)),
                1 << 16);
    }

    private static void readText(Path file, List<String> docs, int limit, int maxChars) throws IOException {
        StringBuilder doc = new StringBuilder();
        try (CappedLines in = new CappedLines(open(file), maxChars)) {
            String line;
            while ((line = in.next()) != null) {
                if (in.blank()) {
                    if (!flush(doc, docs, limit)) return;
                } else if (doc.length() < maxChars) {
                    if (doc.length() > 0) doc.append('\n');
                    doc.append(line, 0, Math.min(line.length(), maxChars - doc.length()));
                }
            }
        }
        flush(doc, docs, limit);
    }

    /** Adds the document being built, if any; false once the limit is reached. */
    private static boolean flush(StringBuilder doc, List<String> docs, int limit) {
        if (doc.length() > 0) {
            docs.add(doc.toString());
            doc.setLength(0);
        }
        return limit <= 0 || docs.size() < limit;
    }

    private static void readJsonl(Path file, List<String> docs, int limit, int maxChars) throws IOException {
        try (BufferedReader in = open(file)) {
            String line;
            int lineNo = 0;
            while ((limit <= 0 || docs.size() < limit) && (line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonNode text = Json.parseLine(line, file + ":" + lineNo).get("text");
                line = null; // the line is no longer needed
                if (text == null || !text.isTextual()) {
                    throw new IOException(file + ":" + lineNo + ": no string field \"text\"");
                }
                String t = text.asText();
                if (!t.isBlank()) docs.add(t.length() > maxChars ? t.substring(0, maxChars) : t);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Lines of a reader, each cut to its first {@code cap} characters without ever holding more
     * (the rest of a longer line is skipped); line ends as {@link BufferedReader#readLine}.
     */
    static final class CappedLines implements AutoCloseable {
        private final Reader in;
        private final int cap;
        private final char[] buf = new char[1 << 16];
        private int pos;
        private int end;
        private boolean blank;

        CappedLines(Reader in, int cap) {
            this.in = in;
            this.cap = cap;
        }

        /** The next line, cut to the cap, or null at the end. */
        String next() throws IOException {
            StringBuilder line = new StringBuilder();
            blank = true;
            boolean any = false;
            while (true) {
                if (pos == end) {
                    end = in.read(buf, 0, buf.length);
                    pos = 0;
                    if (end <= 0) {
                        end = 0;
                        return any ? line.toString() : null;
                    }
                }
                any = true;
                char c = buf[pos++];
                if (c == '\n') {
                    return line.toString();
                }
                if (c == '\r') {
                    if (pos == end) {
                        end = in.read(buf, 0, buf.length);
                        pos = 0;
                        if (end <= 0) {
                            end = 0;
                        }
                    }
                    if (pos < end && buf[pos] == '\n') pos++;
                    return line.toString();
                }
                if (blank && !Character.isWhitespace(c)) blank = false;
                if (line.length() < cap) line.append(c);
            }
        }

        /** Whether the whole of the last line (also beyond the cap) was blank. */
        boolean blank() {
            return blank;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
