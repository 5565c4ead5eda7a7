package io.cusprun.corpus;

import io.cusprun.SettingException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

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
        return tokenize(spec, texts, encoder, maxTokens);
    }

    /**
     * A resample of the corpus, reproducible from {@code seed}: {@code maxDocs} documents drawn
     * without replacement from all of them, or, when {@code maxDocs} is 0 or not smaller than
     * the corpus, as many documents as it holds drawn with replacement (a bootstrap sample).
     * The draw depends on the seed and the corpus name, so corpora of one run get different
     * draws; the drawn documents keep their corpus order.
     */
    public static TokenizedCorpus sample(CorpusSpec spec, TokenEncoder encoder, int maxTokens, int maxDocs, long seed)
            throws IOException {
        if (maxTokens < 1) throw new SettingException("maxTokens", "must be at least 1, not " + maxTokens);
        List<String> all = DocumentReader.read(spec.path(), 0, encoder.charsNeeded(maxTokens));
        int[] picked = draw(
                all.size(),
                maxDocs,
                new SplittableRandom(seed * 0x9E3779B97F4A7C15L + spec.name().hashCode()));
        List<String> texts = new ArrayList<>(picked.length);
        for (int i : picked) texts.add(all.get(i));
        return tokenize(spec, texts, encoder, maxTokens);
    }

    /** Sorted indices into {@code n} documents: {@code k} without replacement, or n with replacement when k is 0 or at least n. */
    static int[] draw(int n, int k, SplittableRandom rnd) {
        int[] picked;
        if (k > 0 && k < n) {
            int[] perm = new int[n];
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = 0; i < k; i++) { // partial Fisher-Yates: the first k are a uniform draw
                int j = i + rnd.nextInt(n - i);
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            picked = Arrays.copyOf(perm, k);
        } else {
            picked = new int[n];
            for (int i = 0; i < n; i++) picked[i] = rnd.nextInt(n);
        }
        Arrays.sort(picked);
        return picked;
    }

    private static TokenizedCorpus tokenize(CorpusSpec spec, List<String> texts, TokenEncoder encoder, int maxTokens)
            throws IOException {
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

    /**
     * SHA-256 (hex) of the selected documents' token ids, in order, each prefixed by its length:
     * what a scoring run saw of this corpus. Another file, other contents or another selection
     * of documents (order included) gives another digest.
     */
    public String digest() {
        java.security.MessageDigest sha;
        try {
            sha = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 * 1024).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long[] doc : documents) {
            b.putLong(doc.length);
            for (long t : doc) {
                if (!b.hasRemaining()) {
                    sha.update(b.flip());
                    b.clear();
                }
                b.putLong(t);
            }
            sha.update(b.flip());
            b.clear();
        }
        return java.util.HexFormat.of().formatHex(sha.digest());
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
