package io.cusprun.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import io.cusprun.corpus.TokenEncoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model directory's tokenizer.json through DJL's HuggingFace tokenizers (offline), with the
 * special-token policy made explicit and consistent: text is always encoded without the
 * tokenizer's own post-processor, and BOS is prepended by {@link #encode(String, boolean)} when
 * the model expects it.
 *
 * <p>Whether BOS is added: tokenizer_config.json {@code add_bos_token} when present; otherwise
 * whether tokenizer.json's post-processor (TemplateProcessing, also inside a Sequence) starts
 * with a special token. The BOS id: tokenizer_config.json {@code bos_token} looked up in
 * tokenizer.json, else the post-processor's first special token, else generation_config.json /
 * config.json {@code bos_token_id}. EOS ids likewise from tokenizer_config.json {@code eos_token},
 * generation_config.json and config.json {@code eos_token_id}.
 */
public final class TextTokenizer implements AutoCloseable, TokenEncoder {

    public static final String FILE_NAME = "tokenizer.json";

    static {
        // DJL logs through SLF4J and no provider is bundled: keep SLF4J's "no providers" notice off stderr
        if (System.getProperty("slf4j.internal.verbosity") == null) {
            System.setProperty("slf4j.internal.verbosity", "ERROR");
        }
    }

    private final HuggingFaceTokenizer tokenizer;
    private final boolean addBos;
    private final Long bosId;
    private final List<Long> eosIds;
    /** Characters of the longest vocabulary or added token; 0 when unknown (then whole documents are encoded). */
    private final int longestToken;

    /** Tokens encoded beyond the requested ones, so that cutting the text cannot change those. */
    static final int SAFETY_TOKENS = 16;

    private TextTokenizer(
            HuggingFaceTokenizer tokenizer, boolean addBos, Long bosId, List<Long> eosIds, int longestToken) {
        this.longestToken = longestToken;
        this.tokenizer = tokenizer;
        this.addBos = addBos;
        this.bosId = bosId;
        this.eosIds = List.copyOf(eosIds);
    }

    /** Loads the tokenizer of a model directory (tokenizer.json plus the optional config files). */
    public static TextTokenizer load(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.exists(file)) {
            throw new IOException(file + ": no such file");
        }
        JsonNode tokJson = Json.read(file);
        JsonNode tokConfig = Json.readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode genConfig = Json.readOptional(dir.resolve("generation_config.json"));
        JsonNode modelConfig = Json.readOptional(dir.resolve(ModelConfig.FILE_NAME));
        Map<String, Long> specials = specialTokenIds(tokJson);
        Map.Entry<String, JsonNode> template = templateFirstSpecial(tokJson.path("post_processor"));
        Long templateBos = template == null ? null : specials.get(template.getKey());

