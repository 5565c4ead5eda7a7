package io.cusprun.spark;

import io.cusprun.corpus.CorpusKind;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ExactSum;
import io.cusprun.score.ModuleKey;
import io.cusprun.score.ModuleKind;
import io.cusprun.score.RankAccumulator;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ShardSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link ScoreSet} in a compact, {@link Serializable} form: what a Spark task sends back and
 * what the tree reduction combines. It holds exactly the numbers a score file stores (rank max,
 * histogram, exact 128-bit sums, counts), so {@code toScoreSet} is lossless; merging goes through
 * {@link ScoreSet#merge}, the merge of {@code cusprun merge}: exact, commutative and associative.
 *
 * <p>Size per corpus: for every (layer, module) with N units and B bins, N·(4 + 4B + 16) bytes
 * (rank max f32, histogram i32, exact sum 2×i64) plus a few hundred bytes of framing.
 */
public final class ScoreData implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One accumulator: N units, B bins. */
    record Module(int layer, String kind, float[] rankMax, int[] rankHist, long[] hi, long[] lo, long documents)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    record Corpus(String kind, String name, long documents, long tokens, ArrayList<Module> modules)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    private final String fingerprint;
    private final TreeMap<String, String> settings;
    private final String shard;
    private final ArrayList<Corpus> corpora;

    private ScoreData(String fingerprint, TreeMap<String, String> settings, String shard, ArrayList<Corpus> corpora) {
        this.fingerprint = fingerprint;
        this.settings = settings;
        this.shard = shard;
        this.corpora = corpora;
    }

    public static ScoreData of(ScoreSet set) {
        ArrayList<Corpus> corpora = new ArrayList<>();
        for (CorpusScores c : set.corpora()) {
            ArrayList<Module> modules = new ArrayList<>();
            for (Map.Entry<ModuleKey, RankAccumulator> e : c.modules().entrySet()) {
                RankAccumulator a = e.getValue();
                ExactSum s = a.exactSum();
                modules.add(new Module(
                        e.getKey().layer(),
                        e.getKey().kind().name(),
                        a.rankMax(),
                        a.rankHist(),
                        s.hi(),
                        s.lo(),
                        a.documents()));
            }
            corpora.add(new Corpus(c.kind().label(), c.name(), c.documents(), c.tokens(), modules));
        }
        return new ScoreData(
                set.modelFingerprint(),
                new TreeMap<>(set.settings().toMap()),
                set.shard().toString(),
                corpora);
    }

    public ScoreSet toScoreSet() {
        List<CorpusScores> out = new ArrayList<>();
        for (Corpus c : corpora) {
            Map<ModuleKey, RankAccumulator> modules = new TreeMap<>();
            for (Module m : c.modules()) {
                modules.put(
                        new ModuleKey(m.layer(), ModuleKind.valueOf(m.kind())),
                        RankAccumulator.of(m.rankMax(), m.rankHist(), ExactSum.of(m.hi(), m.lo()), m.documents()));
            }
            out.add(new CorpusScores(CorpusKind.parse(c.kind()), c.name(), c.documents(), c.tokens(), modules));
        }
        return new ScoreSet(fingerprint, ScoreSettings.fromMap(settings), ShardSpec.parseStored(shard), out);
    }

    /** The exact merge of two disjoint shares ({@link ScoreSet#merge}); one-line IllegalArgumentException on a mismatch. */
    public static ScoreData merge(ScoreData a, ScoreData b) {
        return of(a.toScoreSet().merge(b.toScoreSet()));
    }

    /** Which share of the canonical batches this covers, as a score file stores it ({@code all}, {@code 0,2/4}). */
    public String shard() {
        return shard;
    }

    /** Bytes of this object in Java serialization (what a task sends to the driver, before compression). */
    public long serializedSize() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.size();
    }
}
