package io.cusprun.corpus;

import io.cusprun.SettingException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A corpus as token ids: documents in corpus order, each truncated to {@code maxTokens}.
 * Empty documents (no token after encoding) are dropped so every document has a rank.
 */
public record TokenizedCorpus(CorpusSpec spec, List<long[]> documents) {

    public TokenizedCorpus {
        documents = List.copyOf(documents);
    }

    public static TokenizedCorpus load(CorpusSpec spec, TokenEncoder encoder, int maxTokens, int maxDocs)
            throws IOException {
        if (maxTokens < 1) throw new SettingException("maxTokens", "must be at least 1, not " + maxTokens);
        // only as much of each document as the first maxTokens tokens need is read and tokenized
        List<String> texts = DocumentReader.read(spec.path(), maxDocs, encoder.charsNeeded(maxTokens));
        List<long[]> docs = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            long[] ids = encoder.encodeFirst(texts.get(i), maxTokens);
            texts.set(i, null); // the text is no longer needed
            if (ids.length == 0) continue;
            docs.add(ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids);
        }
        if (docs.isEmpty()) throw new IOException("corpus " + spec.name() + " has no documents: " + spec.path());
        return new TokenizedCorpus(spec, docs);
    }

    public int size() {
        return documents.size();
    }

    public long tokens() {
        long n = 0;
        for (long[] d : documents) n += d.length;
        return n;
    }
}