        boolean addBos =
                tokConfig.has("add_bos_token") ? tokConfig.get("add_bos_token").asBoolean() : templateBos != null;
        Long bos = tokenId(tokConfig.get("bos_token"), specials);
        if (bos == null) {
            bos = templateBos;
        }
        if (bos == null) {
            bos = firstId(genConfig.get("bos_token_id"));
        }
        if (bos == null) {
            bos = firstId(modelConfig.get("bos_token_id"));
        }
        if (addBos && bos == null) {
            throw new IOException(dir + ": the tokenizer adds BOS but no BOS token id is known");
        }
        List<Long> eos = new ArrayList<>();
        Long eosFromConfig = tokenId(tokConfig.get("eos_token"), specials);
        if (eosFromConfig != null) {
            eos.add(eosFromConfig);
        }
        for (JsonNode n : new JsonNode[] {genConfig.get("eos_token_id"), modelConfig.get("eos_token_id")}) {
            for (Long id : ids(n)) {
                if (!eos.contains(id)) {
                    eos.add(id);
                }
            }
        }
        HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder()
                .optTokenizerPath(file)
                .optAddSpecialTokens(false)
                .optTruncation(false)
                .optPadding(false)
                .build();
        return new TextTokenizer(tok, addBos, bos, eos, longestToken(tokJson));
    }

    /** Token ids of {@code text}, never with special tokens added. */
    @Override
    public long[] encode(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    /**
     * The first {@code maxTokens} ids of {@link #encode(String)}, encoding only a prefix of the
     * text: every token stands for at most {@code longestToken} characters, so a prefix of
     * {@code (maxTokens + SAFETY_TOKENS) * longestToken} characters, cut at a whitespace where
     * one is near, holds the first {@code maxTokens} tokens with {@link #SAFETY_TOKENS} more after
     * them, and the cut only changes the tokens of the word it falls in. When the prefix yields
     * fewer tokens than that (normalisers, unknown-word tokens), it is doubled until it does or
     * is the whole text. Tested against encoding the whole text (TextTokenizerPrefixTest).
     */
    @Override
    public long[] encodeFirst(String text, int maxTokens) {
        if (maxTokens < 1) {
            return new long[0];
        }
        long window = prefixChars(maxTokens);
        while (window < text.length()) {
            int cut = cutPoint(text, (int) window);
            long[] ids = encode(text.substring(0, cut));
            if (ids.length >= (long) maxTokens + SAFETY_TOKENS) {
                return Arrays.copyOf(ids, maxTokens);
            }
            window *= 2;
        }
        long[] ids = encode(text);
        return ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids;
    }

    /** Characters {@link #encodeFirst} may look at: room for the doubling of the first prefix three times. */
    @Override
    public int charsNeeded(int maxTokens) {
        long first = prefixChars(maxTokens);
        return (int) Math.min(Integer.MAX_VALUE - 16, first * 8 + 4096);
    }

    /** The first prefix length for {@code maxTokens}; Long.MAX_VALUE / 16 (whole text) when the vocabulary is unknown. */
    long prefixChars(int maxTokens) {
        if (longestToken <= 0) {
            return Long.MAX_VALUE / 16;
        }
        return ((long) maxTokens + SAFETY_TOKENS) * longestToken + 64;
    }

    /** Where to cut near {@code at}: the next whitespace within a few tokens' length, never inside a surrogate pair. */
    private int cutPoint(String text, int at) {
        int limit = (int) Math.min(text.length(), at + 4L * Math.max(longestToken, 1) + 64);
        for (int i = at; i < limit; i++) {
            if (Character.isWhitespace(text.charAt(i))) {
                return i;
            }
        }
        int cut = at;
        if (cut > 0 && Character.isHighSurrogate(text.charAt(cut - 1))) {
            cut--;
        }
        return cut;
    }

    /** Characters of the longest token of tokenizer.json's model vocabulary and added tokens; 0 when unknown. */
    static int longestToken(JsonNode tok) {
        JsonNode vocab = tok.path("model").path("vocab");
        int longest = 0;
        if (vocab.isObject()) {
            for (java.util.Iterator<String> it = vocab.fieldNames(); it.hasNext(); ) {
                longest = Math.max(longest, it.next().length());
            }
        } else if (vocab.isArray()) { // Unigram: [[piece, score], ...]
            for (JsonNode e : vocab) {
                longest = Math.max(longest, e.path(0).asText("").length());
            }
        } else {
            return 0;
        }
        if (longest == 0) {
            return 0;
        }
        for (JsonNode t : tok.path("added_tokens")) {
            longest = Math.max(longest, t.path("content").asText("").length());
        }
        return longest;
    }

    /** Token ids of {@code text}, with BOS first when {@code withBos} and the model expects BOS. */
    public long[] encode(String text, boolean withBos) {
        long[] ids = encode(text);
        if (!withBos || !addBos) {
            return ids;
        }
        long[] out = new long[ids.length + 1];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** Texts longer than this are encoded in pieces of at most this many characters ({@link #encodeAll}). */
    public static final int PIECE_CHARS = 1 << 20;

    /**
     * Token ids of a whole text of any length, with BOS as {@link #encode(String, boolean)}: up to
     * {@link #PIECE_CHARS} characters exactly that; a longer text in pieces of at most that many
     * characters, each cut just before a run of whitespace where there is one in its second half,
     * so the native tokenizer's memory stays bounded. For GPT-2-style byte-level tokenizers the ids
     * are the same as encoding the whole text (TextTokenizerPrefixTest); others may differ in a
     * token at each cut (one per million characters), e.g. a normaliser that prepends to the text
     * (Llama 2's {@code ▁}) adds it at each piece.
     */
    public long[] encodeAll(String text, boolean withBos) {
        return encodeAll(text, withBos, PIECE_CHARS);
    }

    long[] encodeAll(String text, boolean withBos, int pieceChars) {
        if (text.length() <= pieceChars) {
            return encode(text, withBos);
        }
        long[] out = new long[Math.max(16, text.length() / 4)];
        int n = 0;
        if (withBos && addBos) {
            out[n++] = bosId;
        }
        int from = 0;
        while (from < text.length()) {
            int to = Math.min(text.length(), from + pieceChars);
            if (to < text.length()) {
                int ws = to;
                while (ws > from + pieceChars / 2 && !Character.isWhitespace(text.charAt(ws))) {
                    ws--;
                }
                while (ws > from + 1
                        && Character.isWhitespace(text.charAt(ws))
                        && Character.isWhitespace(text.charAt(ws - 1))) {
                    ws--; // the start of the whitespace run: runs are tokens of their own
                }
                if (Character.isWhitespace(text.charAt(ws)) && ws > from) {
                    to = ws;
                } else if (Character.isHighSurrogate(text.charAt(to - 1))) {
                    to--;
                }
            }
            long[] ids = encode(text.substring(from, to));
            if (n + ids.length > out.length) {
                out = Arrays.copyOf(out, Math.max(n + ids.length, out.length + (out.length >> 1)));
            }
            System.arraycopy(ids, 0, out, n, ids.length);
            n += ids.length;
            from = to;
        }
        return Arrays.copyOf(out, n);
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    /** Whether documents start with BOS for this model. */
    public boolean addsBos() {
        return addBos;
    }

    /** The BOS id, or null when the model has none. */
    public Long bosId() {
        return bosId;
    }

    public List<Long> eosIds() {
        return eosIds;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /** Token ids by content: the model vocabulary (when a token-to-id object), then added and template tokens. */
    private static Map<String, Long> specialTokenIds(JsonNode tok) {
        Map<String, Long> out = new HashMap<>();
        JsonNode vocab = tok.path("model").path("vocab");
        if (vocab.isObject()) {
            vocab.fields()
                    .forEachRemaining(e -> out.put(e.getKey(), e.getValue().asLong()));
        }
        for (JsonNode t : tok.path("added_tokens")) {
            out.put(t.path("content").asText(), t.path("id").asLong());
        }
        collectTemplateSpecials(tok.path("post_processor"), out);
        return out;
    }

    private static void collectTemplateSpecials(JsonNode pp, Map<String, Long> out) {
        if ("Sequence".equals(pp.path("type").asText())) {
            pp.path("processors").forEach(p -> collectTemplateSpecials(p, out));
            return;
        }
        pp.path("special_tokens").fields().forEachRemaining(e -> {
            JsonNode ids = e.getValue().path("ids");
            if (ids.isArray() && ids.size() == 1) {
                out.putIfAbsent(e.getKey(), ids.get(0).asLong());
            }
        });
    }

    /**
     * The name of the special token a TemplateProcessing "single" template starts with, with the
     * processor that names it (a Sequence is searched in order); null when there is none.
     */
    public static Map.Entry<String, JsonNode> templateFirstSpecial(JsonNode pp) {
        if ("Sequence".equals(pp.path("type").asText())) {
            for (JsonNode p : pp.path("processors")) {
                Map.Entry<String, JsonNode> found = templateFirstSpecial(p);
                if (found != null) {
                    return found;
                }
            }
            return null;
        }
        if (!"TemplateProcessing".equals(pp.path("type").asText())) {
            return null;
        }
        JsonNode first = pp.path("single").path(0).path("SpecialToken");
        return first.isMissingNode() ? null : Map.entry(first.path("id").asText(), pp);
    }

    /** A token given as a string or {"content": ...} in tokenizer_config.json, as an id. */
    private static Long tokenId(JsonNode token, Map<String, Long> specials) {
        if (token == null || token.isNull()) {
            return null;
        }
        String content =
                token.isTextual() ? token.asText() : token.path("content").asText(null);
        return content == null ? null : specials.get(content);
    }

    private static Long firstId(JsonNode n) {
        List<Long> ids = ids(n);
        return ids.isEmpty() ? null : ids.get(0);
    }

    private static List<Long> ids(JsonNode n) {
        List<Long> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (n.isArray()) {
            n.forEach(x -> out.add(x.asLong()));
        } else if (n.isIntegralNumber()) {
            out.add(n.asLong());
        }
        return out;
    }
}
