package io.cusprun.cli;

import io.cusprun.AtomicOutput;
import io.cusprun.Errors;
import io.cusprun.ExitCode;
import io.cusprun.OutputPolicy;
import io.cusprun.SettingException;
import io.cusprun.engine.Device;
import io.cusprun.model.DType;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemorySettings;
import io.cusprun.options.StrictOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** The one path every command runs through: help, parsing, option values and the error contract. */
public final class Cli {
    public static final int OK = ExitCode.OK;
    public static final int FAILURE = ExitCode.FAILURE;
    public static final int USAGE = ExitCode.USAGE;

    /**
     * The library's setting names (the components of its settings records, or the name their
     * {@link SettingException} gives) and the flags that set them. SettingFlagsTest checks both
     * ways against the records and the commands' options: a setting without a flag, or a flag
     * without a setting, fails it.
     */
    static final Map<String, String> FLAGS = Map.ofEntries(
            Map.entry("ratio", "ratio"),
            Map.entry("ratios", "ratio"),
            Map.entry("mode", "mode"),
            Map.entry("granularity", "granularity"),
            Map.entry("chosenGranularity", "granularity"),
            Map.entry("headUnit", "head-unit"),
            Map.entry("docQuantile", "doc-quantile"),
            Map.entry("headRule", "head-rule"),
            Map.entry("minFfnFraction", "min-ffn"),
            Map.entry("masked", "masked"),
            Map.entry("seed", "seed"),
            Map.entry("vocabMinCount", "vocab-min-count"),
            Map.entry("vocabCorpora", "vocab-corpus"),
            Map.entry("vocabTrim", "trim-vocab"),
            Map.entry("method", "method"),
            Map.entry("methods", "method"),
            Map.entry("maxTokens", "max-tokens"),
            Map.entry("maxDocs", "docs"),
            Map.entry("bins", "bins"),
            Map.entry("batchTokens", "batch-tokens"),
            Map.entry("batchDocs", "batch-docs"),
            Map.entry("budget", "memory-budget"),
            Map.entry("stream", "stream"),
            Map.entry("compensate", "no-compensate"),
            Map.entry("relevance", "relevance"),
            Map.entry("corpora", "corpus"),
            Map.entry("device", "device"),
            Map.entry("devices", "devices"),
            Map.entry("resume", "resume"),
            Map.entry("checkpointEvery", "checkpoint-seconds"),
            Map.entry("overlapCorpora", "overlap-corpus"),
            Map.entry("evalChoice", "eval-mc"),
            Map.entry("keepDir", "keep"),
            Map.entry("neurons", "neurons"),
            Map.entry("shard", "shard"),
            Map.entry("kernels", "kernels"),
            Map.entry("model", "model"),
            Map.entry("expertCorpora", "corpus"),
            Map.entry("generalCorpus", "general-corpus"),
            Map.entry("evalExpert", "eval-expert"),
            Map.entry("evalGeneral", "eval-general"),
            Map.entry("evalDocs", "eval-docs"),
            Map.entry("maxLength", "max-length"),
            Map.entry("repeats", "repeats"),
            Map.entry("dimensionStudy", "dimension-study"),
            Map.entry("dtype", "dtype"),
            Map.entry("ffn", "ffn"));

    private Cli() {}

    /**
     * Runs {@code command} on {@code args}: exit 0 on success, 2 for bad usage or arguments, 1
     * for failures (missing files, mismatched scores, I/O). Errors are one line on the console's
     * err stream, with the stack trace after it under {@code --debug}.
     */
    public static int run(Command command, String[] args, Console console) {
        if (wantsHelp(args)) {
            printHelp(command, console);
            return OK;
        }
        try {
            return command.execute(parse(command, args), console);
        } catch (UsageException e) {
            return fail(console, command, e, e.getMessage(), USAGE);
        } catch (Exception | Error e) {
            String message = e instanceof SettingException s
                    ? flagMessage(s)
                    : e instanceof OutputPolicy.RefusedException r ? r.cliMessage() : Errors.firstLine(e);
            return fail(console, command, e, message, ExitCode.of(e));
        } finally {
            AtomicOutput.releaseClaims(); // the outputs this command claimed (OutputPolicy.check)
        }
    }

