package io.cusprun.score;

/** The native engine's fused kernels (io.cusprun.engine.RelevanceKernels) for a device. */
final class NativeRelevanceBackend {
    private NativeRelevanceBackend() {}

    /** Until the engine's Java facade is merged, the LibTorch reference stands in. */
    static RelevanceBackend forDevice(String device) {
        return TorchRelevanceBackend.INSTANCE;
    }
}
