package io.cusprun.api;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.Provenance;
import io.cusprun.vocab.VocabularyTrim;
import java.util.List;

/**
 * How {@link ExpertPruner#write} writes a pruned model: what its manifest records, the documents
 * the kept weights are refitted on (when the plan's settings compensate; none: written as cut),
 * the vocabulary trim (none: whole) and what to do with an existing output.
 *
 * <pre>{@code
 * pruner.write(plan, out, WriteOptions.of(provenance).withDocuments(documents));
 * }</pre>
 *
 * @param provenance what the manifest records about the data behind the plan
 * @param documents  the refit's documents, one corpus per dimension (empty: no refit)
 * @param vocabulary the vocabulary to keep, or null for the whole vocabulary
 * @param existing   refuse (the default) or replace an output cusprun wrote before
 * @param heldBytes  what the caller keeps on the host during the refit (its scored corpora,
 *                   {@link PruneData#heapBytes}), counted in the refit's memory plan
 */
public record WriteOptions(
        Provenance provenance,
        List<TokenizedCorpus> documents,
        VocabularyTrim vocabulary,
        ExistingOutput existing,
        long heldBytes) {
    public WriteOptions {
        documents = List.copyOf(documents);
        if (provenance == null) throw new IllegalArgumentException("a pruned model needs its provenance");
        if (existing == null) existing = ExistingOutput.REFUSE;
        if (heldBytes < 0) throw new IllegalArgumentException("held bytes must be >= 0");
    }

    /** Written as cut, whole vocabulary, an existing output refused. */
    public static WriteOptions of(Provenance provenance) {
        return new WriteOptions(provenance, List.of(), null, ExistingOutput.REFUSE, 0);
    }

    /** Refit on {@code d} when the plan's settings compensate. */
    public WriteOptions withDocuments(List<TokenizedCorpus> d) {
        return new WriteOptions(provenance, d, vocabulary, existing, heldBytes);
    }

    /** The vocabulary trimmed to {@code v} (null: whole). */
    public WriteOptions withVocabulary(VocabularyTrim v) {
        return new WriteOptions(provenance, documents, v, existing, heldBytes);
    }

    public WriteOptions withExisting(ExistingOutput e) {
        return new WriteOptions(provenance, documents, vocabulary, e, heldBytes);
    }

    /** The caller keeps {@code bytes} on the host during the refit (its scored corpora, {@link PruneData#heapBytes}). */
    public WriteOptions withHeld(long bytes) {
        return new WriteOptions(provenance, documents, vocabulary, existing, bytes);
    }
}
