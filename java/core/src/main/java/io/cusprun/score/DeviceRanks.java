package io.cusprun.score;

import io.cusprun.model.Tensors;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The rank statistics of one (layer, module) of one corpus on the device that computes its
 * relevance (docs/pipeline.md, "Where the statistics live"): rank max [N] f32, rank histogram
 * [N, bins] int32 and the exact relevance sum [N, 2] int64, updated there by {@code rank_update}
 * ({@link RelevanceBackend#rankUpdate}). Only these come back to the host ({@link #toHost}),
 * never the per-document relevance.
 */
final class DeviceRanks implements AutoCloseable {
    private final Tensor rankMax;
    private final Tensor rankHist;
    private final Tensor relevanceSum;
    private long documents;

    /** Zeroed statistics of {@code size} units on the device of {@code like}. */
    DeviceRanks(int size, int bins, Tensor like) {
        DeviceOptional device = new DeviceOptional(like.device());
        rankMax =
                Tensors.keep(torch.zeros(new long[] {size}, new TensorOptions(torch.ScalarType.Float).device(device)));
        rankHist = Tensors.keep(
                torch.zeros(new long[] {size, bins}, new TensorOptions(torch.ScalarType.Int).device(device)));
        relevanceSum = Tensors.keep(
                torch.zeros(new long[] {size, 2}, new TensorOptions(torch.ScalarType.Long).device(device)));
    }

    /** Folds in the relevance [nDocs, N] (fp64, on this device) of a batch's documents. */
    void update(Tensor relevance, RelevanceBackend backend) {
        backend.rankUpdate(relevance, rankMax, rankHist, relevanceSum);
        documents += relevance.size(0);
    }

    /** A host copy of the statistics (the small accumulators: 4 + 4 bins + 16 bytes a unit). */
    RankAccumulator toHost() {
        long[] sum = Tensors.toLongs(relevanceSum);
        int n = sum.length / 2;
        long[] hi = new long[n], lo = new long[n];
        for (int k = 0; k < n; k++) {
            hi[k] = sum[2 * k];
            lo[k] = sum[2 * k + 1];
        }
        return RankAccumulator.of(Tensors.toFloats(rankMax), Tensors.toInts(rankHist), ExactSum.of(hi, lo), documents);
    }

    @Override
    public void close() {
        Tensors.release(rankMax);
        Tensors.release(rankHist);
        Tensors.release(relevanceSum);
    }
}