    private static int fail(Console console, Command command, Throwable e, String message, int code) {
        if (AtomicOutput.interrupted()) {
            return code; // stopped by a signal: the failure is the clean-up's doing, not the user's to read
        }
        if (console.debug()) {
            e.printStackTrace(console.err());
        }
        console.err().println("cusprun " + command.name() + ": " + message);
        return code;
    }

    /** The setting's error in the CLI's words: {@code --ratio must be ...} for the library's {@code ratio must be ...}. */
    static String flagMessage(SettingException e) {
        String flag = FLAGS.get(e.setting());
        return flag == null ? Errors.firstLine(e) : "--" + flag + " " + e.problem();
    }

    static boolean wantsHelp(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                return true;
            }
        }
        return false;
    }

    /** {@code usage: cusprun <command> [options]}, the description, the options and the examples. */
    @SuppressWarnings("deprecation") // the classic formatter prints the compact layout we want
    static void printHelp(Command command, Console console) {
        PrintWriter w = new PrintWriter(console.out(), true);
        String footer = command.examples().isBlank() ? "" : "\nExamples:\n" + command.examples();
        new HelpFormatter()
                .printHelp(
                        w,
                        100,
                        usageLine(command),
                        command.description() + "\n\n",
                        command.options(),
                        2,
                        2,
                        footer,
                        false);
        w.flush();
    }

    static String usageLine(Command command) {
        String operands = command.operands();
        return "cusprun " + command.name() + " [options]" + (operands.isEmpty() ? "" : " " + operands);
    }

    /** Parses {@code args} strictly ({@link StrictOptions}); stray operands are an error unless the command takes operands. */
    static CommandLine parse(Command command, String[] args) {
        try {
            return StrictOptions.parse(
                    command.options(), args, !command.operands().isEmpty(), "'cusprun " + command.name() + " --help'");
        } catch (ParseException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** An option with one value, e.g. {@code --model DIR}. */
    public static Option option(String name, String argName, String description) {
        return Option.builder()
                .longOpt(name)
                .hasArg()
                .argName(argName)
                .desc(description)
                .build();
    }

    /** An option without a value, e.g. {@code --json}. */
    public static Option flag(String name, String description) {
        return Option.builder().longOpt(name).desc(description).build();
    }

    /** {@code -h}/{@code --help}, on every command. */
    public static Option helpOption() {
        return Option.builder("h").longOpt("help").desc("show this help").build();
    }

    /** The {@code --force} flag of commands that write: replace an existing output cusprun wrote. */
    public static Option forceOption() {
        return Option.builder()
                .longOpt(FORCE)
                .desc("replace an existing output (only one cusprun wrote, or an empty directory)")
                .build();
    }

    static final String FORCE = "force";

    /** {@code --stream}, {@code --memory-budget} and {@code --dry-run}: on every command that runs the model. */
    public static void addMemoryOptions(Options o) {
        o.addOption(flag("stream", "run layer by layer: one decoder layer's weights in memory at a time"));
        o.addOption(
                option(
                        "memory-budget",
                        "SIZE",
                        "memory the run may use, e.g. 6G, 512M (default: 90% of what is available); streams when the model does not fit"));
        if (!o.hasLongOption("dry-run")) {
            o.addOption(flag("dry-run", "print the plan (and memory estimate) without running"));
        }
    }

    /** The memory options' values. */
    public static MemorySettings memory(CommandLine cl) {
        MemorySettings m = MemorySettings.DEFAULTS.withStream(cl.hasOption("stream"));
        if (cl.hasOption("memory-budget")) {
            try {
                m = m.withBudget(MemorySettings.parseSize(cl.getOptionValue("memory-budget")));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--memory-budget: " + e.getMessage());
            }
        }
        return m;
    }

    /**
     * The output named by {@code --option} (or {@code def} when absent; required when {@code def}
     * is null) after the output policy ({@link OutputPolicy}): refused outputs are usage errors,
     * stale temporaries of killed runs are removed with a note on stderr. Every writing command
     * calls this before any work.
     */
    public static Path output(
            CommandLine cl,
            String option,
            String def,
            OutputPolicy.Kind kind,
            Map<Path, String> inputs,
            Console console)
            throws IOException {
        String raw = def == null ? required(cl, option) : cl.getOptionValue(option, def);
        return OutputPolicy.check(
                Path.of(raw),
                "--" + option,
                kind,
                cl.hasOption(FORCE),
                inputs,
                line -> console.err().println("cusprun: " + line));
    }

    /** An ordered map of inputs for {@link #output}: each path with the option that named it. */
    public static Map<Path, String> inputs(Object... pathsAndLabels) {
        Map<Path, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < pathsAndLabels.length; i += 2) {
            String label = (String) pathsAndLabels[i + 1];
            Object p = pathsAndLabels[i];
            if (p instanceof Path path) {
                m.putIfAbsent(path, label);
            } else if (p instanceof Iterable<?> many) {
                for (Object x : many) {
                    if (x instanceof Path path) {
                        m.putIfAbsent(path, label);
                    } else if (x instanceof io.cusprun.corpus.CorpusSpec c) {
                        m.putIfAbsent(c.path(), label);
                    }
                }
            }
        }
        return m;
    }

    /** Reads an option that must be present, naming it when it is missing. */
    public static String required(CommandLine cl, String option) {
        String v = cl.getOptionValue(option);
        if (v == null) {
            throw new UsageException("--" + option + " is required");
        }
        return v;
    }

    /**
     * The one parser of integer options: the value of {@code --option}, or {@code def} when absent,
     * which must lie in [min, max].
     */
    public static int intOption(CommandLine cl, String option, int def, int min, int max) {
        String v = cl.getOptionValue(option);
        if (v == null) {
            return def;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // the message below names the range
        }
        throw new UsageException(
                String.format(Locale.ROOT, "--%s must be an integer in [%d, %d], not '%s'", option, min, max, v));
    }

    /** A finite number for {@code --option}; the setting it feeds checks the range and names it. */
    static double number(String option, String value) {
        try {
            double x = Double.parseDouble(value.trim());
            if (Double.isFinite(x)) {
                return x;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new UsageException("--" + option + " must be a number, not '" + value + "'");
    }

    /** A document limit: {@code N} (at least 1) or {@code all}; {@code def} when the option is absent. */
    static OptionalInt docsOption(CommandLine cl, String option, OptionalInt def) {
        String v = cl.getOptionValue(option);
        if (v == null) {
            return def;
        }
        return v.trim().equalsIgnoreCase("all")
                ? OptionalInt.empty()
                : OptionalInt.of(intOption(cl, option, 1, 1, Integer.MAX_VALUE));
    }

    /** --device / --dtype over {@link LoadOptions#DEFAULTS}. */
    static LoadOptions loadOptions(String device, String dtype) {
        LoadOptions o = LoadOptions.DEFAULTS;
        if (device != null) {
            o = o.withDevice(device("device", device));
        }
        if (dtype == null) {
            return o;
        }
        return o.withDtype(
                switch (dtype.toLowerCase(Locale.ROOT)) {
                    case "f32", "float32" -> DType.F32;
                    case "bf16", "bfloat16" -> DType.BF16;
                    case "f16", "float16" -> DType.F16;
                    default -> throw new UsageException("--dtype must be f32, bf16 or f16, not '" + dtype + "'");
                });
    }

    /** A device name ({@code cpu}, {@code cuda}, {@code cuda:N}) for {@code --option}, checked before LibTorch sees it. */
    static String device(String option, String value) {
        try {
            return Device.parse(value).toString();
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + option + " must be cpu, cuda or cuda:N, not '" + value + "'");
        }
    }

    /** Upper bound of counts and sizes: far above any real value, and safe from int overflow when doubled. */
    public static final int MAX_COUNT = 1_000_000_000;

    /** Where this program's classes were loaded from (the jar or the classes folder), when the JVM tells. */
    static Optional<Path> codeLocation() {
        ProtectionDomain domain = Cli.class.getProtectionDomain();
        CodeSource source = domain == null ? null : domain.getCodeSource();
        URL url = source == null ? null : source.getLocation();
        if (url == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(url.toURI()));
        } catch (URISyntaxException | IllegalArgumentException | FileSystemNotFoundException e) {
            return Optional.empty(); // not a local file (a custom class loader)
        }
    }

    /**
     * {@code relative} in the checkout this program was built in: looked for in the folders above
     * the code location, up to the checkout root of java/target/cusprun.jar (2 up) or of
     * java/cli/target/classes (3 up).
     */
    static Optional<Path> inCheckout(String relative) {
        Path dir = codeLocation().map(Path::getParent).orElse(null);
        for (int up = 0; dir != null && up < 4; up++, dir = dir.getParent()) {
            Path candidate = dir.resolve(relative);
            if (Files.exists(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
