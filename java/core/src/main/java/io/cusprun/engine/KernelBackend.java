package io.cusprun.engine;

import io.cusprun.SettingException;
import java.util.Locale;

/**
 * Which code computes a fused step: the native engine's kernels ({@link RelevanceKernels}), or
 * the same contract written with plain LibTorch ops (the reference, and what autograd can
 * differentiate). One name set for every such choice: the relevance kernels of scoring
 * ({@code score --kernels}) and the FFN activation of plain inference ({@code eval --ffn}).
 */
public enum KernelBackend {
    NATIVE("native"),
    LIBTORCH("libtorch");

    private final String label;

    KernelBackend(String label) {
        this.label = label;
    }

    /** {@code native} or {@code libtorch}, as the flags spell it. */
    public String label() {
        return label;
    }

    /**
     * {@code native} or {@code libtorch} (also {@code torch}, the earlier spelling of {@code
     * --kernels}); anything else is refused naming {@code setting}.
     */
    public static KernelBackend parse(String setting, String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "native" -> NATIVE;
            case "libtorch", "torch" -> LIBTORCH;
            default -> throw new SettingException(setting, "must be native or libtorch, not '" + name + "'");
        };
    }

    @Override
    public String toString() {
        return label;
    }
}
