package io.cusprun.spark;

import io.cusprun.Errors;
import io.cusprun.OutputPolicy;
import io.cusprun.SettingException;
import io.cusprun.api.ScoreJob;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.model.MemorySettings;
import io.cusprun.options.StrictOptions;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.Scorer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code cusprun score} as one Apache Spark job: the driver plans N shards {@code i/N} of the
 * canonical batches, each task scores its shard ({@link ShardTask}) and returns its
 * accumulators, the driver merges them with a tree reduction (the exact merge of
 * {@code cusprun merge}) and writes the same score file {@code cusprun score} writes.
 *
 * <pre>{@code java -cp 'cusprun-spark.jar:lib/*' io.cusprun.spark.SparkScore --master 'local[2]' \
 *     --model DIR --corpus language:de=de.txt --out scores.safetensors}</pre>
 *
 * Takes the options of {@code cusprun score} (model, corpora, settings, output) plus
 * {@code --master} and {@code --tasks}; Spark decides devices, shards and retries, so
 * {@code --devices}, {@code --shard}, {@code --resume} and {@code --checkpoint-seconds} are refused.
 * See docs/spark.md.
 */
public final class SparkScore {
    static final String NAME = "spark-score";
    /** Set in the JVM this class starts for itself when the JVM lacks the flags Spark needs. */
    static final String RELAUNCHED = "CUSPRUN_SPARK_RELAUNCHED";
    /** Exit codes, as {@code cusprun}'s: success, failure, bad usage. */
    static final int OK = 0, FAILURE = 1, USAGE = 2;
    /** Beside cusprun-spark.jar in the build: the jars the executors need, comma-separated, relative to it. */
    static final String APP_JARS = "app-jars.txt";

    private static final Logger LOG = LoggerFactory.getLogger(SparkScore.class);
    /** Options of {@code cusprun score} that Spark decides. */
    static final List<String> REFUSED = List.of("shard", "devices", "resume", "checkpoint-seconds");

    static final String WHY_REFUSED =
            "Spark plans the shards (--tasks), assigns devices (spark.task.resource.gpu.amount)"
                    + " and re-runs failed tasks";

    /** A bad command line: exit 2. */
    static final class UsageException extends IllegalArgumentException {
        UsageException(String message) {
            super(message);
        }
    }

    private final PrintStream err;

    private SparkScore(PrintStream err) {
        this.err = err;
    }

