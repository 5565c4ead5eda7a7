package io.cusprun.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.cusprun.model.TextTokenizer;

/** The documents of a JSONL corpus: one object per line with a string field {@code text}. */
public final class TextCorpus {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TextCorpus() {
    }

    /** The {@code text} of every non-blank line; errors are one line naming the file and line. */
    public static List<String> read(Path file) throws IOException {
        List<String> texts = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String s;
            int line = 0;
            while ((s = r.readLine()) != null) {
                line++;
                if (s.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(s);
                } catch (JsonProcessingException e) {
                    throw new IOException(file + ":" + line + ": not valid JSON: "
                            + e.getOriginalMessage().lines().findFirst().orElse(""));
                }
                JsonNode text = node.get("text");
                if (text == null || !text.isTextual() || text.asText().isEmpty()) {
                    throw new IOException(file + ":" + line + ": expected an object with a non-empty string \"text\"");
                }
                texts.add(text.asText());
            }
        }
        if (texts.isEmpty()) {
            throw new IOException(file + ": no documents");
        }
        return texts;
    }

    /** Each text encoded with BOS first (as the tokenizer says) and, when {@code eos} is given, EOS last. */
    public static List<long[]> tokenize(List<String> texts, TextTokenizer tokenizer, Long eos) {
        List<long[]> docs = new ArrayList<>(texts.size());
        for (String t : texts) {
            long[] ids = tokenizer.encode(t, true);
            if (eos != null) {
                ids = Arrays.copyOf(ids, ids.length + 1);
                ids[ids.length - 1] = eos;
            }
            docs.add(ids);
        }
        return docs;
    }
}
