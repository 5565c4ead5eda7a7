package io.cusprun.corpus;

import java.util.Locale;

/** The dimension a corpus stands for (docs/method.md, "Ranks and the selection rule"): the expert is irrelevant-to-all of them. */
public enum CorpusKind {
    LANGUAGE,
    DOMAIN,
    TASK;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static CorpusKind parse(String text) {
        for (CorpusKind k : values()) {
            if (k.label().equals(text.trim().toLowerCase(Locale.ROOT))) return k;
        }
        throw new IllegalArgumentException("unknown corpus kind '" + text + "' (expected language, domain or task)");
    }
}
