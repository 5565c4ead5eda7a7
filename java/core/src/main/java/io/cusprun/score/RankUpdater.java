package io.cusprun.score;

/**
 * Per-document percentile ranks folded into running max and histogram (the
 * {@code rank_update} kernel's contract, cusprun.h): rank ascending, ties get their mean
 * rank, p = rank / (N-1), rank_max = max(rank_max, p), hist[k][min(B-1, floor(p*B))] += 1.
 */
public interface RankUpdater {
    void update(double[] relevance, int nDocs, int n, float[] rankMax, int[] rankHist, int bins);

    /** Plain-Java reference of the contract (used where the native library is not wanted, and in tests). */
    RankUpdater JAVA = (relevance, nDocs, n, rankMax, rankHist, bins) -> {
        Integer[] order = new Integer[n];
        double[] row = new double[n];
        for (int doc = 0; doc < nDocs; doc++) {
            System.arraycopy(relevance, doc * n, row, 0, n);
            for (int k = 0; k < n; k++) order[k] = k;
            java.util.Arrays.sort(order, (a, b) -> Double.compare(row[a], row[b]));
            int i = 0;
            while (i < n) {
                int j = i;
                while (j + 1 < n && row[order[j + 1]] == row[order[i]]) j++;
                double meanRank = (i + j) / 2.0;
                float p = n == 1 ? 0f : (float) (meanRank / (n - 1));
                for (int t = i; t <= j; t++) {
                    int k = order[t];
                    rankMax[k] = Math.max(rankMax[k], p);
                    int bin = Math.min(bins - 1, (int) Math.floor(p * (double) bins));
                    rankHist[k * bins + bin]++;
                }
                i = j + 1;
            }
        }
    };
}
