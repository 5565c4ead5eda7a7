package io.cusprun.model;

import java.util.Arrays;
import java.util.List;

/**
 * Token ids of one or more documents packed end to end. Document i owns positions
 * [docOffsets[i], docOffsets[i+1]); positions restart at 0 in each document and attention never
 * crosses a document boundary. docOffsets has numDocs+1 ascending entries, from 0 to the length.
 */
public record Batch(long[] tokens, long[] docOffsets) {

    public Batch {
        tokens = tokens.clone();
        docOffsets = docOffsets.clone();
        if (docOffsets.length < 2 || docOffsets[0] != 0 || docOffsets[docOffsets.length - 1] != tokens.length) {
            throw new IllegalArgumentException(
                    "docOffsets must run from 0 to " + tokens.length + ": " + Arrays.toString(docOffsets));
        }
        for (int i = 1; i < docOffsets.length; i++) {
            if (docOffsets[i] <= docOffsets[i - 1]) {
                throw new IllegalArgumentException(
                        "docOffsets must be strictly ascending (no empty documents): " + Arrays.toString(docOffsets));
            }
        }
    }

    /** One document. */
    public static Batch of(long[] tokens) {
        return new Batch(tokens, new long[] {0, tokens.length});
    }

    /** Documents packed in order. */
    public static Batch pack(List<long[]> docs) {
        long[] offsets = new long[docs.size() + 1];
        for (int i = 0; i < docs.size(); i++) {
            offsets[i + 1] = offsets[i] + docs.get(i).length;
        }
        long[] tokens = new long[Math.toIntExact(offsets[docs.size()])];
        for (int i = 0; i < docs.size(); i++) {
            System.arraycopy(docs.get(i), 0, tokens, (int) offsets[i], docs.get(i).length);
        }
        return new Batch(tokens, offsets);
    }

    @Override
    public long[] tokens() {
        return tokens.clone();
    }

    @Override
    public long[] docOffsets() {
        return docOffsets.clone();
    }

    /** Total number of tokens T. */
    public int length() {
        return tokens.length;
    }

    public int numDocs() {
        return docOffsets.length - 1;
    }

    public int docStart(int doc) {
        return (int) docOffsets[doc];
    }

    public int docLength(int doc) {
        return (int) (docOffsets[doc + 1] - docOffsets[doc]);
    }

    /** Position of each token within its document. */
    public long[] positions() {
        long[] pos = new long[tokens.length];
        for (int d = 0; d < numDocs(); d++) {
            for (int t = docStart(d), p = 0; t < docOffsets[d + 1]; t++, p++) {
                pos[t] = p;
            }
        }
        return pos;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && Arrays.equals(tokens, b.tokens) && Arrays.equals(docOffsets, b.docOffsets);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(docOffsets);
    }

    @Override
    public String toString() {
        return "Batch[" + tokens.length + " tokens, " + numDocs() + " docs]";
    }
}
