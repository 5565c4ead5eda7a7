package io.cusprun.eval;

import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Readers for the evaluation inputs; errors are one line naming the file and line. */
public final class EvalData {

    private EvalData() {}

    /** Pre-tokenised documents: one JSON array of token ids per line (blank lines skipped). */
    public static List<long[]> readIds(Path file, int vocabSize) throws IOException {
        List<long[]> docs = new ArrayList<>();
        forEachLine(file, (line, node) -> {
            if (!node.isArray()) {
                throw new IOException(file + ":" + line + ": expected a JSON array of token ids");
            }
            long[] ids = new long[node.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode v = node.get(i);
                if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() >= vocabSize) {
                    throw new IOException(
                            file + ":" + line + ": token " + v + " is not an id in [0, " + vocabSize + ")");
                }
                ids[i] = v.asLong();
            }
            docs.add(ids);
        });
        return docs;
    }

    /** Multiple-choice items: {"context": str, "choices": [str, ...], "answer": int[, "delimiter": str]}. */
    public static List<McItem> readMultipleChoice(Path file) throws IOException {
        List<McItem> items = new ArrayList<>();
        forEachLine(file, (line, node) -> {
            JsonNode ctx = node.get("context");
            JsonNode choices = node.get("choices");
            JsonNode answer = node.get("answer");
            if (ctx == null
                    || !ctx.isTextual()
                    || choices == null
                    || !choices.isArray()
                    || answer == null
                    || !answer.isIntegralNumber()) {
                throw new IOException(file + ":" + line
                        + ": expected {\"context\": string, \"choices\": [strings], \"answer\": index}");
            }
            List<String> cs = new ArrayList<>();
            for (JsonNode c : choices) {
                if (!c.isTextual() || c.asText().isEmpty()) {
                    throw new IOException(file + ":" + line + ": choices must be non-empty strings");
                }
                cs.add(c.asText());
            }
            String delimiter =
                    node.hasNonNull("delimiter") ? node.get("delimiter").asText() : " ";
            try {
                items.add(new McItem(ctx.asText(), cs, answer.asInt(), delimiter));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ":" + line + ": " + e.getMessage());
            }
        });
        return items;
    }

    @FunctionalInterface
    private interface LineHandler {
        void accept(int line, JsonNode node) throws IOException;
    }

    private static void forEachLine(Path file, LineHandler handler) throws IOException {
        io.cusprun.Inputs.regularFile(file);
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String s;
            int line = 0;
            while ((s = r.readLine()) != null) {
                line++;
                if (s.isBlank()) {
                    continue;
                }
                handler.accept(line, Json.parseLine(s, file + ":" + line));
            }
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(
                    file + ": not valid UTF-8 at byte " + io.cusprun.corpus.Utf8.firstMalformedByte(file));
        }
    }
}
