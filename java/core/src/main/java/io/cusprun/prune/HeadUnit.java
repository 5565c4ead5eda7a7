package io.cusprun.prune;

/** How heads are removed under grouped-query attention. */
public enum HeadUnit {
    /** Whole KV groups (a key/value head with all its query heads), by group relevance. */
    GROUP,
    /** The same number of query heads in every group (each group drops its least relevant). */
    QUERY;

    public static HeadUnit parse(String s) {
        return switch (s) {
            case "group" -> GROUP;
            case "query" -> QUERY;
            default -> throw new IllegalArgumentException("unknown --head-unit '" + s + "' (group or query)");
        };
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