    /** The options of {@code cusprun score} that say what to score, plus {@code --master} and {@code --tasks}. */
    static Options options() {
        ScoreSettings d = ScoreSettings.DEFAULTS;
        Options o = new Options();
        o.addOption(option("model", "DIR", "model directory (config.json, *.safetensors, tokenizer.json)"));
        o.addOption(Option.builder()
                .longOpt("corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc("corpus: KIND language|domain|task; PATH .txt, .jsonl or a folder; repeatable")
                .build());
        o.addOption(option("out", "FILE", "score file to write (safetensors)"));
        o.addOption(option("max-tokens", "N", "truncate documents to N tokens (default " + d.maxTokens() + ")"));
        o.addOption(option("docs", "N", "use at most N documents per corpus (default all)"));
        o.addOption(option("bins", "B", "rank histogram bins (default " + d.bins() + ")"));
        o.addOption(option("batch-tokens", "N", "token budget of a packed batch (default " + d.batchTokens() + ")"));
        o.addOption(flag("neurons", "also score query/key pairs and value/output neurons"));
        o.addOption(option(
                "kernels",
                "native|libtorch",
                "relevance kernels (default " + ScoreJob.DEFAULT_KERNELS + "; torch: libtorch)"));
        o.addOption(flag("stream", "executors run layer by layer: one decoder layer's weights in memory at a time"));
        o.addOption(
                option("memory-budget", "SIZE", "memory a task may use, e.g. 6G (default: 90% of what is available)"));
        o.addOption(flag("no-progress", "accepted for cusprun score's command lines; changes nothing"));
        o.addOption(flag("force", "replace an existing output (only one cusprun wrote)"));
        o.addOption(option(
                "master",
                "URL",
                "Spark master, e.g. local[2] or spark://host:7077 (default: spark.master, as spark-submit sets it)"));
        o.addOption(
                option("tasks", "N", "number of shards, one Spark task each (default: Spark's default parallelism)"));
        for (String refused : REFUSED) {
            o.addOption(Option.builder()
                    .longOpt(refused)
                    .hasArg(!refused.equals("resume"))
                    .desc("refused: " + WHY_REFUSED)
                    .build());
        }
        o.addOption(flag("help", "this help"));
        return o;
    }

    private static Option option(String name, String arg, String desc) {
        return Option.builder().longOpt(name).hasArg().argName(arg).desc(desc).build();
    }

    private static Option flag(String name, String desc) {
        return Option.builder().longOpt(name).desc(desc).build();
    }

    /** The score options as a {@link ScoreJob}: paths made absolute here, on the driver (executors run in their own folders). */
    static ScoreJob job(CommandLine cl) {
        for (String refused : REFUSED) {
            if (cl.hasOption(refused))
                throw new UsageException("--" + refused + " is not for the Spark job: " + WHY_REFUSED);
        }
        List<CorpusSpec> specs = Corpora.parse(cl.getOptionValues("corpus"));
        if (specs.isEmpty()) throw new UsageException("--corpus is required");
        ScoreSettings d = ScoreSettings.DEFAULTS;
        ScoreSettings settings = d.withMaxTokens(intOption(cl, "max-tokens", d.maxTokens(), 1, 1_000_000_000))
                .withMaxDocs(
                        cl.hasOption("docs")
                                ? OptionalInt.of(intOption(cl, "docs", 1, 1, Integer.MAX_VALUE))
                                : d.maxDocs())
                .withBins(intOption(cl, "bins", d.bins(), 2, 100_000))
                .withBatchTokens(intOption(cl, "batch-tokens", d.batchTokens(), 1, 1_000_000_000))
                .withNeurons(cl.hasOption("neurons"));
        MemorySettings memory = MemorySettings.DEFAULTS.withStream(cl.hasOption("stream"));
        if (cl.hasOption("memory-budget")) {
            try {
                memory = memory.withBudget(MemorySettings.parseSize(cl.getOptionValue("memory-budget")));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--memory-budget: " + e.getMessage());
            }
        }
        return new ScoreJob(
                        Path.of(required(cl, "model")),
                        specs,
                        settings,
                        cl.getOptionValue("kernels", ScoreJob.DEFAULT_KERNELS),
                        Scorer.Options.DEFAULTS.withMemory(memory))
                .absolute();
    }

    private static String required(CommandLine cl, String option) {
        String v = cl.getOptionValue(option);
        if (v == null) throw new UsageException("--" + option + " is required");
        return v;
    }

    static int intOption(CommandLine cl, String option, int def, int min, int max) {
        String v = cl.getOptionValue(option);
        if (v == null) return def;
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException e) {
            // the message below names the range
        }
        throw new UsageException(
                String.format(Locale.ROOT, "--%s must be an integer in [%d, %d], not '%s'", option, min, max, v));
    }

