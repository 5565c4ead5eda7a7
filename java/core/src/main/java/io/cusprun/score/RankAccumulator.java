package io.cusprun.score;

import java.util.Arrays;

/**
 * Streaming statistics of one (layer, module) over the documents of one corpus (docs/method.md, "Ranks and the selection rule"):
 * the running max of each unit's per-document percentile rank, a histogram of those ranks
 * in {@code bins} fixed bins, the order-independent sum of its relevance and the document count.
 * Everything merges by max / add, so shards, workers and resumed runs combine exactly.
 */
public final class RankAccumulator {
    private final int size;
    private final int bins;
    private final float[] rankMax;
    private final int[] rankHist;
    private final ExactSum relevanceSum;
    private long documents;

    public RankAccumulator(int size, int bins) {
        if (size < 1 || bins < 1) throw new IllegalArgumentException("size and bins must be >= 1");
        this.size = size;
        this.bins = bins;
        this.rankMax = new float[size];
        this.rankHist = new int[size * bins];
        this.relevanceSum = new ExactSum(size);
    }

    /** Rebuilds an accumulator from stored statistics (a score file). */
    public static RankAccumulator of(float[] rankMax, int[] rankHist, ExactSum sum, long documents) {
        int n = rankMax.length;
        if (n == 0 || rankHist.length % n != 0 || sum.size() != n) {
            throw new IllegalArgumentException("inconsistent rank statistics");
        }
        RankAccumulator a = new RankAccumulator(n, rankHist.length / n);
        System.arraycopy(rankMax, 0, a.rankMax, 0, n);
        System.arraycopy(rankHist, 0, a.rankHist, 0, rankHist.length);
        a.relevanceSum.addAll(sum);
        a.documents = documents;
        return a;
    }

    /**
     * Adds the relevance of {@code nDocs} documents (row-major nDocs x size, fp64): ranks
     * through {@code ranks} (the native kernel or the Java reference), sums exactly here.
     */
    public void update(double[] relevance, int nDocs, RankUpdater ranks) {
        if (relevance.length != (long) nDocs * size) throw new IllegalArgumentException("relevance has wrong size");
        ranks.update(relevance, nDocs, size, rankMax, rankHist, bins);
        for (int i = 0; i < nDocs; i++) {
            for (int k = 0; k < size; k++) relevanceSum.add(k, relevance[i * size + k]);
        }
        documents += nDocs;
    }

    public void merge(RankAccumulator other) {
        if (other.size != size || other.bins != bins)
            throw new IllegalArgumentException("cannot merge different shapes");
        for (int k = 0; k < size; k++) rankMax[k] = Math.max(rankMax[k], other.rankMax[k]);
        for (int i = 0; i < rankHist.length; i++) rankHist[i] = Math.addExact(rankHist[i], other.rankHist[i]);
        relevanceSum.addAll(other.relevanceSum);
        documents += other.documents;
    }

    public RankAccumulator copy() {
        return of(rankMax, rankHist, relevanceSum, documents);
    }

    /**
     * The bytes its arrays take on the heap: per unit the running max (4), the histogram (4 per
     * bin) and the exact sum (16), as the memory plan counts rank accumulators.
     */
    public long heapBytes() {
        return (long) size * (4 + 4L * bins + 16);
    }

    public int size() {
        return size;
    }

    public int bins() {
        return bins;
    }

    public long documents() {
        return documents;
    }

    public float[] rankMax() {
        return rankMax.clone();
    }

    public int[] rankHist() {
        return rankHist.clone();
    }

    public ExactSum exactSum() {
        return ExactSum.of(relevanceSum.hi(), relevanceSum.lo());
    }

    public double[] relevanceSum() {
        return relevanceSum.toDoubles();
    }

    /** Max rank of unit k (q = 1) or the upper edge of the bin holding its q-quantile over documents. */
    public double rankStatistic(int k, double quantile) {
        if (quantile >= 1.0) return rankMax[k];
        long need = (long) Math.ceil(quantile * documents);
        if (need < 1) need = 1;
        long seen = 0;
        for (int b = 0; b < bins; b++) {
            seen += rankHist[k * bins + b];
            if (seen >= need) return Math.min(rankMax[k], (b + 1) / (double) bins);
        }
        return rankMax[k];
    }

    /** Bitwise equality of every statistic (the exactness tests use it). */
    public boolean sameAs(RankAccumulator o) {
        return size == o.size
                && bins == o.bins
                && documents == o.documents
                && Arrays.equals(rankMax, o.rankMax)
                && Arrays.equals(rankHist, o.rankHist)
                && Arrays.equals(relevanceSum.hi(), o.relevanceSum.hi())
                && Arrays.equals(relevanceSum.lo(), o.relevanceSum.lo());
    }
}
