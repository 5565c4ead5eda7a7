package io.cusprun.prune;

/** Where the per-unit statistics come from (DESIGN §2.4); all share selection, slicing and writing. */
public enum Method {
    CUSPRUN("cusprun"), RANDOM("random"), MAGNITUDE("magnitude"), WANDA_SP("wanda-sp"), FLAP("flap"),
    SHORTGPT("shortgpt"), CUSPRUN_GENERAL("cusprun-general");

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

    public static Method parse(String s) {
        for (Method m : values()) if (m.label.equals(s)) return m;
        throw new IllegalArgumentException("unknown --method '" + s
                + "' (cusprun, random, magnitude, wanda-sp, flap, shortgpt or cusprun-general)");
    }
}
