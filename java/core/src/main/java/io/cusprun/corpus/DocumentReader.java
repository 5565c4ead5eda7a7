package io.cusprun.corpus;

import io.cusprun.Json;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
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
        List<String> docs = new ArrayList<>();
        for (Path file : files(path)) {
            if (limit > 0 && docs.size() >= limit) break;
            if (file.getFileName().toString().endsWith(".jsonl")) readJsonl(file, docs, limit);
            else readText(file, docs, limit);
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

    private static void readText(Path file, List<String> docs, int limit) throws IOException {
        StringBuilder doc = new StringBuilder();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    if (!flush(doc, docs, limit)) return;
                } else {
                    if (doc.length() > 0) doc.append('\n');
                    doc.append(line);
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

    private static void readJsonl(Path file, List<String> docs, int limit) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null && (limit <= 0 || docs.size() < limit)) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonNode text = Json.parse(line, file + ":" + lineNo).get("text");
                if (text == null || !text.isTextual()) {
                    throw new IOException(file + ":" + lineNo + ": no string field \"text\"");
                }
                if (!text.asText().isBlank()) docs.add(text.asText());
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
