package io.cusprun.train;

import io.cusprun.model.Batch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Training rows cut from the documents laid end to end: row r reads tokens [r C, r C + C) of the
 * stream and predicts tokens [r C + 1, r C + C + 1), C = the context length. Within a row every
 * document (or the piece of one the row starts inside) is its own {@link Batch} document:
 * positions restart and attention stops at document boundaries, as when a document is scored on
 * its own. A target that starts the next document (its BOS) is not predicted:
 * {@link #IGNORE}.
 */
public final class PackedSequences {

    /** Target id that the loss skips (LibTorch's default ignore_index). */
    public static final long IGNORE = -100;

    /** Input rows packed as one Batch, and the target of every input token ([rows x C]). */
    public record Rows(Batch batch, long[] targets) {}

    private final long[] stream;
    private final boolean[] docStart;
    private final int context;
    private final int numDocs;

    public PackedSequences(List<long[]> docs, int context) {
        if (context < 2) {
            throw new IllegalArgumentException("context must be at least 2 tokens, not " + context);
        }
        long total = 0;
        for (long[] d : docs) {
            total += d.length;
        }
        this.stream = new long[Math.toIntExact(total)];
        this.docStart = new boolean[stream.length + 1];
        int pos = 0;
        for (long[] d : docs) {
            docStart[pos] = true;
            System.arraycopy(d, 0, stream, pos, d.length);
            pos += d.length;
        }
        this.context = context;
        this.numDocs = docs.size();
        if (numRows() == 0) {
            throw new IllegalArgumentException(
                    "the documents hold " + total + " tokens, fewer than one row of " + (context + 1));
        }
    }

    public int context() {
        return context;
    }

    public int numDocs() {
        return numDocs;
    }

    /** Tokens in all documents. */
    public long numTokens() {
        return stream.length;
    }

    /** Complete rows (the stream's last partial row is left out). */
    public int numRows() {
        return (stream.length - 1) / context;
    }

    /** The given rows, in order. */
    public Rows rows(int... rows) {
        List<long[]> pieces = new ArrayList<>();
        long[] targets = new long[rows.length * context];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0 || rows[i] >= numRows()) {
                throw new IndexOutOfBoundsException("row " + rows[i] + " of " + numRows());
            }
            int start = rows[i] * context;
            int end = start + context;
            int pieceStart = start;
            for (int t = start + 1; t <= end; t++) {
                if (t == end || docStart[t]) {
                    pieces.add(Arrays.copyOfRange(stream, pieceStart, t));
                    pieceStart = t;
                }
            }
            for (int t = 0; t < context; t++) {
                int next = start + t + 1;
                targets[i * context + t] = docStart[next] ? IGNORE : stream[next];
            }
        }
        return new Rows(Batch.pack(pieces), targets);
    }
}
