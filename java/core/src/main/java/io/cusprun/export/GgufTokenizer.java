package io.cusprun.export;

import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A model directory's HF tokenizer (tokenizer.json, tokenizer_config.json, config.json) as GGUF
 * {@code tokenizer.ggml.*} metadata, following llama.cpp's convert_hf_to_gguf.py:
 *
 * <ul>
 * <li>byte-level BPE (GPT-2, Llama 3, Qwen2 and the demo model): model {@code gpt2}, the tokens,
 *     their types, the merges as "a b" strings and the pre-tokenizer name ({@code gpt-2} for
 *     ByteLevel's own regex, {@code llama-bpe} for Llama 3's split regex, {@code qwen2} for
 *     Qwen2's); any other pre-tokenizer is refused, since llama.cpp would split text differently;</li>
 * <li>SentencePiece-style vocabularies (Llama 2, Mistral): tokenizer.json BPE with byte_fallback,
 *     or Unigram: model {@code llama} with tokens, scores and types (byte tokens {@code <0xXX>}
 *     are BYTE; all 256 must exist, as in every real SentencePiece vocabulary, since llama.cpp
 *     aborts on text it cannot spell otherwise). BPE merges become scores (the token made by merge r scores -r), which makes
 *     llama.cpp's score-driven merging follow the merge order.</li>
 * </ul>
 *
 * Ids the tokenizer does not define up to the embedding size become {@code [PADi]} (UNUSED).
 * BOS/EOS/UNK/PAD ids and add_bos_token/add_eos_token are always written.
 */
public final class GgufTokenizer {

    /** llama.cpp's token types (llama.h {@code enum llama_token_type}). */
    public static final int NORMAL = 1;

    public static final int UNKNOWN = 2;
    public static final int CONTROL = 3;
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    public static final int BYTE = 6;

    static final String LLAMA3_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    private GgufTokenizer() {}

    /** Adds the tokenizer metadata of {@code dir} to {@code meta}; throws IllegalArgumentException with a one-line reason. */
    public static void addTo(GgufMetadata meta, Path dir, ModelConfig config) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no tokenizer.json (llama.cpp needs the vocabulary in the file)");
        }
        JsonNode tok = Json.read(file);
        JsonNode tokConfig = Json.readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode model = tok.path("model");
        String type = model.path("type").asText("");
        int n = config.vocabSize();
        String[] tokens = new String[n];
        int[] types = new int[n];
        Map<String, Integer> ids = new HashMap<>();
        JsonNode vocab = model.path("vocab");
        if (type.equals("Unigram")) {
            if (!vocab.isArray()) {
                throw new IllegalArgumentException("tokenizer.json: Unigram vocab is not an array");
            }
            for (int i = 0; i < vocab.size(); i++) {
                set(tokens, ids, i, vocab.get(i).get(0).asText());
            }
        } else if (vocab.isObject()) {
            vocab.fields().forEachRemaining(e -> set(tokens, ids, e.getValue().asInt(), e.getKey()));
        } else {
            throw new IllegalArgumentException("tokenizer.json: model type '" + type + "' has no vocab object");
        }
        Map<Integer, Boolean> added = new HashMap<>();
        for (JsonNode t : tok.path("added_tokens")) {
            int id = t.path("id").asInt();
            set(tokens, ids, id, t.path("content").asText());
            added.put(id, t.path("special").asBoolean(false));
        }
        float[] scores = null;
        List<String> merges = null;
        String ggmlModel;
        String pre = null;
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        if (type.equals("BPE") && !byteFallback) {
            ggmlModel = "gpt2";
            pre = preTokenizer(tok.path("pre_tokenizer"));
            merges = new ArrayList<>();
            for (JsonNode m : model.path("merges")) {
                merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
            }
        } else if (type.equals("BPE") || type.equals("Unigram")) {
            ggmlModel = "llama";
            scores = new float[n];
            if (type.equals("Unigram")) {
                for (int i = 0; i < vocab.size() && i < n; i++) {
                    scores[i] = (float) vocab.get(i).get(1).asDouble();
                }
            } else {
                int r = 0;
                for (JsonNode m : model.path("merges")) {
                    String merged = m.isArray()
                            ? m.get(0).asText() + m.get(1).asText()
                            : m.asText().replace(" ", "");
                    Integer id = ids.get(merged);
                    if (id != null && id < n && scores[id] == 0) {
                        scores[id] = -(r + 1);
                    }
                    r++;
                }
            }
        } else {
            throw new IllegalArgumentException("tokenizer.json: model type '" + type
                    + "' has no llama.cpp equivalent (byte-level BPE, SentencePiece-style BPE or Unigram)");
        }
        if (ggmlModel.equals("llama")) {
            for (int b = 0; b < 256; b++) {
                String bt = String.format("<0x%02X>", b);
                if (!ids.containsKey(bt)) {
                    throw new IllegalArgumentException(
                            "tokenizer.json: SentencePiece-style vocabulary without the byte" + " token " + bt
                                    + " (llama.cpp aborts on text it cannot spell without all 256 byte tokens)");
                }
            }
        }
        for (int i = 0; i < n; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
            } else if (added.containsKey(i)) {
                types[i] = added.get(i) ? CONTROL : USER_DEFINED;
            } else if (ggmlModel.equals("llama")
                    && BYTE_TOKEN.matcher(tokens[i]).matches()) {
                types[i] = BYTE;
            } else {
                types[i] = NORMAL;
            }
        }
        Long unk = null;
        if (model.hasNonNull("unk_token")) {
            unk = id(ids, model.get("unk_token").asText());
        } else if (model.hasNonNull("unk_id")) {
            unk = model.get("unk_id").asLong();
        }
        if (unk != null && ggmlModel.equals("llama") && types[unk.intValue()] == NORMAL) {
            types[unk.intValue()] = UNKNOWN;
        }
        meta.putString("tokenizer.ggml.model", ggmlModel);
        if (pre != null) {
            meta.putString("tokenizer.ggml.pre", pre);
        }
        meta.putArray("tokenizer.ggml.tokens", GgufMetadata.STRING, Arrays.asList(tokens));
        if (scores != null) {
            Float[] boxed = new Float[n];
            for (int i = 0; i < n; i++) {
                boxed[i] = scores[i];
            }
            meta.putArray("tokenizer.ggml.scores", GgufMetadata.FLOAT32, Arrays.asList(boxed));
        }
        meta.putInt32Array("tokenizer.ggml.token_type", types);
        if (merges != null) {
            meta.putArray("tokenizer.ggml.merges", GgufMetadata.STRING, merges);
        }
        Long bos = special(tokConfig.get("bos_token"), ids);
        Long templateBos = templateFirstSpecial(tok.path("post_processor"), ids);
        if (bos == null) {
            bos = templateBos != null ? templateBos : config.bosTokenId();
        }
        Long eos = special(tokConfig.get("eos_token"), ids);
        if (eos == null && !config.eosTokenIds().isEmpty()) {
            eos = config.eosTokenIds().get(0);
        }
        Long pad = special(tokConfig.get("pad_token"), ids);
        if (pad == null && config.raw().hasNonNull("pad_token_id")) {
            pad = config.raw().get("pad_token_id").asLong();
        }
        Long unkConfig = special(tokConfig.get("unk_token"), ids);
        if (unkConfig != null) {
            unk = unkConfig;
        }
        boolean addBos =
                tokConfig.has("add_bos_token") ? tokConfig.get("add_bos_token").asBoolean() : templateBos != null;
        boolean addEos = tokConfig.path("add_eos_token").asBoolean(false);
        if (addBos && bos == null) {
            throw new IllegalArgumentException("the tokenizer adds BOS but no BOS token id is known");
        }
        putId(meta, "tokenizer.ggml.bos_token_id", bos, n);
        putId(meta, "tokenizer.ggml.eos_token_id", eos, n);
        putId(meta, "tokenizer.ggml.unknown_token_id", unk, n);
        putId(meta, "tokenizer.ggml.padding_token_id", pad, n);
        meta.putBool("tokenizer.ggml.add_bos_token", addBos);
        meta.putBool("tokenizer.ggml.add_eos_token", addEos);
    }

    private static void set(String[] tokens, Map<String, Integer> ids, int id, String text) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("tokenizer.json: token id " + id + " ('" + text
                    + "') is outside the embedding's " + tokens.length + " rows");
        }
        tokens[id] = text;
        ids.put(text, id);
    }

    private static void putId(GgufMetadata meta, String key, Long id, int n) {
        if (id != null && id >= 0 && id < n) {
            meta.putU32(key, id);
        }
    }

    private static Long id(Map<String, Integer> ids, String text) {
        Integer i = ids.get(text);
        return i == null ? null : i.longValue();
    }

    private static Long special(JsonNode token, Map<String, Integer> ids) {
        if (token == null || token.isNull()) {
            return null;
        }
        String content =
                token.isTextual() ? token.asText() : token.path("content").asText(null);
        return content == null ? null : id(ids, content);
    }

    /** The id of the special token the post-processor's template starts with (its own ids first), or null. */
    private static Long templateFirstSpecial(JsonNode pp, Map<String, Integer> ids) {
        Map.Entry<String, JsonNode> t = TextTokenizer.templateFirstSpecial(pp);
        if (t == null) {
            return null;
        }
        JsonNode idsNode = t.getValue().path("special_tokens").path(t.getKey()).path("ids");
        return idsNode.isArray() && idsNode.size() == 1 ? idsNode.get(0).asLong() : id(ids, t.getKey());
    }

    /**
     * The llama.cpp pre-tokenizer name of a byte-level BPE pre_tokenizer: {@code gpt-2} for a lone
     * ByteLevel with its regex, {@code llama-bpe} / {@code qwen2} for a Split by the Llama 3 / Qwen2
     * regex followed by a ByteLevel without regex.
     */
    static String preTokenizer(JsonNode pre) {
        String t = pre.path("type").asText("");
        if (t.equals("ByteLevel") && pre.path("use_regex").asBoolean(true)) {
            if (pre.path("add_prefix_space").asBoolean(false)) {
                throw new IllegalArgumentException("tokenizer.json: ByteLevel pre-tokenizer with add_prefix_space"
                        + " has no llama.cpp equivalent");
            }
            return "gpt-2";
        }
        if (t.equals("Sequence")) {
            JsonNode ps = pre.path("pretokenizers");
            if (ps.size() == 1) {
                return preTokenizer(ps.get(0));
            }
            if (ps.size() == 2
                    && ps.get(0).path("type").asText().equals("Split")
                    && ps.get(1).path("type").asText().equals("ByteLevel")
                    && !ps.get(1).path("use_regex").asBoolean(true)) {
                String regex = ps.get(0).path("pattern").path("Regex").asText("");
                if (regex.equals(LLAMA3_REGEX)) {
                    return "llama-bpe";
                }
                if (regex.equals(QWEN2_REGEX)) {
                    return "qwen2";
                }
            }
        }
        throw new IllegalArgumentException("tokenizer.json: pre-tokenizer " + pre
                + " is not one llama.cpp knows (ByteLevel, or the Llama 3 or Qwen2 split regex)");
    }
}
