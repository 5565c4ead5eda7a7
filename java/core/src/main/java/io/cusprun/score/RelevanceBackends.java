package io.cusprun.score;

import io.cusprun.SettingException;
import java.util.function.Function;

/** Chooses the relevance kernels by name for a device. */
public final class RelevanceBackends {
    private RelevanceBackends() {}

    /**
     * {@code torch}: the LibTorch reference; {@code native}: the fused kernels of the native engine.
     */
    public static Function<String, RelevanceBackend> byName(String name) {
        return switch (name) {
            case "torch" -> d -> TorchRelevanceBackend.INSTANCE;
            case "native" -> NativeRelevanceBackend::forDevice;
            default -> throw new SettingException("kernels", "must be native or torch, not '" + name + "'");
        };
    }
}
