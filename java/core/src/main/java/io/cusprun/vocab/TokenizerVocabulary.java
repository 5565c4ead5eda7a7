package io.cusprun.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The vocabulary of a tokenizer.json as ids: every token's string, the BPE merges as ids (in
 * rank order), the added tokens, and the base alphabet every text can be spelled in. Three models
 * are understood: byte-level BPE (GPT-2, Llama 3, Qwen2, the demo model: the 256 byte characters
 * are the alphabet), SentencePiece-style BPE with {@code byte_fallback} (Llama 2, Mistral: the
 * 256 {@code <0xXX>} pieces and the unknown token), and WordLevel (the unknown token); anything
 * else is refused with a one-line reason.
 */
public final class TokenizerVocabulary {

    /** How text that no kept token spells is still tokenized. */
    public enum Kind {
        /** GPT-2's byte-to-character map: every byte is one of 256 characters, each a token. */
        BYTE_LEVEL_BPE,
        /** SentencePiece's byte fallback: a character without a token becomes its UTF-8 bytes {@code <0xXX>}. */
        BYTE_FALLBACK_BPE,
        /** Whole words; the unknown token stands for any other. */
        WORD_LEVEL
    }

    /** One merge: tokens {@code left} and {@code right} make {@code result}. */
    public record Merge(int left, int right, int result) {}

    private final Path file;
    private final JsonNode json;
    private final Kind kind;
    private final String[] tokens;
    private final Map<String, Integer> ids;
    private final List<Merge> merges;
    private final BitSet added;

    private TokenizerVocabulary(
            Path file,
            JsonNode json,
            Kind kind,
            String[] tokens,
            Map<String, Integer> ids,
            List<Merge> merges,
            BitSet added) {
        this.file = file;
        this.json = json;
        this.kind = kind;
        this.tokens = tokens;
        this.ids = ids;
        this.merges = merges;
        this.added = added;
    }

    /** Reads {@code file} (a tokenizer.json). */
    public static TokenizerVocabulary read(Path file) throws IOException {
        return of(Json.read(file), file);
    }

