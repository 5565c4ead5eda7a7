package io.cusprun.cli;

import io.cusprun.Errors;
import io.cusprun.Version;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Entry point of {@code java -jar cusprun.jar <command> [options]}.
 *
 * <p>Exit codes: 0 success, 2 bad usage, 1 failure. Errors are one line on stderr; {@code --debug}
 * (anywhere on the line) adds the stack trace.
 */
public final class Main {
    /** One subcommand: its one-line summary and its runner (returns the exit code). */
    record Command(String summary, Function<String[], Integer> runner) {}

    static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        // Registered in the order of the data flow; each class prints its own --help.
        COMMANDS.put("score", new Command("measure neuron relevance on corpora (one file per run, mergeable)",
                ScoreCommand::run));
        COMMANDS.put("merge", new Command("combine score files of shards or devices", MergeCommand::run));
        COMMANDS.put("prune", new Command("select irrelevant neurons and write a smaller checkpoint",
                PruneCommand::run));
        COMMANDS.put("compare", new Command("prune with several methods and ratios, evaluate, table and report",
                CompareCommand::run));
        COMMANDS.put("demo", new Command("the main job on the bundled demo model and corpora (German technical QA expert)",
                DemoCommand::run));
        COMMANDS.put("export", new Command("write a model as a GGUF file for llama.cpp", ExportCommand::run));
        COMMANDS.put("eval", new Command("perplexity or multiple-choice accuracy of a checkpoint",
                a -> new EvalCommand().run(a)));
        COMMANDS.put("inspect", new Command("describe a checkpoint: architecture, sizes, parameters, files",
                a -> new InspectCommand().run(a)));
        COMMANDS.put("bench", new Command("run the JMH benchmarks of the kernels and of scoring, print the table",
                BenchCommand::run));
    }

    private Main() {}

    public static void main(String[] args) throws InterruptedException {
        // The work runs on a fresh thread: the same LibTorch forward measured about half as fast
        // on the JVM's main thread (benchmarks/README.md, "Threads").
        int[] code = {Cli.FAILURE};
        Thread worker = new Thread(null, () -> code[0] = run(args), "cusprun", 0);
        worker.start();
        worker.join();
        System.exit(code[0]);
    }

    /** Runs the CLI and returns the exit code (tests call this instead of main). */
    public static int run(String[] args) {
        boolean debug = false;
        java.util.List<String> rest = new java.util.ArrayList<>();
        for (String a : args) {
            if (a.equals("--debug")) {
                debug = true;
                System.setProperty("cusprun.debug", "true"); // commands that catch their own errors read it
            } else {
                rest.add(a);
            }
        }
        if (rest.isEmpty() || rest.get(0).equals("--help") || rest.get(0).equals("-h") || rest.get(0).equals("help")) {
            printUsage();
            return rest.isEmpty() ? Cli.USAGE : Cli.OK;
        }
        if (rest.get(0).equals("--version")) {
            System.out.println("cusprun " + Version.VERSION);
            return Cli.OK;
        }
        Command command = COMMANDS.get(rest.get(0));
        if (command == null) {
            System.err.println("cusprun: unknown command '" + rest.get(0) + "' (commands: "
                    + String.join(", ", COMMANDS.keySet()) + ")");
            return Cli.USAGE;
        }
        String[] commandArgs = rest.subList(1, rest.size()).toArray(new String[0]);
        try {
            return command.runner().apply(commandArgs);
        } catch (UsageException e) {
            System.err.println("cusprun " + e.getMessage());
            return Cli.USAGE;
        } catch (Exception | Error e) {
            if (debug) {
                e.printStackTrace();
            }
            System.err.println("cusprun " + rest.get(0) + ": " + Errors.firstLine(e));
            return Cli.FAILURE;
        }
    }

    private static void printUsage() {
        System.out.println("cusprun " + Version.VERSION + ": prune a general LLM into a small expert model (Cus-Prun)");
        System.out.println();
        System.out.println("usage: java -jar cusprun.jar <command> [options]     (cusprun <command> --help for details)");
        System.out.println();
        for (Map.Entry<String, Command> e : COMMANDS.entrySet()) {
            System.out.printf("  %-9s %s%n", e.getKey(), e.getValue().summary());
        }
        System.out.println();
        System.out.println("Global: --debug prints stack traces; --version prints the version.");
    }
}