    int execute(CommandLine cl) throws Exception {
        ScoreJob job = job(cl);
        int tasks = intOption(cl, "tasks", 0, 1, 1_000_000);
        String master = cl.getOptionValue("master");
        if (master == null && System.getProperty("spark.master") == null) { // spark-submit sets it
            throw new UsageException("--master is required outside spark-submit (e.g. --master 'local[2]')");
        }
        // the files, checked once on the driver before Spark starts (executors check again, naming their host)
        job.checkInputs();
        Map<Path, String> inputs = new LinkedHashMap<>(Map.of(job.model(), "--model"));
        for (CorpusSpec c : job.corpora()) inputs.putIfAbsent(c.path(), "--corpus");
        Path out = OutputPolicy.check(
                Path.of(required(cl, "out")).toAbsolutePath().normalize(),
                "--out",
                ScoreFile.OUTPUT,
                cl.hasOption("force"),
                inputs,
                line -> err.println("cusprun: " + line));
        SparkConf conf = new SparkConf().setAppName("cusprun score " + out.getFileName());
        if (master != null) conf.setMaster(master);
        boolean local = conf.get("spark.master").startsWith("local");
        if (local && conf.contains("spark.task.resource.gpu.amount")) {
            // local mode offers no custom resources: such tasks would wait forever
            throw new UsageException(
                    "spark.task.resource.gpu.amount needs a cluster manager (standalone, Kubernetes, YARN);"
                            + " local mode schedules no GPUs and scores on the CPU without it");
        }
        if (!local) shipAppJars(conf, appJars(jobJar()));
        boolean sparkDefaults = quietSparkDefaults(conf);

        long start = System.nanoTime();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            if (sparkDefaults) quietLostConnections();
            double startup = (System.nanoTime() - start) / 1e9;
            int n = tasks > 0 ? tasks : sc.defaultParallelism();
            LongAccumulator documents = sc.sc().longAccumulator("cusprun documents");
            LongAccumulator tokens = sc.sc().longAccumulator("cusprun tokens");
            LongAccumulator retried = sc.sc().longAccumulator("cusprun failed attempts re-run");
            sc.setJobDescription(String.format(
                    Locale.ROOT,
                    "cusprun score: %d shards of %s on %s",
                    n,
                    job.corpora().stream().map(CorpusSpec::name).toList(),
                    job.model().getFileName()));
            scala.Option<String> ui = sc.sc().uiWebUrl();
            LOG.info(String.format(
                    Locale.ROOT,
                    "cusprun score: %d shards on %s (Spark start-up %.1f s)%s",
                    n,
                    sc.master(),
                    startup,
                    ui.isDefined() ? ", Spark UI at " + ui.get() : ""));
            ShardTask task = new ShardTask(job, n, documents, tokens, retried);
            long jobStart = System.nanoTime();
            ScoreData merged;
            try {
                merged = sc.parallelize(IntStream.range(0, n).boxed().toList(), n)
                        .map(task)
                        .treeReduce(ScoreData::merge);
            } catch (Exception e) {
                if (e instanceof SparkException) throw new IOException(taskFailure(e), e);
                throw e;
            }
            double seconds = (System.nanoTime() - jobStart) / 1e9;
            ScoreSet set = merged.toScoreSet();
            if (!set.shard().complete()) {
                throw new IllegalStateException("the merged shards cover " + set.shard() + ", not all batches");
            }
            ScoreFile.write(set, out); // temporary file, then rename: no file unless the job succeeded
            long docs = set.corpora().stream().mapToLong(c -> c.documents()).sum();
            long toks = set.corpora().stream().mapToLong(c -> c.tokens()).sum();
            String summary = String.format(
                    Locale.ROOT,
                    "scored %d documents, %d tokens in %.1f s (%.0f tokens/s) with %d Spark tasks on %s"
                            + " (start-up %.1f s, %d failed attempts re-run) -> %s",
                    docs,
                    toks,
                    seconds,
                    toks / Math.max(seconds, 1e-9),
                    n,
                    sc.master(),
                    startup,
                    retried.value(),
                    out);
            err.println(summary); // the driver's stderr: its log on a cluster
        }
        return OK;
    }

    /** The jar this class was loaded from, or null (run from a classes folder). */
    static Path jobJar() {
        try {
            URL url = SparkScore.class.getProtectionDomain().getCodeSource().getLocation();
            Path p = Path.of(url.toURI());
            return Files.isRegularFile(p) ? p : null;
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The job's jar and the jars listed in app-jars.txt beside it (the build writes it), or none
     * when there is no such file.
     */
    static List<Path> appJars(Path jobJar) throws IOException {
        Path list = jobJar == null ? null : jobJar.resolveSibling(APP_JARS);
        if (list == null || !Files.isRegularFile(list)) return List.of();
        List<Path> jars = new ArrayList<>(List.of(jobJar));
        for (String entry : Files.readString(list).strip().split(",")) {
            if (!entry.isBlank()) jars.add(list.resolveSibling(entry.strip()).normalize());
        }
        return jars;
    }

    /**
     * Makes sure the executors get cusprun's jars: every jar of {@code appJars} that spark.jars
     * (spark-submit's {@code --jars}) lacks is added to it. Without the list (the job's jar moved
     * away from its build), spark.jars must hold cusprun-core's jar, or the job fails here in one
     * line instead of with a serialization error on the executors.
     */
    static void shipAppJars(SparkConf conf, List<Path> appJars) {
        Set<String> shipped = new LinkedHashSet<>();
        Set<String> names = new LinkedHashSet<>();
        for (String jar : conf.get("spark.jars", "").split(",")) {
            if (jar.isBlank()) continue;
            shipped.add(jar.strip());
            names.add(jar.strip().substring(jar.strip().lastIndexOf('/') + 1));
        }
        if (appJars.isEmpty()) {
            String core = codeJarName(ScoreJob.class);
            if (core != null && !names.contains(core)) {
                throw new UsageException("the executors need cusprun's jars and spark.jars lacks " + core
                        + ": pass them with --jars $(cat java/spark/target/" + APP_JARS + ") from java/spark/target"
                        + " (or spark.jars)");
            }
            return;
        }
        List<String> missing = new ArrayList<>();
        for (Path jar : appJars) {
            if (names.contains(jar.getFileName().toString())) continue;
            if (!Files.isRegularFile(jar)) {
                throw new UsageException(
                        "jar " + jar + " listed in " + APP_JARS + " not found: rebuild java/spark (mvn package)");
            }
            missing.add(jar.toUri().toString());
        }
        if (missing.isEmpty()) return;
        shipped.addAll(missing);
        conf.set("spark.jars", String.join(",", shipped));
        LOG.info("cusprun: shipping " + missing.size() + " jars of " + APP_JARS + " that spark.jars lacked");
    }

    private static String codeJarName(Class<?> c) {
        try {
            Path p = Path.of(
                    c.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) ? p.getFileName().toString() : null;
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Under spark-submit our jar joins the class path after logging started, so log4j found no
     * configuration and Spark applied its INFO defaults (hundreds of lines a job), and applies
     * them again as the context starts. Then the job asks for WARN through {@code spark.log.level}
     * (Spark's own setting, applied as the context starts), as its {@code log4j2.properties}
     * does under {@code java -cp}; a configuration of the user's ($SPARK_HOME/conf,
     * {@code -Dlog4j2.configurationFile}, {@code spark.log.level}) is left alone. Returns whether
     * Spark's defaults are in use.
     */
    static boolean quietSparkDefaults(SparkConf conf) {
        LoggerContext spark = sparkLogging();
        if (spark == null) return false;
        String source = spark.getConfiguration().getConfigurationSource().getLocation();
        if (source == null || !source.contains("org/apache/spark/log4j2-defaults")) return false;
        conf.setIfMissing("spark.log.level", "WARN");
        return true;
    }

    /**
     * When an executor is lost, the scheduler's one "Lost executor ... worker lost" line reports it;
     * the driver's transport handler then warns about the same closed socket with a netty stack
     * trace, or not, depending on when the socket closes. Under Spark's defaults that handler logs
     * errors only, as our {@code log4j2.properties} sets it. Called once the context has started,
     * when Spark has finished setting up its logging.
     */
    static void quietLostConnections() {
        LoggerContext spark = sparkLogging();
        if (spark == null) return;
        Configuration config = spark.getConfiguration();
        if (config.getLoggers().containsKey(TRANSPORT_HANDLER)) return;
        config.addLogger(TRANSPORT_HANDLER, new LoggerConfig(TRANSPORT_HANDLER, Level.ERROR, true));
        spark.updateLoggers();
    }

    static final String TRANSPORT_HANDLER = "org.apache.spark.network.server.TransportChannelHandler";

    /** The log4j context of Spark's classes (log4j keeps one per class loader; ours may be a child of it). */
    private static LoggerContext sparkLogging() {
        return LogManager.getContext(SparkConf.class.getClassLoader(), false) instanceof LoggerContext spark
                ? spark
                : null;
    }

    /**
     * The failing task's own one-line message from Spark's "Job aborted due to stage failure: ...
     * Lost task ... (TID n) (host executor x): java.io.IOException: MESSAGE" text.
     */
    static String taskFailure(Throwable e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (!(t instanceof SparkException) && t.getMessage() != null) return io.cusprun.Errors.firstLine(t);
        }
        String first = e.getMessage() == null
                ? "Spark job failed"
                : e.getMessage().lines().findFirst().orElse("");
        Matcher m = LOST_TASK.matcher(first);
        return m.find() ? m.group(1) : first;
    }

    private static final Pattern LOST_TASK =
            Pattern.compile("Lost task .*?\\): (?:[\\w.$]+(?:Exception|Error)[\\w$]*: )?(.*)");

    /** Runs the job on the given streams; the exit code of {@code cusprun score} (0, 1 failure, 2 usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, as the CLI's Main
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        boolean debug = rest.removeIf(a -> a.equals("--debug"));
        Options options = options();
        try {
            CommandLine cl = StrictOptions.parse(options, rest.toArray(new String[0]), false, "SparkScore --help");
            if (cl.hasOption("help")) {
                PrintWriter w = new PrintWriter(out, true);
                new HelpFormatter()
                        .printHelp(
                                w,
                                100,
                                "SparkScore [options]",
                                "Scores the model on the corpora as"
                                        + " 'cusprun score' does, sharded over Spark tasks (docs/spark.md)",
                                options,
                                2,
                                2,
                                "");
                return OK;
            }
            return new SparkScore(err).execute(cl);
        } catch (ParseException e) {
            return fail(err, debug, e, Errors.firstLine(e), USAGE);
        } catch (OutputPolicy.RefusedException e) {
            return fail(err, debug, e, e.cliMessage(), USAGE);
        } catch (UsageException | SettingException e) {
            return fail(err, debug, e, e.getMessage(), USAGE);
        } catch (IllegalArgumentException e) { // a bad value (corpus spec, size), as cusprun's commands
            return fail(err, debug, e, Errors.firstLine(e), USAGE);
        } catch (Exception | Error e) {
            return fail(err, debug, e, Errors.firstLine(e), FAILURE);
        }
    }

    private static int fail(PrintStream err, boolean debug, Throwable e, String message, int code) {
        if (debug) e.printStackTrace(err);
        err.println("cusprun " + NAME + ": " + message);
        return code;
    }

    public static void main(String[] args) throws Exception {
        if (!hasModuleFlags() && System.getenv(RELAUNCHED) == null) {
            System.exit(relaunch(args));
        }
        // a fresh thread, as the CLI's Main: LibTorch measured slower on the JVM's main thread
        int[] code = {FAILURE};
        Thread worker = new Thread(null, () -> code[0] = run(args, System.out, System.err), "cusprun-spark", 0);
        worker.start();
        worker.join();
        System.exit(code[0]);
    }

    /** Whether this JVM has the {@code --add-opens} Spark needs on Java 17 (spark-submit adds them). */
    static boolean hasModuleFlags() {
        Module base = Object.class.getModule();
        Module self = SparkScore.class.getModule();
        return base.isOpen("sun.nio.ch", self)
                && base.isOpen("java.nio", self)
                && base.isOpen("java.lang.invoke", self);
    }

    /** The JVM options Spark's launcher gives every JVM it starts (JavaModuleOptions). */
    static List<String> moduleFlags() {
        return Arrays.asList(org.apache.spark.launcher.JavaModuleOptions.defaultModuleOptionArray());
    }

    /** Runs this class again in a JVM with Spark's module flags, the same JVM options and class path. */
    static int relaunch(String[] args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(moduleFlags());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SparkScore.class.getName());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put(RELAUNCHED, "1");
        Process p = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
        return p.waitFor();
    }
}
