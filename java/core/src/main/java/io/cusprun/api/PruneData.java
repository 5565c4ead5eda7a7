package io.cusprun.api;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.score.CorpusScores;
import java.nio.file.Path;
import java.util.List;

/**
 * The data behind a pruned model, for {@link ExpertPruner#statistics} and {@link
 * ExpertPruner#provenance}: the scored corpora (cusprun's dimensions), the tokenized documents
 * (the baselines' calibration data, what the compensated relevance and the refit read) and the
 * score files the scores came from. Start from {@link #NONE}, {@link #scored} or {@link #documents}
 * and add what there is.
 *
 * @param scored     per-corpus scores (empty for the baselines)
 * @param documents  tokenized documents (empty when none are used)
 * @param scoreFiles the score files read, as the manifest names them (empty when scored here)
 */
public record PruneData(List<CorpusScores> scored, List<TokenizedCorpus> documents, List<Path> scoreFiles) {
    /** No data: what {@code random} and {@code magnitude} need. */
    public static final PruneData NONE = new PruneData(List.of(), List.of(), List.of());

    public PruneData {
        scored = List.copyOf(scored);
        documents = List.copyOf(documents);
        scoreFiles = List.copyOf(scoreFiles);
    }

    /** Scored corpora alone. */
    public static PruneData scored(List<CorpusScores> scored) {
        return NONE.withScored(scored);
    }

    /** Tokenized documents alone (a baseline's calibration data). */
    public static PruneData documents(List<TokenizedCorpus> documents) {
        return NONE.withDocuments(documents);
    }

    public PruneData withScored(List<CorpusScores> s) {
        return new PruneData(s, documents, scoreFiles);
    }

    public PruneData withDocuments(List<TokenizedCorpus> d) {
        return new PruneData(scored, d, scoreFiles);
    }

    /**
     * The bytes the scored corpora's rank statistics take on the heap: held by the caller through
     * a compensation pass that follows, whose memory plan counts them.
     */
    public long heapBytes() {
        return scored.stream()
                .mapToLong(io.cusprun.score.CorpusScores::heapBytes)
                .sum();
    }

    public PruneData withScoreFiles(List<Path> f) {
        return new PruneData(scored, documents, f);
    }
}
