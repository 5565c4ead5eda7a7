package io.cusprun.spark;

import io.cusprun.Errors;
import io.cusprun.api.ScoreJob;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.engine.Device;
import io.cusprun.model.MemorySettings;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.Scorer;
import io.cusprun.score.ShardSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Spark task: scores the canonical batches of shard {@code i/N} with the job's
 * {@link ScoreJob#score} (what {@code cusprun score --shard i/N} runs) on the device Spark assigned to the task ({@code cuda:<address>} of
 * its {@code gpu} resource, else {@code cpu}) and returns its accumulators as {@link ScoreData}.
 *
 * <p>The batch packing needs the token counts, so every task tokenizes the corpora itself and
 * keeps its own batches ({@link ShardSpec#covers}); the driver only plans the N shards.
 */
final class ShardTask implements Function<Integer, ScoreData> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ShardTask.class);
    /**
     * Test hook: the partition whose first attempt fails, a key of the job's Spark conf only (which
     * SparkConf fills from {@code spark.*} system properties where the job starts).
     */
    static final String FAIL_FIRST_ATTEMPT = "spark.cusprun.test.failFirstAttempt";

    private final boolean stream;
    private final Long budget; // null: from the machine (OptionalLong is not serializable)
    private final String model;
    private final ArrayList<String> corpora;
    private final TreeMap<String, String> settings;
    private final String kernels;
    private final int tasks;
    private final LongAccumulator documents;
    private final LongAccumulator tokens;
    private final LongAccumulator retried;

    /** Task i of {@code tasks} of the job (its model, corpora, settings, kernels and memory; devices and shard are the task's). */
    ShardTask(ScoreJob job, int tasks, LongAccumulator documents, LongAccumulator tokens, LongAccumulator retried) {
        this.model = job.model().toString();
        this.corpora =
                new ArrayList<>(job.corpora().stream().map(CorpusSpec::toString).toList());
        this.settings = new TreeMap<>(job.settings().toMap());
        this.kernels = job.kernels();
        this.stream = job.options().memory().stream();
        OptionalLong b = job.options().memory().budget();
        this.budget = b.isPresent() ? b.getAsLong() : null;
        this.tasks = tasks;
        this.documents = documents;
        this.tokens = tokens;
        this.retried = retried;
    }

    @Override
    public ScoreData call(Integer index) throws Exception {
        ShardSpec shard = ShardSpec.parse(index + "/" + tasks);
        TaskContext task = TaskContext.get();
        String host = host();
        int attempt = task == null ? 0 : task.attemptNumber();
        String where = "shard " + index + "/" + tasks + " on host " + host;
        if (task != null && attempt == 0 && task.partitionId() == failFirstAttempt()) {
            throw new IllegalStateException(where + ": attempt 0 fails as " + FAIL_FIRST_ATTEMPT + " asks");
        }
        String device = device(task == null ? Map.of() : task.resourcesJMap());
        Path modelDir = Path.of(model);
        List<CorpusSpec> specs = Corpora.parse(corpora.toArray(new String[0]));
        checkReadable(modelDir.resolve("config.json"), "model config", host);
        for (CorpusSpec s : specs) checkReadable(s.path(), "corpus " + s.name(), host);
        ScoreJob job = new ScoreJob(
                modelDir,
                specs,
                ScoreSettings.fromMap(settings),
                kernels,
                Scorer.Options.DEFAULTS
                        .withDevices(List.of(device))
                        .withShard(shard)
                        .withMemory(new MemorySettings(
                                stream, budget == null ? OptionalLong.empty() : OptionalLong.of(budget))));
        long start = System.nanoTime();
        Scorer.Result r;
        try {
            r = job.score(null);
        } catch (IOException | RuntimeException e) {
            // one line that says where: the driver reports the last attempt's message as the job's error
            throw new IOException(where + " (" + device + "): " + Errors.firstLine(e), e);
        }
        ScoreData data = ScoreData.of(r.scores());
        double seconds = (System.nanoTime() - start) / 1e9;
        LOG.info(String.format(
                Locale.ROOT,
                "cusprun shard %d/%d (attempt %d) on %s, %s: %d documents, %d tokens, %.0f tokens/s scoring, %.1f s with"
                        + " tokenizing and loading; %d bytes of scores to the driver",
                index,
                tasks,
                attempt,
                host,
                device,
                r.documents(),
                r.tokens(),
                r.tokensPerSecond(),
                seconds,
                data.serializedSize()));
        documents.add(r.documents());
        tokens.add(r.tokens());
        retried.add(attempt);
        return data;
    }

    /** {@code cuda:<address>} of the task's first {@code gpu} address, or {@code cpu} when no GPU resource is configured. */
    static String device(Map<String, ResourceInformation> resources) {
        ResourceInformation gpu = resources.get("gpu");
        if (gpu == null || gpu.addresses().length == 0) return Device.CPU.toString();
        return Device.parse("cuda:" + gpu.addresses()[0].trim()).toString(); // a bad address fails here, named
    }

    /** One-line IOException naming the path and this host when the path cannot be read here. */
    static void checkReadable(Path path, String what, String host) throws IOException {
        if (!Files.isReadable(path)) {
            throw new IOException("cannot read " + what + " " + path + " on host " + host
                    + (Files.exists(path)
                            ? " (permission denied)"
                            : " (not found: models and corpora must be on a" + " filesystem every executor sees)"));
        }
    }

    static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return System.getenv().getOrDefault("HOSTNAME", "unknown");
        }
    }

    private static int failFirstAttempt() {
        SparkEnv env = SparkEnv.get();
        String v = env != null ? env.conf().get(FAIL_FIRST_ATTEMPT, null) : null;
        return v == null ? -1 : Integer.parseInt(v.trim());
    }
}
