package io.cusprun.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.Json;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.SafetensorsHeader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * The partial file of a resumable score run (FILE.partial, docs/pipeline.md "Scoring runs"): a
 * score file of the statistics so far whose metadata records, per corpus, the batches done and
 * the digest of the documents scored, so that a resumed run continues exactly where this one
 * stopped or refuses a file written for another model, settings, shard or corpora.
 */
final class PartialCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Partial-file metadata: per corpus, the indices of the batches done. */
    static final String DONE_KEY = "done_batches";
    /** Partial-file metadata: per corpus, {@link TokenizedCorpus#digest} of the documents scored. */
    static final String DIGESTS_KEY = "corpus_digests";

    private PartialCheckpoint() {}

    static void write(
            Path file,
            ScoreTarget target,
            List<TokenizedCorpus> corpora,
            ScoreSettings settings,
            ShardSpec shard,
            CorpusAccumulators state)
            throws IOException {
        ObjectNode done = JSON.createObjectNode();
        for (int c = 0; c < corpora.size(); c++) {
            done.set(corpora.get(c).spec().name(), doneBatches(state.done(c)));
        }
        // corpora with no batch done yet have no tensors: record them with empty modules
        ScoreSet set = state.build(target.fingerprint(), settings, shard);
        ScoreFile.write(
                set,
                file,
                Map.of(
                        DONE_KEY,
                        JSON.writeValueAsString(done),
                        DIGESTS_KEY,
                        JSON.writeValueAsString(digests(corpora))));
    }

    /** Restores {@code state} from {@code file}, refusing one written for another run. */
    static void restore(
            Path file,
            ScoreTarget target,
            List<TokenizedCorpus> corpora,
            ScoreSettings settings,
            ShardSpec shard,
            CorpusAccumulators state)
            throws IOException {
        ScoreSet partial = ScoreFile.read(file);
        if (!partial.modelFingerprint().equals(target.fingerprint())
                || !partial.settings().equals(settings)
                || !partial.shard().equals(shard)) {
            throw new IOException(
                    file + " was written for another model, settings or shard; delete it or do not resume");
        }
        Map<String, String> meta = SafetensorsHeader.read(file).metadata();
        // the same corpora, names and order: the batch indices below refer to their packing
        List<String> names = corpora.stream().map(c -> c.spec().name()).toList();
        List<String> partialNames =
                partial.corpora().stream().map(CorpusScores::name).toList();
        if (!partialNames.equals(names)) {
            throw new IOException(file + " was written for the corpora " + partialNames + ", not " + names
                    + "; delete it or do not resume");
        }
        String digestsJson = meta.get(DIGESTS_KEY);
        if (digestsJson == null) {
            throw new IOException(
                    file + ": no " + DIGESTS_KEY + " (written by an older cusprun); delete it or do not resume");
        }
        JsonNode digests = Json.parse(digestsJson, file + ": " + DIGESTS_KEY);
        ObjectNode now = digests(corpora);
        for (String name : names) {
            if (!now.get(name).equals(digests.get(name))) {
                throw new IOException(file + " was written for other contents or another document selection of corpus "
                        + name + " (its documents' digest differs); delete it or do not resume");
            }
        }
        String doneJson = meta.get(DONE_KEY);
        if (doneJson == null) throw new IOException(file + ": no " + DONE_KEY + "; delete it or drop --resume");
        JsonNode done = Json.parse(doneJson, file + ": " + DONE_KEY);
        for (int c = 0; c < corpora.size(); c++) {
            String name = corpora.get(c).spec().name();
            JsonNode bits = done.get(name);
            if (bits == null) throw new IOException(file + " has no corpus " + name + "; delete it or do not resume");
            BitSet batches;
            try {
                batches = doneBatches(bits);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + DONE_KEY + " of corpus " + name + ": " + e.getMessage());
            }
            if (!batches.isEmpty()) state.restore(c, partial.corpus(name), batches);
        }
    }

    /** Per corpus name, the digest of its selected documents. */
    private static ObjectNode digests(List<TokenizedCorpus> corpora) {
        ObjectNode o = JSON.createObjectNode();
        for (TokenizedCorpus c : corpora) {
            o.put(c.spec().name(), c.digest());
        }
        return o;
    }

    /** The batches done as the JSON array of their indices, ascending. */
    static ArrayNode doneBatches(BitSet done) {
        ArrayNode a = JSON.createArrayNode();
        done.stream().forEach(a::add);
        return a;
    }

    /**
     * The batches done from a JSON array of indices, or from the string {@code "{0, 1, 5}"} that
     * partial files of cusprun 0.1.0 hold ({@code BitSet.toString}).
     */
    static BitSet doneBatches(JsonNode v) {
        BitSet out = new BitSet();
        if (v.isArray()) {
            for (JsonNode i : v) {
                if (!i.canConvertToInt() || !i.isIntegralNumber() || i.asInt() < 0) {
                    throw new IllegalArgumentException("not a batch index: " + i);
                }
                out.set(i.asInt());
            }
        } else if (v.isTextual() && v.asText().matches("\\{[0-9, ]*}")) {
            for (String part : v.asText().replaceAll("[{} ]", "").split(",")) {
                if (!part.isEmpty()) out.set(Integer.parseInt(part));
            }
        } else {
            throw new IllegalArgumentException("not an array of batch indices: " + v);
        }
        return out;
    }
}
