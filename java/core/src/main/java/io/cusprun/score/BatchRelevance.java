package io.cusprun.score;

import io.cusprun.model.Tensors;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;

/**
 * Per-document relevance of one batch, per module: fp64 tensors [nDocs, N] on the device that
 * computed them, what a worker hands the accumulating thread (which folds them into the rank
 * accumulators on that device, {@link CorpusAccumulators}). The tensors outlive the worker's
 * scopes until {@link #close}; only accumulators outlive a batch.
 */
public final class BatchRelevance implements AutoCloseable {
    private final int batchIndex;
    private final int numDocs;
    private final long tokens;
    private final Map<ModuleKey, Tensor> modules = new TreeMap<>();

    public BatchRelevance(int batchIndex, int numDocs, long tokens) {
        this.batchIndex = batchIndex;
        this.numDocs = numDocs;
        this.tokens = tokens;
    }

    /** Keeps {@code relevance} [numDocs, N] (made contiguous) until {@link #close}. */
    public synchronized void put(int layer, ModuleKind kind, Tensor relevance) {
        if (relevance.dim() != 2 || relevance.size(0) != numDocs)
            throw new IllegalArgumentException("relevance is not [documents, units]");
        Tensor old = modules.put(new ModuleKey(layer, kind), Tensors.keep(relevance.contiguous()));
        Tensors.release(old);
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

    /** In layer order; the tensors stay owned by this batch. */
    public Map<ModuleKey, Tensor> modules() {
        return modules;
    }

    @Override
    public synchronized void close() {
        modules.values().forEach(Tensors::release);
        modules.clear();
    }
}
