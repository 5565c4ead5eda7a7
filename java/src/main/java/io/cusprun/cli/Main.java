package io.cusprun.cli;

import java.util.Arrays;

/**
 * The cusprun command line: {@code cusprun COMMAND [options]}. Dispatches to the command classes;
 * each returns its exit code (0 ok, 1 failure, 2 bad usage).
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        if (System.getProperty("slf4j.internal.verbosity") == null) {
            System.setProperty("slf4j.internal.verbosity", "ERROR"); // DJL logs through SLF4J; no provider is bundled
        }
        System.exit(run(args));
    }

    public static int run(String[] args) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            usage();
            return args.length == 0 ? CliSupport.USAGE : CliSupport.OK;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "eval" -> new EvalCommand().run(rest);
            case "inspect" -> new InspectCommand().run(rest);
            default -> {
                System.err.println("cusprun: unknown command '" + args[0] + "'");
                usage();
                yield CliSupport.USAGE;
            }
        };
    }

    private static void usage() {
        System.err.println("usage: cusprun COMMAND [options]   (COMMAND --help for its options)");
        System.err.println("  eval      perplexity or multiple-choice accuracy of a model");
        System.err.println("  inspect   describe a model checkpoint");
    }
}