    /** The vocabulary of a parsed tokenizer.json; {@code file} names it in errors. */
    public static TokenizerVocabulary of(JsonNode json, Path file) throws IOException {
        JsonNode model = json.path("model");
        String type = model.path("type").asText("");
        Kind kind;
        if (type.equals("BPE")) {
            kind = model.path("byte_fallback").asBoolean(false) ? Kind.BYTE_FALLBACK_BPE : Kind.BYTE_LEVEL_BPE;
        } else if (type.equals("WordLevel")) {
            kind = Kind.WORD_LEVEL;
        } else {
            throw new IOException(file + ": cannot trim a '" + type
                    + "' vocabulary (byte-level BPE, SentencePiece-style BPE with byte_fallback, or WordLevel)");
        }
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject()) {
            throw new IOException(file + ": model.vocab is not an object of token ids");
        }
        Map<String, Integer> ids = new HashMap<>();
        int size = 0;
        for (var it = vocab.fields(); it.hasNext(); ) {
            var e = it.next();
            int id = checkedId(e.getValue(), file, "model.vocab['" + e.getKey() + "']");
            ids.put(e.getKey(), id);
            size = Math.max(size, id + 1);
        }
        BitSet added = new BitSet();
        Map<Integer, String> addedText = new HashMap<>();
        for (JsonNode t : json.path("added_tokens")) {
            int id = checkedId(t.path("id"), file, "added_tokens id");
            added.set(id);
            addedText.put(id, t.path("content").asText());
            size = Math.max(size, id + 1);
        }
        String[] tokens = new String[size];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            if (tokens[e.getValue()] != null) {
                throw new IOException(file + ": token id " + e.getValue() + " is given to both '" + tokens[e.getValue()]
                        + "' and '" + e.getKey() + "'");
            }
            tokens[e.getValue()] = e.getKey();
        }
        addedText.forEach((id, text) -> {
            if (tokens[id] == null) {
                tokens[id] = text;
                ids.putIfAbsent(text, id);
            }
        });
        List<Merge> merges = new ArrayList<>();
        int rank = 0;
        for (JsonNode m : model.path("merges")) {
            String left;
            String right;
            if (m.isArray() && m.size() == 2) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                String s = m.asText("");
                int space = s.indexOf(' ', 1);
                if (space < 0) {
                    throw new IOException(file + ": merge " + rank + " '" + s + "' is not two tokens");
                }
                left = s.substring(0, space);
                right = s.substring(space + 1);
            }
            Integer l = ids.get(left);
            Integer r = ids.get(right);
            Integer result = ids.get(left + right);
            if (l == null || r == null || result == null) {
                throw new IOException(file + ": merge " + rank + " (" + left + " " + right
                        + ") names a token that is not in the vocabulary");
            }
            merges.add(new Merge(l, r, result));
            rank++;
        }
        return new TokenizerVocabulary(file, json, kind, tokens, ids, List.copyOf(merges), added);
    }

    private static int checkedId(JsonNode n, Path file, String what) throws IOException {
        if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() >= Integer.MAX_VALUE) {
            throw new IOException(file + ": " + what + " is not a token id: " + n);
        }
        return n.asInt();
    }

    public Path file() {
        return file;
    }

    /** The parsed tokenizer.json. */
    public JsonNode json() {
        return json;
    }

    public Kind kind() {
        return kind;
    }

    /** One more than the largest id the tokenizer defines. */
    public int size() {
        return tokens.length;
    }

    /** The token's string, or null for an id the tokenizer leaves undefined. */
    public String token(int id) {
        return tokens[id];
    }

    /** The id of a token string (vocabulary or added token), or null. */
    public Integer id(String token) {
        return ids.get(token);
    }

    public List<Merge> merges() {
        return merges;
    }

    /** The added tokens (special tokens, chat-template markers). */
    public BitSet added() {
        return (BitSet) added.clone();
    }

    /**
     * The tokens that spell any text: the 256 byte characters of byte-level BPE, the 256 byte
     * pieces of byte fallback, and the unknown token where the model names one.
     */
    public BitSet alphabet() throws IOException {
        BitSet out = new BitSet();
        if (kind == Kind.BYTE_LEVEL_BPE) {
            for (int cp : byteCharacters()) {
                require(out, new String(Character.toChars(cp)), "byte character");
            }
        } else if (kind == Kind.BYTE_FALLBACK_BPE) {
            for (int b = 0; b < 256; b++) {
                require(out, String.format("<0x%02X>", b), "byte-fallback piece");
            }
        }
        JsonNode unk = json.path("model").path("unk_token");
        if (unk.isTextual()) {
            require(out, unk.asText(), "unknown token");
        }
        return out;
    }

    private void require(BitSet out, String token, String what) throws IOException {
        Integer id = ids.get(token);
        if (id == null) {
            throw new IOException(file + ": the " + what + " '" + token
                    + "' is not in the vocabulary (text it spells could not be tokenized after trimming)");
        }
        out.set(id);
    }

    /**
     * GPT-2's bytes_to_unicode: the character each byte value stands for in a byte-level
     * vocabulary (printable Latin-1 as itself, the other bytes shifted to 256 and up).
     */
    static int[] byteCharacters() {
        int[] out = new int[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            out[b] = printable ? b : 256 + shifted++;
        }
        return out;
    }

    /**
     * {@code kept} closed under merges: every token that a merge of two tokens makes and that is
     * kept brings both parts, recursively, so every intermediate token of building a kept token
     * is kept and text made of kept tokens merges exactly as before.
     */
    public BitSet closeUnderMerges(BitSet kept) {
        Map<Integer, List<Merge>> byResult = new HashMap<>();
        for (Merge m : merges) {
            byResult.computeIfAbsent(m.result(), k -> new ArrayList<>()).add(m);
        }
        BitSet out = (BitSet) kept.clone();
        ArrayList<Integer> work = new ArrayList<>();
        kept.stream().forEach(work::add);
        while (!work.isEmpty()) {
            int t = work.remove(work.size() - 1);
            for (Merge m : byResult.getOrDefault(t, List.of())) {
                for (int part : new int[] {m.left(), m.right()}) {
                    if (!out.get(part)) {
                        out.set(part);
                        work.add(part);
                    }
                }
            }
        }
        return out;
    }
}
