package io.cusprun;

import io.cusprun.model.TokenIdException;

/**
 * The exit codes of cusprun's programs (the CLI's commands and the demo-model trainer), and which
 * failure gets which: one place, so that every front end answers a failure alike.
 */
public final class ExitCode {
    public static final int OK = 0;

    /** The run failed: a missing or bad input file, I/O, data that does not fit the model. */
    public static final int FAILURE = 1;

    /** Bad usage: an option or setting out of range, an output the output policy refuses. */
    public static final int USAGE = 2;

    private ExitCode() {}

    /** The exit code of a run that ended with {@code e}. */
    public static int of(Throwable e) {
        if (e instanceof OutputPolicy.RefusedException || e instanceof SettingException) {
            return USAGE;
        }
        if (e instanceof TokenIdException) {
            return FAILURE; // data that does not fit the model: a failure like a bad input file
        }
        return e instanceof IllegalArgumentException ? USAGE : FAILURE;
    }
}
