package io.cusprun.cli;

import io.cusprun.Version;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry point of {@code java -jar cusprun.jar <command> [options]}.
 *
 * <p>Exit codes: 0 success, 2 bad usage, 1 failure. Errors are one line on stderr; {@code --debug}
 * (anywhere on the line) adds the stack trace.
 */
public final class Main {
    /** In the order of the data flow. */
    static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        for (Command c : List.of(
                new ScoreCommand(),
                new MergeCommand(),
                new PruneCommand(),
                new CompareCommand(),
                new DemoCommand(),
                new ExportCommand(),
                new EvalCommand(),
                new InspectCommand(),
                new BenchCommand())) {
            COMMANDS.put(c.name(), c);
        }
    }

    private Main() {}

    /** The only place that touches the process's streams and exit status. */
    public static void main(String[] args) throws InterruptedException {
        // The work runs on a fresh thread: LibTorch's forward once ran slower on the JVM's main
        // thread (benchmarks/README.md, "Threads"); a fresh thread is never worse.
        int[] code = {Cli.FAILURE};
        Thread worker = new Thread(null, () -> code[0] = run(args, System.out, System.err), "cusprun", 0);
        worker.start();
        worker.join();
        System.exit(code[0]);
    }

    /** Runs the CLI on the given streams and returns the exit code (tests call this instead of main). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        io.cusprun.engine.CpuRuntime.configure(); // before any tensor: huge pages, threads
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        boolean debug = rest.removeIf(a -> a.equals("--debug"));
        Console console = new Console(out, err, debug);
        if (rest.isEmpty()
                || rest.get(0).equals("--help")
                || rest.get(0).equals("-h")
                || rest.get(0).equals("help")) {
            printUsage(out);
            return rest.isEmpty() ? Cli.USAGE : Cli.OK;
        }
        if (rest.get(0).equals("--version")) {
            out.println("cusprun " + Version.VERSION);
            return Cli.OK;
        }
        Command command = COMMANDS.get(rest.get(0));
        if (command == null) {
            err.println("cusprun: unknown command '" + rest.get(0) + "' (commands: "
                    + String.join(", ", COMMANDS.keySet()) + ")");
            return Cli.USAGE;
        }
        return Cli.run(command, rest.subList(1, rest.size()).toArray(new String[0]), console);
    }

    private static void printUsage(PrintStream out) {
        out.println("cusprun " + Version.VERSION + ": prune a general LLM into a small expert model (Cus-Prun)");
        out.println();
        out.println("usage: cusprun <command> [options]     (cusprun <command> --help for details;"
                + " cusprun is java -jar cusprun.jar)");
        out.println();
        for (Command c : COMMANDS.values()) {
            out.printf("  %-9s %s%n", c.name(), c.summary());
        }
        out.println();
        out.println("Global: --debug prints stack traces; --version prints the version.");
    }
}
