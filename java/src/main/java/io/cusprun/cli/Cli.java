package io.cusprun.cli;

import java.io.PrintWriter;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** Shared parsing and help printing for the commands, so every command behaves the same. */
public final class Cli {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;

    private Cli() {}

    /** Parses {@code args} or throws {@link UsageException} with the parser's one-line reason. */
    public static CommandLine parse(String command, Options options, String[] args) {
        try {
            return new DefaultParser().parse(options, args);
        } catch (ParseException e) {
            throw new UsageException(command + ": " + e.getMessage() + " (see 'cusprun " + command + " --help')");
        }
    }

    /** True when the user asked for help; callers print {@link #printHelp} and return {@link #OK}. */
    public static boolean wantsHelp(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("deprecation") // the classic formatter prints the compact layout we want
    public static void printHelp(String command, String summary, Options options, String examples) {
        PrintWriter out = new PrintWriter(System.out, true);
        String footer = examples == null || examples.isBlank() ? "" : "\nExamples:\n" + examples;
        new HelpFormatter().printHelp(out, 100, "cusprun " + command + " [options]",
                summary + "\n\n", options, 2, 2, footer, false);
        out.flush();
    }

    /** Reads an option that must be present, naming it when it is missing. */
    public static String required(CommandLine cl, String command, String option) {
        String v = cl.getOptionValue(option);
        if (v == null) {
            throw new UsageException(command + ": missing --" + option);
        }
        return v;
    }

    public static double parseDouble(String command, String option, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + option + " expects a number, got '" + value + "'");
        }
    }

    public static int parseInt(String command, String option, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": --" + option + " expects an integer, got '" + value + "'");
        }
    }
}
