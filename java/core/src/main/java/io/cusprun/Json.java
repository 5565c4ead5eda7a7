package io.cusprun;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;

/** The one way JSON is read: a malformed document is the one-line error "WHERE: not valid JSON: REASON". */
public final class Json {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** For data lines (corpus documents): strings of any length, not Jackson's default cap of 20M characters. */
    private static final ObjectMapper LINES = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .build());

    private Json() {}

    /** The JSON document in {@code file}. */
    public static JsonNode read(Path file) throws IOException {
        Inputs.regularFile(file);
        try {
            return JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": " + invalid(e));
        }
    }

    /** The JSON document in {@code file}, or an empty object when there is no such file (optional configs). */
    public static JsonNode readOptional(Path file) throws IOException {
        return java.nio.file.Files.exists(file) ? read(file) : JSON.createObjectNode();
    }

    /** The JSON document {@code text}; {@code where} names it in the error (a file, or FILE:LINE). */
    public static JsonNode parse(String text, String where) throws IOException {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(where + ": " + invalid(e));
        }
    }

    /** {@link #parse} for one line of data (JSONL), whose strings may be of any length. */
    public static JsonNode parseLine(String text, String where) throws IOException {
        try {
            return LINES.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IOException(where + ": " + invalid(e));
        }
    }

    /** "not valid JSON: " and the first line of the parser's reason. */
    public static String invalid(JsonProcessingException e) {
        String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        return "not valid JSON: " + m.lines().findFirst().orElse("");
    }
}
