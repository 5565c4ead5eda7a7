package io.cusprun.score;

import io.cusprun.NonFiniteException;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.engine.KernelException;
import io.cusprun.model.Tensors;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;

/**
 * The accumulation side of a score run (docs/pipeline.md, "Scoring runs"): per corpus, the
 * statistics a resumed run restored (host) and, per device, those this run gathers there
 * ({@link DeviceRanks}), the batches done and the counts. Used by one thread only, the one that
 * takes the workers' results. Statistics merge by max and exact addition, so the set built from
 * them ({@link #build}) does not depend on the devices, the order or the restarts.
 */
final class CorpusAccumulators implements AutoCloseable {
    private static final class Corpus {
        final String name;
        final Map<ModuleKey, RankAccumulator> restored = new TreeMap<>();
        final Map<String, Map<ModuleKey, DeviceRanks>> onDevice = new LinkedHashMap<>();
        final BitSet done = new BitSet();
        long documents;
        long tokens;

        Corpus(String name) {
            this.name = name;
        }
    }

    private final List<TokenizedCorpus> sources;
    private final List<Corpus> corpora = new ArrayList<>();
    private final int bins;

    CorpusAccumulators(List<TokenizedCorpus> corpora, int bins) {
        this.sources = corpora;
        this.bins = bins;
        for (TokenizedCorpus c : corpora) this.corpora.add(new Corpus(c.spec().name()));
    }

    /** The batches of corpus {@code c} whose statistics are held (restored or gathered). */
    BitSet done(int c) {
        return corpora.get(c).done;
    }

    /** Takes over what a partial file holds for corpus {@code c} (the batches {@code done}). */
    void restore(int c, CorpusScores scores, BitSet done) {
        Corpus s = corpora.get(c);
        s.done.or(done);
        scores.modules().forEach((k, a) -> s.restored.put(k, a.copy()));
        s.documents = scores.documents();
        s.tokens = scores.tokens();
    }

    /**
     * Folds one batch of corpus {@code c}, computed on {@code device}, into that device's
     * statistics by {@code backend}'s {@code rank_update}. Relevance outside [0, 2^62) (an
     * overflow in the model) is refused naming the corpus, document, layer, module and unit.
     */
    void add(int c, String device, RelevanceBackend backend, int[] documents, BatchRelevance rel) {
        Corpus s = corpora.get(c);
        Map<ModuleKey, DeviceRanks> ranks = s.onDevice.computeIfAbsent(device, d -> new TreeMap<>());
        try {
            rel.modules()
                    .forEach((key, values) -> ranks.computeIfAbsent(
                                    key, k -> new DeviceRanks((int) values.size(1), bins, values))
                            .update(values, backend));
        } catch (KernelException | ArithmeticException e) {
            NonFiniteException named = outOfRange(s.name, documents, rel);
            if (named == null) throw e;
            named.initCause(e);
            throw named;
        }
        s.documents += rel.numDocs();
        s.tokens += rel.tokens();
        s.done.set(rel.batchIndex());
    }

    /**
     * Where the batch's relevance leaves [0, 2^62), as a one-line error: the first NaN or infinity
     * in layer order, else the first value too large to sum exactly; null when there is none (the
     * failure had another cause).
     */
    static NonFiniteException outOfRange(String corpus, int[] documents, BatchRelevance rel) {
        for (boolean finiteToo : new boolean[] {false, true}) {
            for (Map.Entry<ModuleKey, Tensor> e : rel.modules().entrySet()) {
                double[] v = Tensors.toDoubles(e.getValue());
                int units = (int) e.getValue().size(1);
                for (int i = 0; i < v.length; i++) {
                    if (v[i] >= 0 && v[i] < 0x1p62 || Double.isFinite(v[i]) && !finiteToo) continue;
                    ModuleKey key = e.getKey();
                    String value = Double.isFinite(v[i])
                            ? v[i] + " (at least 2^62, beyond the exact sums)"
                            : NonFiniteException.describe(v[i]);
                    return new NonFiniteException("corpus " + corpus + ", document " + (documents[i / units] + 1)
                            + ": relevance " + value + " in layer " + key.layer() + " module "
                            + key.kind().tensorName(key.layer(), "") + " unit " + (i % units)
                            + " (the model's activations overflow)");
                }
            }
        }
        return null;
    }

    /** The statistics so far as a score set: restored ones merged with every device's. */
    ScoreSet build(String fingerprint, ScoreSettings settings, ShardSpec shard) {
        List<CorpusScores> out = new ArrayList<>();
        for (int c = 0; c < corpora.size(); c++) {
            Corpus s = corpora.get(c);
            Map<ModuleKey, RankAccumulator> modules = new TreeMap<>();
            s.restored.forEach((k, a) -> modules.put(k, a.copy()));
            for (Map<ModuleKey, DeviceRanks> device : s.onDevice.values()) {
                device.forEach((k, r) -> modules.merge(k, r.toHost(), (a, b) -> {
                    a.merge(b);
                    return a;
                }));
            }
            out.add(new CorpusScores(sources.get(c).spec().kind(), s.name, s.documents, s.tokens, modules));
        }
        return new ScoreSet(fingerprint, settings, shard, out);
    }

    @Override
    public void close() {
        for (Corpus s : corpora) {
            s.onDevice.values().forEach(m -> m.values().forEach(DeviceRanks::close));
            s.onDevice.clear();
        }
    }
}
