package io.cusprun.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * One subcommand. {@link Cli#run} gives every command the same help, parsing and error contract;
 * a command only declares its options and does its work.
 */
public interface Command {
    /** The word after {@code cusprun}. */
    String name();

    /** One line for the command list of {@code cusprun --help}. */
    String summary();

    /** The paragraph under the usage line of {@code cusprun <command> --help}. */
    String description();

    Options options();

    /** Example lines for the help, each ending in a newline; empty for none. */
    default String examples() {
        return "";
    }

    /** Operands after the options in the usage line (e.g. {@code "FILE FILE..."}); empty when the command takes none. */
    default String operands() {
        return "";
    }

    /** Does the work on parsed arguments; returns the exit code (normally {@link Cli#OK}). */
    int execute(CommandLine cl, Console console) throws Exception;
}
