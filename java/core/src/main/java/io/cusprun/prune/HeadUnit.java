package io.cusprun.prune;

import io.cusprun.SettingException;

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
            default -> throw new SettingException("headUnit", "must be group or query, not '" + s + "'");
        };
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
