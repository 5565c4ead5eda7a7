package io.cusprun.vocab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.Json;
import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.DocumentReader;
import io.cusprun.export.GgufExporter;
import io.cusprun.export.GgufMetadata;
import io.cusprun.export.GgufReader;
import io.cusprun.export.GgufType;
import io.cusprun.model.Batch;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.DType;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.model.TextTokenizer;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trimming the vocabulary: the kept set (corpus tokens, specials, alphabet, merge closure), the
 * renumbering, the rewritten tokenizer files through the real tokenizer library (byte-level BPE
 * of the demo model, a SentencePiece-style byte-fallback BPE trained here), the embedding rows
 * of tied and untied models, and the GGUF export of a trimmed model.
 */
class VocabularyTrimTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path ROOT = Fixtures.repositoryRoot();
    private static final Path DEMO = ROOT.resolve("data/demo-model");
    private static final Path CORPORA = ROOT.resolve("data/corpora");

    @TempDir
    Path tmp;

    private static List<CorpusSpec> germanExpert() {
        return List.of(
                CorpusSpec.parse("language:de=" + CORPORA.resolve("language/de/score.jsonl")),
                CorpusSpec.parse("domain:technical=" + CORPORA.resolve("domain/technical/score.jsonl")));
    }

    /** The German trim of the demo model, its tokenizer files written to a folder of their own. */
    private Path trimmedDemoTokenizer(VocabularyTrim trim) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("demo-trimmed"));
        TokenizerTrimmer.write(DEMO, trim, dir);
        ObjectNode config = (ObjectNode) Json.read(DEMO.resolve(ModelConfig.FILE_NAME));
        TokenizerTrimmer.remapConfig(config, trim, dir);
        TokenizerTrimmer.writeJson(dir.resolve(ModelConfig.FILE_NAME), config);
        return dir;
    }

    @Test
    void theGermanTrimKeepsEveryMergeAncestorTheAlphabetAndTheSpecials() throws IOException {
        VocabularyTrim trim = VocabularyTrim.plan(DEMO, VocabTrimSettings.DEFAULTS, germanExpert());
        TokenizerVocabulary vocab = TokenizerVocabulary.read(DEMO.resolve("tokenizer.json"));
        BitSet kept = new BitSet();
        for (int id : trim.kept()) kept.set(id);
        int checked = 0;
        for (TokenizerVocabulary.Merge m : vocab.merges()) {
            if (kept.get(m.result())) {
                assertTrue(kept.get(m.left()) && kept.get(m.right()), "a part of kept token " + m.result());
                checked++;
            }
        }
        assertTrue(checked > 1000, "merges of kept tokens: " + checked);
        BitSet alphabet = vocab.alphabet();
        assertEquals(256, alphabet.cardinality());
        BitSet missing = (BitSet) alphabet.clone();
        missing.andNot(kept);
        assertTrue(missing.isEmpty(), "byte characters not kept: " + missing);
        for (String special : List.of("<|bos|>", "<|eos|>", "<|pad|>")) {
            assertTrue(kept.get(vocab.id(special)), special);
        }
        // only the language corpus counts (the technical corpus holds every language)
        assertEquals(trim.counts().frequent(), trim.counts().distinct());
        assertTrue(trim.size() < 0.45 * 6144, "kept " + trim.size());
        VocabularyTrim.Counts c = trim.counts();
        assertEquals(trim.size(), c.frequent() + c.named() + c.alphabet() + c.closure());
        // a minimum count keeps fewer tokens, still closed under the merges
        VocabularyTrim rare = VocabularyTrim.plan(DEMO, VocabTrimSettings.DEFAULTS.withMinCount(5), germanExpert());
        assertTrue(rare.size() < trim.size());
        BitSet rareKept = new BitSet();
        for (int id : rare.kept()) rareKept.set(id);
        assertEquals(rareKept, vocab.closeUnderMerges(rareKept));
    }

    @Test
    void renumberingRoundTripsOldToNewToOld() throws IOException {
        VocabularyTrim trim = VocabularyTrim.plan(DEMO, VocabTrimSettings.DEFAULTS, germanExpert());
        int[] kept = trim.kept();
        BitSet isKept = new BitSet();
        for (int i = 0; i < kept.length; i++) {
            if (i > 0) assertTrue(kept[i] > kept[i - 1], "ascending");
            assertEquals(i, trim.newId(kept[i]));
            assertEquals(kept[i], trim.oldId(trim.newId(kept[i])));
            isKept.set(kept[i]);
        }
        for (int old = 0; old < trim.sourceSize(); old++) {
            int n = trim.newId(old);
            if (isKept.get(old)) assertEquals(old, trim.oldId(n));
            else assertEquals(-1, n);
        }
        assertEquals(-1, trim.newId(-1));
        assertEquals(-1, trim.newId(trim.sourceSize()));
    }

    @Test
    void byteLevelTokenizationIsTheSameOnTheGermanCorpusAndAnyOtherTextStillTokenizes() throws IOException {
        VocabularyTrim trim = VocabularyTrim.plan(DEMO, VocabTrimSettings.DEFAULTS, germanExpert());
        Path dir = trimmedDemoTokenizer(trim);
        JsonNode tok = Json.read(dir.resolve("tokenizer.json"));
        assertEquals(trim.size(), tok.path("model").path("vocab").size());
        assertEquals(
                trim.size(),
                Json.read(dir.resolve("config.json")).path("vocab_size").asInt());
        try (TextTokenizer whole = TextTokenizer.load(DEMO);
                TextTokenizer trimmed = TextTokenizer.load(dir)) {
            assertEquals(trim.newId(whole.bosId().intValue()), trimmed.bosId().intValue());
            assertEquals(
                    whole.eosIds().stream()
                            .map(id -> (long) trim.newId(id.intValue()))
                            .toList(),
                    trimmed.eosIds());
            long tokens = 0;
            for (String doc : DocumentReader.read(CORPORA.resolve("language/de/score.jsonl"), 0)) {
                long[] before = whole.encodeAll(doc, true);
                long[] after = trimmed.encodeAll(doc, true);
                long[] mapped = new long[before.length];
                for (int i = 0; i < before.length; i++) mapped[i] = trim.newId((int) before[i]);
                assertArrayEquals(mapped, after, "token for token");
                assertEquals(whole.decode(before), trimmed.decode(after));
                tokens += after.length;
            }
            assertTrue(tokens > 50_000, "tokens compared: " + tokens);
            // text the German corpus never spelled: Chinese and Russian documents
            int longer = 0;
            for (String lang : List.of("zh", "ru")) {
                for (String doc : DocumentReader.read(CORPORA.resolve("language/" + lang + "/heldout.jsonl"), 5)) {
                    long[] before = whole.encode(doc);
                    long[] after = trimmed.encode(doc);
                    for (long id : after) assertTrue(id >= 0 && id < trim.size());
                    assertEquals(whole.decode(before), trimmed.decode(after));
                    assertTrue(after.length >= before.length);
                    if (after.length > before.length) longer++;
                }
            }
            assertTrue(longer > 0, "other languages take more, shorter tokens");
        }
    }

    @Test
    void sentencePieceStyleByteFallbackKeepsItsPiecesAndItsBytes() throws IOException {
        List<String> german = List.of(
                "Der Befehl zeigt die Dateien im Verzeichnis an.",
                "Die Datei wird gelesen und die Zeilen werden gezählt.",
                "Mit dieser Option werden versteckte Dateien angezeigt.",
                "Der Prozess schreibt seine Ausgabe in die Datei.");
        List<String> english = List.of(
                "The command lists the files in the directory.",
                "The process writes its output to the file and exits.");
        Path source = Files.createDirectories(tmp.resolve("sp"));
        List<String> training = new ArrayList<>(german);
        training.addAll(english);
        Fixtures.writeJson(source.resolve("tokenizer.json"), sentencePieceTokenizer(training, 120));
        Fixtures.writeJson(
                source.resolve("tokenizer_config.json"),
                JSON.createObjectNode()
                        .put("add_bos_token", true)
                        .put("bos_token", "<s>")
                        .put("eos_token", "</s>")
                        .put("unk_token", "<unk>"));
        TokenizerVocabulary vocab = TokenizerVocabulary.read(source.resolve("tokenizer.json"));
        assertEquals(TokenizerVocabulary.Kind.BYTE_FALLBACK_BPE, vocab.kind());
        long[] counts = new long[vocab.size()];
        try (TextTokenizer t = TextTokenizer.load(source)) {
            for (String d : german) for (long id : t.encode(d)) counts[(int) id]++;
        }
        VocabularyTrim trim = VocabularyTrim.select(
                vocab, vocab.size(), counts, 1, VocabularyTrim.namedTokens(source, vocab), List.of());
        assertTrue(trim.size() < vocab.size(), "the English-only pieces go");
        BitSet kept = new BitSet();
        for (int id : trim.kept()) kept.set(id);
        for (int b = 0; b < 256; b++) assertTrue(kept.get(vocab.id(String.format("<0x%02X>", b))));
        for (TokenizerVocabulary.Merge m : vocab.merges()) {
            if (kept.get(m.result())) assertTrue(kept.get(m.left()) && kept.get(m.right()));
        }
        Path out = Files.createDirectories(tmp.resolve("sp-trimmed"));
        TokenizerTrimmer.write(source, trim, out);
        JsonNode written = Json.read(out.resolve("tokenizer.json"));
        assertEquals(
                trim.newId(1),
                written.path("post_processor")
                        .path("special_tokens")
                        .path("<s>")
                        .path("ids")
                        .path(0)
                        .asInt());
        try (TextTokenizer whole = TextTokenizer.load(source);
                TextTokenizer trimmed = TextTokenizer.load(out)) {
            assertEquals(trim.newId(whole.bosId().intValue()), trimmed.bosId().intValue());
            for (String d : german) {
                long[] before = whole.encode(d, true);
                long[] after = trimmed.encode(d, true);
                assertEquals(before.length, after.length, d);
                for (int i = 0; i < before.length; i++) {
                    assertEquals(
                            vocab.token((int) before[i]),
                            TokenizerVocabulary.read(out.resolve("tokenizer.json"))
                                    .token((int) after[i]));
                }
                assertEquals(d, trimmed.decode(trimmed.encode(d)));
            }
            for (String other : List.of("The output lists the directory.", "Ωμέγα ☃ Straße")) {
                long[] after = trimmed.encode(other);
                assertEquals(other, trimmed.decode(after), "byte fallback spells what no piece does");
                assertTrue(after.length >= whole.encode(other).length);
            }
        }
    }

    @Test
    void tiedAndUntiedEmbeddingsKeepTheirRowsAndLogProbabilitiesOnlyRenormalise() throws IOException {
        for (Family family : List.of(Family.LLAMA3, Family.LLAMA2)) {
            Fixtures.Spec spec = Fixtures.spec(family, DType.F32);
            Path source = Fixtures.write(tmp.resolve(family.name()), spec);
            ExpertPruner pruner = ExpertPruner.open(source);
            PrunePlan plan = pruner.plan(
                    pruner.statistics(Method.RANDOM, io.cusprun.api.PruneData.NONE, PruneSettings.DEFAULTS.withSeed(3)),
                    PruneSettings.DEFAULTS.withRatio(0.2));
            TokenizerVocabulary vocab = TokenizerVocabulary.read(source.resolve("tokenizer.json"));
            long[] counts = new long[vocab.size()];
            Random r = new Random(family.ordinal());
            for (int id = 0; id < counts.length; id++) counts[id] = r.nextInt(3); // a third not seen
            VocabularyTrim trim = VocabularyTrim.select(
                    vocab, spec.vocabSize(), counts, 1, VocabularyTrim.namedTokens(source, vocab), List.of());
            assertTrue(trim.size() < spec.vocabSize() && trim.size() > spec.vocabSize() / 2);
            Path whole = tmp.resolve(family + "-whole");
            Path trimmed = tmp.resolve(family + "-trimmed");
            var prov = io.cusprun.api.WriteOptions.of(pruner.provenance(io.cusprun.api.PruneData.NONE));
            pruner.write(plan, whole, prov);
            pruner.write(plan, trimmed, prov.withVocabulary(trim));

            ModelConfig config = ModelConfig.read(trimmed);
            assertEquals(trim.size(), config.vocabSize());
            assertEquals(spec.tied(), config.tieWordEmbeddings());
            try (Checkpoint a = Checkpoint.open(whole);
                    Checkpoint b = Checkpoint.open(trimmed)) {
                assertEquals(spec.tied(), !b.tensorNames().contains("lm_head.weight"), family.name());
                long removedRows = spec.vocabSize() - trim.size();
                assertEquals(params(a) - removedRows * spec.hiddenSize() * (spec.tied() ? 1 : 2), params(b));
            }
            JsonNode manifest = Json.read(trimmed.resolve("cusprun-manifest.json"));
            ArrayNode keptIds = (ArrayNode) manifest.path("vocabulary").path("kept_ids");
            assertEquals(trim.size(), keptIds.size());
            for (int i = 0; i < keptIds.size(); i++)
                assertEquals(trim.oldId(i), keptIds.get(i).asInt());
            try (TextTokenizer t = TextTokenizer.load(trimmed);
                    TextTokenizer s = TextTokenizer.load(source)) {
                assertEquals(t.addsBos(), s.addsBos());
                if (s.bosId() != null)
                    assertEquals(trim.newId(s.bosId().intValue()), t.bosId().intValue());
            }

            int[] kept = trim.kept();
            long[] oldIds = new long[24];
            long[] newIds = new long[oldIds.length];
            for (int i = 0; i < oldIds.length; i++) {
                int j = r.nextInt(kept.length);
                oldIds[i] = kept[j];
                newIds[i] = j;
            }
            try (LlamaModel a = LlamaModel.load(whole);
                    LlamaModel b = LlamaModel.load(trimmed);
                    PointerScope scope = new PointerScope()) {
                float[] full = Tensors.toFloats(a.logits(Batch.of(oldIds)));
                float[] small = Tensors.toFloats(b.logits(Batch.of(newIds)));
                int v = spec.vocabSize();
                int n = trim.size();
                double logLikWhole = 0;
                double logLikTrimmed = 0;
                for (int p = 0; p < oldIds.length; p++) {
                    double[] lsmFull = logSoftmax(full, p * v, v);
                    double[] lsmSmall = logSoftmax(small, p * n, n);
                    double keptMass = Double.NEGATIVE_INFINITY;
                    for (int k : kept) keptMass = logAdd(keptMass, lsmFull[k]);
                    for (int j = 0; j < n; j++) {
                        assertEquals(full[p * v + kept[j]], small[p * n + j], 1e-5, "logit");
                        double renormalised = lsmFull[kept[j]] - keptMass;
                        // fp32 logits: the tolerance scales with the value (a log-probability of -27 has ulps of 2e-6)
                        assertEquals(
                                renormalised,
                                lsmSmall[j],
                                1e-5 * Math.max(1, Math.abs(renormalised)),
                                "renormalised log-probability");
                    }
                    if (p + 1 < oldIds.length) {
                        logLikWhole += lsmFull[(int) oldIds[p + 1]];
                        logLikTrimmed += lsmSmall[(int) newIds[p + 1]];
                    }
                }
                assertTrue(logLikTrimmed > logLikWhole, "perplexity can only fall");
            }
        }
    }

    @Test
    void aTrimmedPrunedDemoModelExportsToGgufWithItsTokensMergesAndSpecialIds() throws IOException {
        VocabularyTrim trim = VocabularyTrim.plan(DEMO, VocabTrimSettings.DEFAULTS, germanExpert());
        ExpertPruner pruner = ExpertPruner.open(DEMO);
        PrunePlan plan = pruner.plan(
                pruner.statistics(Method.RANDOM, io.cusprun.api.PruneData.NONE, PruneSettings.DEFAULTS.withSeed(1)),
                PruneSettings.DEFAULTS.withRatio(0.35));
        Path model = tmp.resolve("demo-de35");
        pruner.write(
                plan,
                model,
                io.cusprun.api.WriteOptions.of(pruner.provenance(io.cusprun.api.PruneData.NONE))
                        .withVocabulary(trim));
        Path gguf = tmp.resolve("demo-de35.gguf");
        GgufExporter.export(model, gguf, GgufType.F32);
        GgufMetadata m = GgufReader.open(gguf).metadata();
        TokenizerVocabulary source = TokenizerVocabulary.read(DEMO.resolve("tokenizer.json"));
        TokenizerVocabulary written = TokenizerVocabulary.read(model.resolve("tokenizer.json"));
        List<Object> tokens = m.get("tokenizer.ggml.tokens").list();
        assertEquals(trim.size(), tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            assertEquals(source.token(trim.oldId(i)), tokens.get(i));
            assertEquals(source.token(trim.oldId(i)), written.token(i));
        }
        List<Object> merges = m.get("tokenizer.ggml.merges").list();
        assertEquals(written.merges().size(), merges.size());
        int kept = 0;
        for (TokenizerVocabulary.Merge merge : source.merges()) if (trim.newId(merge.result()) >= 0) kept++;
        assertEquals(kept, merges.size());
        assertEquals(trim.newId(0), m.get("tokenizer.ggml.bos_token_id").asLong());
        assertEquals(trim.newId(1), m.get("tokenizer.ggml.eos_token_id").asLong());
        assertEquals(trim.newId(2), m.get("tokenizer.ggml.padding_token_id").asLong());
    }

    @Test
    void aTokenizerThatCannotBeTrimmedIsRefusedInOneLine() throws IOException {
        ObjectNode unigram = JSON.createObjectNode();
        unigram.putObject("model").put("type", "Unigram").putArray("vocab");
        Path f = tmp.resolve("tokenizer.json");
        Fixtures.writeJson(f, unigram);
        IOException e = assertThrows(IOException.class, () -> TokenizerVocabulary.read(f));
        assertTrue(e.getMessage().startsWith(f + ": cannot trim a 'Unigram' vocabulary"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        // a byte-level vocabulary without all 256 byte characters cannot spell every text
        ObjectNode tok = (ObjectNode) Json.read(DEMO.resolve("tokenizer.json"));
        ((ObjectNode) tok.path("model").path("vocab")).remove("Ā");
        ((ObjectNode) tok.path("model")).putArray("merges");
        Fixtures.writeJson(f, tok);
        IOException missing = assertThrows(
                IOException.class, () -> TokenizerVocabulary.read(f).alphabet());
        assertTrue(missing.getMessage().contains("byte character 'Ā'"), missing.getMessage());
        assertNotEquals(null, TokenizerVocabulary.read(f));
    }

    // ------------------------------------------------------------------ helpers

    private static long params(Checkpoint cp) throws IOException {
        long n = 0;
        for (String t : cp.tensorNames())
            n += io.cusprun.model.TensorInfo.numel(cp.info(t).shape());
        return n;
    }

    private static double[] logSoftmax(float[] logits, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[from + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[from + i] - max);
        double lse = max + Math.log(sum);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = logits[from + i] - lse;
        return out;
    }

    private static double logAdd(double a, double b) {
        if (a == Double.NEGATIVE_INFINITY) return b;
        double m = Math.max(a, b);
        return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
    }

    /**
     * A Llama 2-style tokenizer.json (SentencePiece BPE with byte fallback: ▁ for spaces, the 256
     * {@code <0xXX>} pieces, BOS through a TemplateProcessing post-processor) whose merges are
     * learnt here from {@code texts}: each round merges the most frequent adjacent pair.
     */
    static ObjectNode sentencePieceTokenizer(List<String> texts, int rounds) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : List.of("<unk>", "<s>", "</s>")) vocab.put(s, vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(String.format("<0x%02X>", b), vocab.size());
        List<List<String>> words = new ArrayList<>();
        java.util.TreeSet<String> chars = new java.util.TreeSet<>();
        for (String t : texts) {
            for (String w : ("▁" + t.replace(" ", "▁")).split("(?=▁)")) {
                List<String> symbols = new ArrayList<>();
                w.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
                chars.addAll(symbols);
                words.add(symbols);
            }
        }
        for (String c : chars) vocab.putIfAbsent(c, vocab.size());
        List<String[]> merges = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            Map<String, Integer> pairs = new HashMap<>();
            for (List<String> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) pairs.merge(w.get(i) + " " + w.get(i + 1), 1, Integer::sum);
            }
            String best = pairs.entrySet().stream()
                    .max(Map.Entry.<String, Integer>comparingByValue()
                            .thenComparing(Map.Entry.comparingByKey(java.util.Comparator.reverseOrder())))
                    .map(Map.Entry::getKey)
                    .orElse(null);
            if (best == null) break;
            String[] pair = best.split(" ");
            merges.add(pair);
            vocab.putIfAbsent(pair[0] + pair[1], vocab.size());
            for (List<String> w : words) {
                for (int i = 0; i + 1 < w.size(); i++) {
                    if (w.get(i).equals(pair[0]) && w.get(i + 1).equals(pair[1])) {
                        w.set(i, pair[0] + pair[1]);
                        w.remove(i + 1);
                    }
                }
            }
        }
        ObjectNode t = JSON.createObjectNode();
        t.put("version", "1.0");
        ArrayNode added = t.putArray("added_tokens");
        for (String s : List.of("<unk>", "<s>", "</s>")) {
            added.addObject()
                    .put("id", vocab.get(s))
                    .put("content", s)
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        ObjectNode norm = t.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode rep = ns.addObject().put("type", "Replace");
        rep.putObject("pattern").put("String", " ");
        rep.put("content", "▁");
        t.putNull("pre_tokenizer");
        ObjectNode pp = t.putObject("post_processor").put("type", "TemplateProcessing");
        ArrayNode single = pp.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = pp.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = pp.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(vocab.get("<s>"));
        bos.putArray("tokens").add("<s>");
        ObjectNode dec = t.putObject("decoder").put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode back = ds.addObject().put("type", "Replace");
        back.putObject("pattern").put("String", "▁");
        back.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode ms = model.putArray("merges");
        for (String[] m : merges) ms.addArray().add(m[0]).add(m[1]);
        return t;
    }
}
