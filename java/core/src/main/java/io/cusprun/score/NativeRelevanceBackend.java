package io.cusprun.score;

import io.cusprun.engine.RelevanceKernels;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** The native engine's fused kernels ({@link RelevanceKernels}) on one device. */
final class NativeRelevanceBackend implements RelevanceBackend {
    private final RelevanceKernels kernels;
    private final RelevanceKernels cpu;

    private NativeRelevanceBackend(RelevanceKernels kernels) {
        this.kernels = kernels;
        this.cpu = RelevanceKernels.cpu();
    }

    static RelevanceBackend forDevice(String device) {
        return new NativeRelevanceBackend(RelevanceKernels.forDevice(device));
    }

    @Override
    public String name() {
        return "native:" + kernels.device();
    }

    @Override
    public Tensor ffnSwiglu(Tensor gate, Tensor up, Tensor docOffsets, Tensor acc) {
        Tensor act = torch.empty(
                new long[] {gate.size(0), gate.size(1)},
                new TensorOptions(gate.scalar_type()).device(new org.bytedeco.pytorch.DeviceOptional(gate.device())),
                new MemoryFormatOptional());
        kernels.ffnSwiglu(gate, up, act, docOffsets, acc);
        return act;
    }

    @Override
    public void headGram(Tensor z, int numHeads, int groupSize, Tensor docOffsets, Tensor gram) {
        kernels.headGram(z.contiguous(), numHeads, groupSize, docOffsets, gram);
    }

    @Override
    public void qkNeuron(Tensor q, Tensor k, int numHeads, int numKvHeads, float scale, Tensor docOffsets, Tensor acc) {
        kernels.qkNeuron(q.contiguous(), k.contiguous(), numHeads, numKvHeads, scale, true, docOffsets, acc);
    }

    /** Ranks on the CPU kernel; the relevance sums it also forms are dropped (ExactSum keeps ours). */
    @Override
    public RankUpdater ranks() {
        return (relevance, nDocs, n, rankMax, rankHist, bins) -> {
            try (PointerScope scope = new PointerScope()) {
                Tensor rel = empty(torch.ScalarType.Double, nDocs, n);
                rel.data_ptr_double().put(relevance, 0, nDocs * n);
                Tensor max = empty(torch.ScalarType.Float, n);
                max.data_ptr_float().put(rankMax, 0, n);
                Tensor hist = empty(torch.ScalarType.Int, n, bins);
                hist.data_ptr_int().put(rankHist, 0, n * bins);
                Tensor sum = torch.zeros(new long[] {n}, new TensorOptions(torch.ScalarType.Double));
                cpu.rankUpdate(rel, max, hist, sum);
                max.data_ptr_float().get(rankMax, 0, n);
                hist.data_ptr_int().get(rankHist, 0, n * bins);
            }
        };
    }

    private static Tensor empty(torch.ScalarType type, long... shape) {
        return torch.empty(shape, new TensorOptions(type), new MemoryFormatOptional());
    }
}
