package io.cusprun.cli;

import io.cusprun.Errors;
import io.cusprun.model.DType;
import io.cusprun.model.LoadOptions;
import java.io.PrintStream;
import java.io.PrintWriter;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** Shared parsing, help, option values and the error contract of the commands, so every command behaves the same. */
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

    /** An optional integer option, or its default. */
    static int intOpt(CommandLine cl, String command, String option, int def) {
        return cl.hasOption(option) ? parseInt(command, option, cl.getOptionValue(option)) : def;
    }

    /** A command body that may fail. */
    interface Body {
        int run() throws Exception;
    }

    /**
     * Runs a command body with the CLI's error contract: one line on stderr, exit 2 for bad
     * usage or arguments, 1 for failures (missing files, mismatched scores, I/O).
     */
    static int guard(String name, Body body) {
        try {
            return body.run();
        } catch (UsageException e) {
            System.err.println("cusprun " + e.getMessage());
            return Cli.USAGE;
        } catch (IllegalArgumentException e) {
            System.err.println("cusprun " + name + ": " + Errors.firstLine(e));
            return Cli.USAGE;
        } catch (Exception | Error e) {
            if (Boolean.getBoolean("cusprun.debug")) e.printStackTrace();
            System.err.println("cusprun " + name + ": " + Errors.firstLine(e));
            return Cli.FAILURE;
        }
    }

    /** Help for commands with their own usage line, on the given stream. */
    static void help(PrintStream out, String usage, String header, Options options) {
        PrintWriter w = new PrintWriter(out, true);
        new HelpFormatter().printHelp(w, 100, usage, header, options, 2, 2, null, false);
        w.flush();
    }

    /** --device / --dtype to LoadOptions (cpu and fp32 by default). */
    static LoadOptions loadOptions(String device, String dtype) {
        DType t = switch (dtype == null ? "f32" : dtype.toLowerCase()) {
            case "f32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "float16" -> DType.F16;
            default -> throw new IllegalArgumentException("--dtype must be f32, bf16 or f16, not " + dtype);
        };
        return new LoadOptions(device == null ? "cpu" : device, t);
    }

    static int positiveInt(String value, String option) {
        try {
            int v = Integer.parseInt(value);
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("--" + option + " needs a positive integer, not '" + value + "'");
    }
}
