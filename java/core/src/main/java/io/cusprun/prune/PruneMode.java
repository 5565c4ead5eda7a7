package io.cusprun.prune;

import io.cusprun.SettingException;

/** How removal is spread over layers (docs/method.md, "Removal and output"). */
public enum PruneMode {
    /** Same counts in every layer; a stock config describes the result. */
    UNIFORM,
    /** Each layer keeps what its own scores say (with floors); sizes go to {@code cusprun_layer_sizes}. */
    PER_LAYER;

    public static PruneMode parse(String s) {
        return switch (s) {
            case "uniform" -> UNIFORM;
            case "per-layer" -> PER_LAYER;
            default -> throw new SettingException("mode", "must be uniform or per-layer, not '" + s + "'");
        };
    }

    public String label() {
        return this == UNIFORM ? "uniform" : "per-layer";
    }
}
