package io.cusprun.score;

import java.util.ArrayList;
import java.util.List;

/**
 * The content of a score file: rank statistics of one or more corpora for one model.
 *
 * @param modelFingerprint {@link ModelFingerprint} of the scored checkpoint
 * @param settings         what decides the numbers
 * @param shard            which share of the batches it covers
 * @param corpora          per-corpus statistics, in command-line order
 */
public record ScoreSet(String modelFingerprint, ScoreSettings settings, ShardSpec shard, List<CorpusScores> corpora) {

    public ScoreSet {
        corpora = List.copyOf(corpora);
    }

    public CorpusScores corpus(String name) {
        return corpora.stream()
                .filter(c -> c.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no corpus " + name + " in scores"));
    }

    /** Exact merge of two shards; one-line IllegalArgumentException when they do not belong together. */
    public ScoreSet merge(ScoreSet other) {
        if (!other.modelFingerprint.equals(modelFingerprint)) {
            throw new IllegalArgumentException("scores of different models (fingerprints " + shortFp(modelFingerprint)
                    + " and " + shortFp(other.modelFingerprint) + ")");
        }
        if (!other.settings.equals(settings)) {
            throw new IllegalArgumentException(
                    "scores with different settings: " + settings.toMap() + " and " + other.settings.toMap());
        }
        List<String> names = corpora.stream().map(CorpusScores::name).toList();
        List<String> otherNames = other.corpora.stream().map(CorpusScores::name).toList();
        if (!names.equals(otherNames)) {
            throw new IllegalArgumentException("scores of different corpora: " + names + " and " + otherNames);
        }
        ShardSpec union = shard.union(other.shard);
        List<CorpusScores> merged = new ArrayList<>();
        for (int i = 0; i < corpora.size(); i++) merged.add(corpora.get(i).merge(other.corpora.get(i)));
        return new ScoreSet(modelFingerprint, settings, union, merged);
    }

    public boolean sameAs(ScoreSet o) {
        if (!o.modelFingerprint.equals(modelFingerprint)
                || !o.settings.equals(settings)
                || !o.shard.equals(shard)
                || o.corpora.size() != corpora.size()) return false;
        for (int i = 0; i < corpora.size(); i++) if (!corpora.get(i).sameAs(o.corpora.get(i))) return false;
        return true;
    }

    static String shortFp(String fp) {
        return fp.length() > 12 ? fp.substring(0, 12) : fp;
    }
}
