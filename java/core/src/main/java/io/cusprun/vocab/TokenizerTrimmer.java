package io.cusprun.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.Json;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a model directory's tokenizer files for a {@link VocabularyTrim}: tokenizer.json with the
 * vocabulary renumbered densely, the merges restricted to kept tokens (in their order), added
 * tokens, the post-processor's and the padding's ids remapped; tokenizer_config.json's
 * {@code added_tokens_decoder} keys and generation_config.json's and config.json's
 * {@code *_token_id} remapped (config.json also gets the new {@code vocab_size}).
 * special_tokens_map.json and a chat template are copied (they name tokens by their text).
 * Slow-tokenizer files (tokenizer.model, vocab.json, merges.txt, *.tiktoken) are not written:
 * they would describe the source vocabulary, and every loader reads tokenizer.json first.
 */
public final class TokenizerTrimmer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerTrimmer() {}

    /** Writes the trimmed tokenizer files of {@code sourceDir} into {@code outDir}. */
    public static void write(Path sourceDir, VocabularyTrim trim, Path outDir) throws IOException {
        Path tokFile = sourceDir.resolve(TextTokenizer.FILE_NAME);
        TokenizerVocabulary vocab = TokenizerVocabulary.read(tokFile);
        writeJson(outDir.resolve(TextTokenizer.FILE_NAME), tokenizerJson(vocab, trim));
        Path tokConfig = sourceDir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(tokConfig)) {
            writeJson(outDir.resolve(tokConfig.getFileName()), tokenizerConfig(Json.read(tokConfig), trim));
        }
        Path gen = sourceDir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            ObjectNode g = (ObjectNode) Json.read(gen).deepCopy();
            remapTokenIds(g, trim, gen);
            writeJson(outDir.resolve(gen.getFileName()), g);
        }
        try (Stream<Path> files = Files.list(sourceDir)) {
            for (Path f : files.sorted(Comparator.naturalOrder()).toList()) {
                String n = f.getFileName().toString();
                if ((n.equals("special_tokens_map.json") || n.equals("chat_template.jinja"))
                        && Files.isRegularFile(f)) {
                    Files.copy(f, outDir.resolve(n));
                }
            }
        }
    }

    /** config.json of the trimmed model: {@code vocab_size} and the token ids. */
    public static void remapConfig(ObjectNode config, VocabularyTrim trim, Path where) throws IOException {
        config.put("vocab_size", trim.size());
        remapTokenIds(config, trim, where);
    }

    static ObjectNode tokenizerJson(TokenizerVocabulary vocab, VocabularyTrim trim) throws IOException {
        ObjectNode out = vocab.json().deepCopy();
        Path where = vocab.file();
        for (JsonNode t : out.path("added_tokens")) {
            ((ObjectNode) t).put("id", mapped(trim, t.path("id").asInt(), where, "added token"));
        }
        ObjectNode model = (ObjectNode) out.get("model");
        ObjectNode oldVocab = (ObjectNode) model.get("vocab");
        ObjectNode newVocab = JSON.createObjectNode();
        for (int id : trim.kept()) {
            String token = vocab.token(id);
            if (token != null && oldVocab.has(token) && oldVocab.get(token).asInt() == id) {
                newVocab.put(token, trim.newId(id));
            }
        }
        model.set("vocab", newVocab);
        if (model.has("merges")) {
            ArrayNode oldMerges = (ArrayNode) model.get("merges");
            ArrayNode merges = model.putArray("merges");
            List<TokenizerVocabulary.Merge> parsed = vocab.merges();
            for (int r = 0; r < parsed.size(); r++) {
                TokenizerVocabulary.Merge m = parsed.get(r);
                if (trim.newId(m.result()) >= 0 && trim.newId(m.left()) >= 0 && trim.newId(m.right()) >= 0) {
                    merges.add(oldMerges.get(r));
                }
            }
        }
        remapPostProcessor(out.path("post_processor"), trim, where);
        JsonNode padding = out.path("padding");
        if (padding.isObject() && padding.has("pad_id")) {
            ((ObjectNode) padding)
                    .put("pad_id", mapped(trim, padding.get("pad_id").asInt(), where, "padding pad_id"));
        }
        return out;
    }

    /** TemplateProcessing's special-token ids, Roberta/Bert's [token, id] pairs, inside a Sequence too. */
    private static void remapPostProcessor(JsonNode pp, VocabularyTrim trim, Path where) throws IOException {
        if (!pp.isObject()) {
            return;
        }
        for (JsonNode p : pp.path("processors")) {
            remapPostProcessor(p, trim, where);
        }
        for (JsonNode special : pp.path("special_tokens")) {
            JsonNode ids = special.path("ids");
            if (ids.isArray()) {
                for (int i = 0; i < ids.size(); i++) {
                    ((ArrayNode) ids)
                            .set(i, IntNode.valueOf(mapped(trim, ids.get(i).asInt(), where, "post-processor id")));
                }
            }
        }
        for (String key : List.of("sep", "cls")) {
            JsonNode pair = pp.path(key);
            if (pair.isArray() && pair.size() == 2) {
                ((ArrayNode) pair)
                        .set(1, IntNode.valueOf(mapped(trim, pair.get(1).asInt(), where, "post-processor " + key)));
            }
        }
    }

    static ObjectNode tokenizerConfig(JsonNode source, VocabularyTrim trim) throws IOException {
        ObjectNode out = source.deepCopy();
        JsonNode decoder = source.path("added_tokens_decoder");
        if (decoder.isObject()) {
            ObjectNode remapped = out.putObject("added_tokens_decoder");
            for (var it = decoder.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                int id;
                try {
                    id = Integer.parseInt(e.getKey());
                } catch (NumberFormatException ex) {
                    throw new IOException(
                            "tokenizer_config.json: added_tokens_decoder key '" + e.getKey() + "' is not a token id");
                }
                int n = trim.newId(id);
                if (n >= 0) {
                    remapped.set(Integer.toString(n), e.getValue());
                }
            }
        }
        return out;
    }

    /** Every {@code *_token_id} field (a number or an array of numbers) of a config, remapped. */
    static void remapTokenIds(ObjectNode json, VocabularyTrim trim, Path where) throws IOException {
        for (var it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().endsWith("_token_id")) {
                continue;
            }
            JsonNode v = e.getValue();
            if (v.isIntegralNumber()) {
                e.setValue(IntNode.valueOf(mappedConfigId(trim, v.asInt(), where, e.getKey())));
            } else if (v.isArray()) {
                ArrayNode a = (ArrayNode) v;
                for (int i = 0; i < a.size(); i++) {
                    if (a.get(i).isIntegralNumber()) {
                        a.set(i, IntNode.valueOf(mappedConfigId(trim, a.get(i).asInt(), where, e.getKey())));
                    }
                }
            }
        }
    }

    /** A config id outside the vocabulary (-1 for none, say) stays as it is. */
    private static int mappedConfigId(VocabularyTrim trim, int id, Path where, String what) throws IOException {
        return id < 0 || id >= trim.sourceSize() ? id : mapped(trim, id, where, what);
    }

    private static int mapped(VocabularyTrim trim, int id, Path where, String what) throws IOException {
        int n = trim.newId(id);
        if (n < 0) {
            throw new IOException(where + ": " + what + " " + id + " is not among the kept tokens");
        }
        return n;
    }

    static void writeJson(Path file, JsonNode json) throws IOException {
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    }
}
