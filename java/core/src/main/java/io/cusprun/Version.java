package io.cusprun;

/** The version written into score files and manifests. */
public final class Version {
    public static final String VERSION = "0.1.0";

    private Version() {}
}
