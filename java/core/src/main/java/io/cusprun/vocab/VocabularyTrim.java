package io.cusprun.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.Json;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.DocumentReader;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

/**
 * Which tokens a trimmed model keeps, and their new ids: the kept source ids in ascending order
 * are the new ids 0, 1, 2, ... (a dense renumbering that keeps the tokens' order). Kept are the
 * tokens the chosen corpora produce (at least {@code minCount} times, each document tokenized
 * whole), every added token (special and chat-template tokens), the tokens the configs name
 * (BOS, EOS, PAD, UNK), the base alphabet ({@link TokenizerVocabulary#alphabet}), and the closure
 * of all these under the merges ({@link TokenizerVocabulary#closeUnderMerges}).
 */
public final class VocabularyTrim {

    /**
     * How the kept set was made up (each token counted once, in this order of reasons).
     *
     * @param sourceSize    embedding rows of the source model
     * @param corpusTokens  tokens the corpora produce, in all
     * @param distinct      distinct tokens they produce
     * @param frequent      of those, tokens produced at least minCount times
     * @param named         added tokens and tokens the configs name, not already frequent
     * @param alphabet      base alphabet tokens not already kept
     * @param closure       merge intermediates not already kept
     * @param kept          the trimmed vocabulary's size
     */
    public record Counts(
            int sourceSize,
            long corpusTokens,
            int distinct,
            int frequent,
            int named,
            int alphabet,
            int closure,
            int kept) {}

    private final int[] kept;
    private final int[] newIds;
    private final Counts counts;
    private final List<CorpusSpec> corpora;
    private final int minCount;

    private VocabularyTrim(int[] kept, int sourceSize, Counts counts, List<CorpusSpec> corpora, int minCount) {
        this.kept = kept;
        this.newIds = new int[sourceSize];
        java.util.Arrays.fill(newIds, -1);
        for (int i = 0; i < kept.length; i++) {
            newIds[kept[i]] = i;
        }
        this.counts = counts;
        this.corpora = List.copyOf(corpora);
        this.minCount = minCount;
    }

    /**
     * The trim of the model in {@code modelDir} for an expert scored on {@code expert} (the
     * corpora to count come from {@code settings}).
     */
    public static VocabularyTrim plan(Path modelDir, VocabTrimSettings settings, List<CorpusSpec> expert)
            throws IOException {
        List<CorpusSpec> corpora = settings.corporaFor(expert);
        for (CorpusSpec c : corpora) {
            c.checkExists();
        }
        ModelConfig config = ModelConfig.read(modelDir);
        TokenizerVocabulary vocab = TokenizerVocabulary.read(modelDir.resolve(TextTokenizer.FILE_NAME));
        long[] counts = new long[Math.max(vocab.size(), config.vocabSize())];
        try (TextTokenizer tok = TextTokenizer.load(modelDir)) {
            for (CorpusSpec c : corpora) {
                for (String doc : DocumentReader.read(c.path(), 0)) {
                    for (long id : tok.encodeAll(doc, false)) {
                        counts[(int) id]++;
                    }
                }
            }
        }
        return select(vocab, config.vocabSize(), counts, settings.minCount(), namedTokens(modelDir, vocab), corpora);
    }

    /**
     * The trim of a vocabulary of {@code rows} embedding rows given each token's count in the
     * corpora and the tokens named by the configs.
     */
    public static VocabularyTrim select(
            TokenizerVocabulary vocab, int rows, long[] counts, int minCount, BitSet named, List<CorpusSpec> corpora)
            throws IOException {
        if (vocab.size() > rows) {
            throw new IOException(vocab.file() + ": token id " + (vocab.size() - 1) + " is outside the embedding's "
                    + rows + " rows");
        }
        BitSet keep = new BitSet();
        long total = 0;
        int distinct = 0;
        for (int id = 0; id < counts.length; id++) {
            total += counts[id];
            if (counts[id] > 0) {
                distinct++;
            }
            if (counts[id] >= minCount) {
                keep.set(id);
            }
        }
        int frequent = keep.cardinality();
        keep.or(vocab.added());
        keep.or(named.get(0, rows));
        int afterNamed = keep.cardinality();
        keep.or(vocab.alphabet());
        int afterAlphabet = keep.cardinality();
        keep = vocab.closeUnderMerges(keep);
        int[] kept = keep.stream().toArray();
        Counts c = new Counts(
                rows,
                total,
                distinct,
                frequent,
                afterNamed - frequent,
                afterAlphabet - afterNamed,
                kept.length - afterAlphabet,
                kept.length);
        return new VocabularyTrim(kept, rows, c, corpora, minCount);
    }

