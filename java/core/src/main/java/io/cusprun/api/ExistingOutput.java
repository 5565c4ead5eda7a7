package io.cusprun.api;

/**
 * What a writer does with an output that exists already. Either way the policy of {@link
 * io.cusprun.OutputPolicy} holds: only what cusprun wrote before (or an empty directory) is ever
 * replaced, never an input, the working directory, the home directory or the root.
 */
public enum ExistingOutput {
    /** Refuse it ({@link io.cusprun.OutputPolicy.RefusedException}): the default. */
    REFUSE,
    /** Replace it when cusprun wrote it (the CLI's {@code --force}). */
    REPLACE
}
