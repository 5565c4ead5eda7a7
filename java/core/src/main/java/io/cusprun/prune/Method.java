package io.cusprun.prune;

import io.cusprun.SettingException;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Where the per-unit statistics come from (docs/method.md, "Baselines"); all share selection, slicing and writing. */
public enum Method {
    CUSPRUN("cusprun"),
    RANDOM("random"),
    MAGNITUDE("magnitude"),
    WANDA_SP("wanda-sp"),
    FLAP("flap"),
    SHORTGPT("shortgpt"),
    CUSPRUN_GENERAL("cusprun-general");

    private final String label;

    Method(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Needs activations of a calibration corpus. */
    public boolean needsCalibration() {
        return this == WANDA_SP || this == FLAP || this == SHORTGPT;
    }

    /**
     * Whether its statistics change with a repeat's draw of the documents or its seed: all but
     * magnitude, which reads the weights only (a comparison evaluates its models once).
     */
    public boolean dependsOnDraw() {
        return this != MAGNITUDE;
    }

    /** Every method's label, in declaration order, joined by {@code separator}. */
    public static String labels(String separator) {
        return Arrays.stream(values()).map(Method::label).collect(Collectors.joining(separator));
    }

    public static Method parse(String s) {
        for (Method m : values()) if (m.label.equals(s)) return m;
        throw new SettingException("method", "must be one of " + labels(", ") + ", not '" + s + "'");
    }
}