    /**
     * The tokens the configs name: tokenizer_config.json's and special_tokens_map.json's token
     * strings (bos, eos, pad, unk, additional special tokens), config.json's and
     * generation_config.json's token ids.
     */
    static BitSet namedTokens(Path dir, TokenizerVocabulary vocab) throws IOException {
        BitSet out = new BitSet();
        for (String f : List.of("tokenizer_config.json", "special_tokens_map.json")) {
            JsonNode json = Json.readOptional(dir.resolve(f));
            for (var it = json.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().endsWith("_token") || e.getKey().equals("additional_special_tokens")) {
                    collectTokenStrings(e.getValue(), vocab, out);
                }
            }
        }
        for (String f : List.of(ModelConfig.FILE_NAME, "generation_config.json")) {
            JsonNode json = Json.readOptional(dir.resolve(f));
            for (var it = json.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().endsWith("_token_id")) {
                    forEachId(e.getValue(), id -> {
                        if (id >= 0) {
                            out.set(id);
                        }
                    });
                }
            }
        }
        return out;
    }

    private static void collectTokenStrings(JsonNode n, TokenizerVocabulary vocab, BitSet out) {
        if (n.isArray()) {
            n.forEach(x -> collectTokenStrings(x, vocab, out));
            return;
        }
        String text = n.isTextual() ? n.asText() : n.path("content").asText(null);
        Integer id = text == null ? null : vocab.id(text);
        if (id != null) {
            out.set(id);
        }
    }

    interface IdConsumer {
        void accept(int id);
    }

    static void forEachId(JsonNode n, IdConsumer f) {
        if (n.isArray()) {
            n.forEach(x -> forEachId(x, f));
        } else if (n.isIntegralNumber()) {
            f.accept(n.asInt());
        }
    }

    /** Tokens kept. */
    public int size() {
        return kept.length;
    }

    /** Embedding rows of the source model. */
    public int sourceSize() {
        return newIds.length;
    }

    /** The kept source ids, ascending: new id i is source id {@code kept()[i]}. */
    public int[] kept() {
        return kept.clone();
    }

    /** The new id of source id {@code oldId}, or -1 when it is not kept (or out of range). */
    public int newId(int oldId) {
        return oldId >= 0 && oldId < newIds.length ? newIds[oldId] : -1;
    }

    /** The source id of new id {@code newId}. */
    public int oldId(int newId) {
        return kept[newId];
    }

    public Counts counts() {
        return counts;
    }

    /** The manifest's record: the settings, the counts and the kept source ids in order. */
    public void putManifest(ObjectNode root) {
        ObjectNode v = root.putObject("vocabulary");
        v.put("source_size", counts.sourceSize());
        v.put("kept", counts.kept());
        v.put("min_count", minCount);
        ArrayNode cs = v.putArray("corpora");
        for (CorpusSpec c : corpora) {
            cs.addObject().put("kind", c.kind().label()).put("name", c.name());
        }
        ObjectNode n = v.putObject("counts");
        n.put("corpus_tokens", counts.corpusTokens());
        n.put("distinct", counts.distinct());
        n.put("frequent", counts.frequent());
        n.put("named", counts.named());
        n.put("alphabet", counts.alphabet());
        n.put("closure", counts.closure());
        ArrayNode ids = v.putArray("kept_ids");
        for (int id : kept) {
            ids.add(id);
        }
    }
}
