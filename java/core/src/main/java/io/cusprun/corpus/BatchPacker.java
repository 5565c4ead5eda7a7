package io.cusprun.corpus;

import java.util.ArrayList;
import java.util.List;

/**
 * Packs consecutive documents into batches of at most {@code tokenBudget} tokens and
 * {@code maxDocs} documents (a document longer than the budget gets a batch of its own).
 *
 * <p>The packing depends only on the corpus and these two numbers, never on shards or
 * workers: each document is always computed inside the same batch, at the same offset,
 * so its floating-point results, and hence scores, are bit-identical in every run.
 */
public record BatchPacker(int tokenBudget, int maxDocs) {

    public BatchPacker {
        if (tokenBudget < 1 || maxDocs < 1) throw new IllegalArgumentException("batch budget must be >= 1");
    }

    public List<DocumentBatch> pack(TokenizedCorpus corpus) {
        List<DocumentBatch> batches = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < corpus.size(); i++) {
            int len = corpus.documents().get(i).length;
            if (!current.isEmpty() && (tokens + len > tokenBudget || current.size() >= maxDocs)) {
                batches.add(build(batches.size(), corpus, current));
                current.clear();
                tokens = 0;
            }
            current.add(i);
            tokens += len;
        }
        if (!current.isEmpty()) batches.add(build(batches.size(), corpus, current));
        return batches;
    }

    private static DocumentBatch build(int index, TokenizedCorpus corpus, List<Integer> docs) {
        long[] offsets = new long[docs.size() + 1];
        for (int i = 0; i < docs.size(); i++) {
            offsets[i + 1] = offsets[i] + corpus.documents().get(docs.get(i)).length;
        }
        long[] ids = new long[(int) offsets[docs.size()]];
        int[] idx = new int[docs.size()];
        for (int i = 0; i < docs.size(); i++) {
            idx[i] = docs.get(i);
            long[] d = corpus.documents().get(idx[i]);
            System.arraycopy(d, 0, ids, (int) offsets[i], d.length);
        }
        return new DocumentBatch(index, idx, ids, offsets);
    }
}
