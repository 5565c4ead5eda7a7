package io.cusprun.score;

import io.cusprun.engine.RelevanceKernels;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** The native engine's fused kernels ({@link RelevanceKernels}) on one device. */
final class NativeRelevanceBackend implements RelevanceBackend {
    private final RelevanceKernels kernels;

    private NativeRelevanceBackend(RelevanceKernels kernels) {
        this.kernels = kernels;
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

    /** The {@code rank_update} kernel on this device: the relevance never leaves it. */
    @Override
    public void rankUpdate(Tensor relevance, Tensor rankMax, Tensor rankHist, Tensor relevanceSum) {
        kernels.rankUpdate(relevance, rankMax, rankHist, relevanceSum);
    }
}
