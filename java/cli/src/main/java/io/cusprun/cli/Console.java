package io.cusprun.cli;

import java.io.PrintStream;

/**
 * Where a command writes: results on {@code out}, progress, notes and errors on {@code err}.
 * Only {@link Main#main} binds these to the process's streams, so tests pass their own.
 *
 * @param debug print stack traces of failures (the global {@code --debug})
 */
public record Console(PrintStream out, PrintStream err, boolean debug) {}
