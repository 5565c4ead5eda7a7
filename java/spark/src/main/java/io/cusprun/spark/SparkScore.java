package io.cusprun.spark;

import io.cusprun.cli.Cli;
import io.cusprun.cli.Command;
import io.cusprun.cli.Console;
import io.cusprun.cli.ScoreCommand;
import io.cusprun.cli.UsageException;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
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
public final class SparkScore implements Command {
    static final String NAME = "spark-score";
    /** Set in the JVM this class starts for itself when the JVM lacks the flags Spark needs. */
    static final String RELAUNCHED = "CUSPRUN_SPARK_RELAUNCHED";

    private static final Logger LOG = LoggerFactory.getLogger(SparkScore.class);
    /** Options of {@code cusprun score} that Spark decides. */
    static final List<String> REFUSED = List.of("shard", "devices", "resume", "checkpoint-seconds");

    static final String WHY_REFUSED =
            "Spark plans the shards (--tasks), assigns devices (spark.task.resource.gpu.amount)"
                    + " and re-runs failed tasks";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "cusprun score as an Apache Spark job (one task per shard, merged exactly)";
    }

    @Override
    public String description() {
        return "Scores the model on the corpora as 'cusprun score' does, sharded over Spark tasks; "
                + "the score file is bit-identical to the single-process one.";
    }

    @Override
    public String examples() {
        return "  java -cp 'java/spark/target/cusprun-spark.jar:java/spark/target/lib/*' io.cusprun.spark.SparkScore \\\n"
                + "      --master 'local[2]' --model llama --corpus language:de=de.txt --out scores.safetensors\n"
                + "  spark-submit --class io.cusprun.spark.SparkScore [spark options] cusprun-spark.jar \\\n"
                + "      --model /mnt/cluster/llama --corpus language:de=/mnt/cluster/de.txt --tasks 64 --out /mnt/cluster/s.safetensors\n"
                + "  (docs/spark.md: JVM flags, jars to ship, Kubernetes with GPUs)\n";
    }

    @Override
    public Options options() {
        Options o = new Options();
        for (Option opt : new ScoreCommand().options().getOptions()) {
            if (REFUSED.contains(opt.getLongOpt())) {
                Option.Builder b = Option.builder().longOpt(opt.getLongOpt()).desc("refused: " + WHY_REFUSED);
                o.addOption((opt.hasArg() ? b.hasArg().argName(opt.getArgName()) : b).build());
            } else {
                o.addOption(opt);
            }
        }
        o.addOption(Option.builder()
                .longOpt("master")
                .hasArg()
                .argName("URL")
                .desc(
                        "Spark master, e.g. local[2] or spark://host:7077 (default: spark.master, as spark-submit sets it)")
                .build());
        o.addOption(Option.builder()
                .longOpt("tasks")
                .hasArg()
                .argName("N")
                .desc("number of shards, one Spark task each (default: Spark's default parallelism)")
                .build());
        return o;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws Exception {
        ScoreCommand.Request q = ScoreCommand.request(cl);
        for (String refused : REFUSED) {
            if (cl.hasOption(refused))
                throw new UsageException("--" + refused + " is not for the Spark job: " + WHY_REFUSED);
        }
        int tasks = Cli.intOption(cl, "tasks", 0, 1, 1_000_000);
        String master = cl.getOptionValue("master");
        if (master == null && System.getProperty("spark.master") == null) { // spark-submit sets it
            throw new UsageException("--master is required outside spark-submit (e.g. --master 'local[2]')");
        }
        // the files the driver sees: fail fast, before Spark starts (executors check again, naming their host)
        for (CorpusSpec s : q.corpora()) s.checkExists();
        if (!Files.isDirectory(q.model())) throw new IOException("model directory not found: " + q.model());
        if (!Files.isRegularFile(q.model().resolve("config.json"))) {
            throw new IOException("model directory has no config.json: " + q.model());
        }
        Path out = Cli.output(
                cl, "out", null, ScoreFile.OUTPUT, Cli.inputs(q.model(), "--model", q.corpora(), "--corpus"), console);
        SparkConf conf = new SparkConf().setAppName("cusprun score " + out.getFileName());
        if (master != null) conf.setMaster(master);
        if (conf.get("spark.master").startsWith("local") && conf.contains("spark.task.resource.gpu.amount")) {
            // local mode offers no custom resources: such tasks would wait forever
            throw new UsageException(
                    "spark.task.resource.gpu.amount needs a cluster manager (standalone, Kubernetes, YARN);"
                            + " local mode schedules no GPUs and scores on the CPU without it");
        }

        long start = System.nanoTime();
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            double startup = (System.nanoTime() - start) / 1e9;
            int n = tasks > 0 ? tasks : sc.defaultParallelism();
            LongAccumulator documents = sc.sc().longAccumulator("cusprun documents");
            LongAccumulator tokens = sc.sc().longAccumulator("cusprun tokens");
            LongAccumulator retried = sc.sc().longAccumulator("cusprun failed attempts re-run");
            sc.setJobDescription(String.format(
                    Locale.ROOT,
                    "cusprun score: %d shards of %s on %s",
                    n,
                    q.corpora().stream().map(CorpusSpec::name).toList(),
                    q.model().getFileName()));
            scala.Option<String> ui = sc.sc().uiWebUrl();
            LOG.info(String.format(
                    Locale.ROOT,
                    "cusprun score: %d shards on %s (Spark start-up %.1f s)%s",
                    n,
                    sc.master(),
                    startup,
                    ui.isDefined() ? ", Spark UI at " + ui.get() : ""));
            ShardTask task = new ShardTask(
                            q.model(), q.corpora(), q.settings(), q.kernels(), n, documents, tokens, retried)
                    .withMemory(q.memory());
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
            console.err().println(summary); // the driver's stderr: its log on a cluster
        }
        return Cli.OK;
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
        return Cli.run(new SparkScore(), rest.toArray(new String[0]), new Console(out, err, debug));
    }

    public static void main(String[] args) throws Exception {
        if (!hasModuleFlags() && System.getenv(RELAUNCHED) == null) {
            System.exit(relaunch(args));
        }
        // a fresh thread, as the CLI's Main: LibTorch measured slower on the JVM's main thread
        int[] code = {Cli.FAILURE};
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
