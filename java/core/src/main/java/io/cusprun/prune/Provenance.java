package io.cusprun.prune;

import java.util.List;

/**
 * Where a plan's statistics came from, for the manifest.
 *
 * @param sourceFingerprint fingerprint of the source checkpoint
 * @param corpora           the corpora the statistics were computed on (empty for data-free methods)
 * @param scoreFiles        score files read (empty for one-shot runs)
 */
public record Provenance(String sourceFingerprint, List<CorpusRef> corpora, List<String> scoreFiles) {

    /** One corpus: its dimension, name, and how much of it was used. */
    public record CorpusRef(String kind, String name, long documents, long tokens) {}

    public Provenance {
        corpora = List.copyOf(corpora);
        scoreFiles = List.copyOf(scoreFiles);
    }
}
