package io.cusprun.score;

import java.util.Map;
import java.util.TreeMap;

/**
 * Per-document relevance of one batch, per module (row-major nDocs x N, fp64): what a worker
 * hands the accumulating thread. Transient: only accumulators outlive a batch.
 */
public final class BatchRelevance {
    private final int batchIndex;
    private final int numDocs;
    private final long tokens;
    private final Map<ModuleKey, double[]> modules = new TreeMap<>();

    public BatchRelevance(int batchIndex, int numDocs, long tokens) {
        this.batchIndex = batchIndex;
        this.numDocs = numDocs;
        this.tokens = tokens;
    }

    public synchronized void put(int layer, ModuleKind kind, double[] relevance) {
        if (relevance.length % numDocs != 0)
            throw new IllegalArgumentException("relevance not a multiple of the documents");
        modules.put(new ModuleKey(layer, kind), relevance);
    }

    public int batchIndex() {
        return batchIndex;
    }

    public int numDocs() {
        return numDocs;
    }

    public long tokens() {
        return tokens;
    }

    public Map<ModuleKey, double[]> modules() {
        return modules;
    }
}
