package io.cusprun.score;

import io.cusprun.engine.KernelBackend;
import java.util.function.Function;

/** Chooses the relevance kernels by name for a device. */
public final class RelevanceBackends {
    private RelevanceBackends() {}

    /**
     * {@code libtorch} (or {@code torch}): the LibTorch reference; {@code native}: the fused
     * kernels of the native engine ({@link KernelBackend#parse}, setting {@code kernels}).
     */
    public static Function<String, RelevanceBackend> byName(String name) {
        return of(KernelBackend.parse("kernels", name));
    }

    /** The relevance kernels {@code backend} computes, per device. */
    public static Function<String, RelevanceBackend> of(KernelBackend backend) {
        return switch (backend) {
            case LIBTORCH -> d -> TorchRelevanceBackend.INSTANCE;
            case NATIVE -> NativeRelevanceBackend::forDevice;
        };
    }
}
