package io.cusprun.prune;

/** How removal is spread over layers (DESIGN §2.3). */
public enum PruneMode {
    /** Same counts in every layer; a stock config describes the result. */
    UNIFORM,
    /** Each layer keeps what its own scores say (with floors); sizes go to {@code cusprun_layer_sizes}. */
    PER_LAYER;

    public static PruneMode parse(String s) {
        return switch (s) {
            case "uniform" -> UNIFORM;
            case "per-layer" -> PER_LAYER;
            default -> throw new IllegalArgumentException("unknown --mode '" + s + "' (uniform or per-layer)");
        };
    }

    public String label() {
        return this == UNIFORM ? "uniform" : "per-layer";
    }
}
