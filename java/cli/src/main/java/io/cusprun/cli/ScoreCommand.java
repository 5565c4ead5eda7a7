package io.cusprun.cli;

import io.cusprun.api.ScoreJob;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.Scorer;
import io.cusprun.score.ShardSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code cusprun score}: relevance rank statistics of a model on corpora (docs/pipeline.md, "Scoring runs"). */
public final class ScoreCommand implements Command {
    static final String NAME = "score";
    static final Duration DEFAULT_CHECKPOINT = Duration.ofSeconds(60);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "measure neuron relevance on corpora (one file per run, mergeable)";
    }

    @Override
    public String description() {
        return "Scores the model's FFN neurons, heads and KV groups on each corpus.";
    }

    @Override
    public String examples() {
        return "  cusprun score --model llama --corpus language:de=de.txt --corpus domain:med=med.jsonl --out scores.safetensors\n";
    }

    @Override
    public Options options() {
        ScoreSettings d = ScoreSettings.DEFAULTS;
        Options o = new Options();
        o.addOption(Cli.option("model", "DIR", "model directory (config.json, *.safetensors, tokenizer.json)"));
        o.addOption(Option.builder()
                .longOpt("corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc(
                        "corpus: KIND language|domain|task; PATH .txt (blank-line separated), .jsonl (field text) or a folder; repeatable")
                .build());
        o.addOption(Cli.option("out", "FILE", "score file to write (safetensors)"));
        o.addOption(Cli.option("max-tokens", "N", "truncate documents to N tokens (default " + d.maxTokens() + ")"));
        o.addOption(Cli.option("docs", "N|all", "use at most N documents per corpus (default all)"));
        o.addOption(Cli.option("devices", "LIST", "workers: cpu (default), cpu,cpu, cuda:0,cuda:1"));
        o.addOption(Cli.option("shard", "I/N", "score every N-th packed batch from I (merge shards with 'merge')"));
        o.addOption(Cli.flag("resume", "continue from FILE.partial if present"));
        o.addOption(Cli.option("bins", "B", "rank histogram bins (default " + d.bins() + ")"));
        o.addOption(
                Cli.option("batch-tokens", "N", "token budget of a packed batch (default " + d.batchTokens() + ")"));
        o.addOption(Cli.option("batch-docs", "N", "most documents in a packed batch (default " + d.batchDocs() + ")"));
        o.addOption(Cli.flag("neurons", "also score query/key pairs and value/output neurons"));
        o.addOption(Cli.option(
                "kernels",
                "native|libtorch",
                "relevance kernels (default " + ScoreJob.DEFAULT_KERNELS + "; torch: libtorch)"));
        o.addOption(Cli.option(
                "checkpoint-seconds", "S", "checkpoint interval (default " + DEFAULT_CHECKPOINT.toSeconds() + ")"));
        o.addOption(Cli.flag("no-progress", "no progress bar"));
        Cli.addMemoryOptions(o);
        o.addOption(Cli.forceOption());
        o.addOption(Cli.helpOption());
        return o;
    }

    /** The score settings the options ask for (shared with prune and compare, which score too). */
    static ScoreSettings settings(CommandLine cl, ScoreSettings defaults) {
        return defaults.withMaxTokens(Cli.intOption(cl, "max-tokens", defaults.maxTokens(), 1, Cli.MAX_COUNT))
                .withMaxDocs(Cli.docsOption(cl, "docs", defaults.maxDocs()));
    }

    /**
     * The score options' values as a {@link ScoreJob}, checked as {@code cusprun score} checks them
     * (one-line {@link UsageException} or {@code SettingException}); the files are not looked at.
     */
    static ScoreJob job(CommandLine cl) {
        Path model = Path.of(Cli.required(cl, "model"));
        List<CorpusSpec> specs = Corpora.parse(cl.getOptionValues("corpus"));
        if (specs.isEmpty()) throw new UsageException("--corpus is required");
        ScoreSettings d = ScoreSettings.DEFAULTS;
        ScoreSettings settings = settings(cl, d)
                .withBins(Cli.intOption(cl, "bins", d.bins(), 2, 100_000))
                .withBatchTokens(Cli.intOption(cl, "batch-tokens", d.batchTokens(), 1, Cli.MAX_COUNT))
                .withBatchDocs(Cli.intOption(cl, "batch-docs", d.batchDocs(), 1, Cli.MAX_COUNT))
                .withNeurons(cl.hasOption("neurons"));
        ShardSpec shard = cl.hasOption("shard") ? ShardSpec.parse(cl.getOptionValue("shard")) : ShardSpec.ALL;
        List<String> devices = Arrays.stream(cl.getOptionValue("devices", "cpu").split(",", -1))
                .map(dev -> Cli.device("devices", dev))
                .toList();
        int checkpointSeconds =
                Cli.intOption(cl, "checkpoint-seconds", (int) DEFAULT_CHECKPOINT.toSeconds(), 1, 7 * 24 * 3600);
        Scorer.Options options = Scorer.Options.DEFAULTS
                .withDevices(devices)
                .withShard(shard)
                .withPartial(null, cl.hasOption("resume"))
                .withCheckpointEvery(Duration.ofSeconds(checkpointSeconds))
                .withMemory(Cli.memory(cl));
        return new ScoreJob(model, specs, settings, cl.getOptionValue("kernels", ScoreJob.DEFAULT_KERNELS), options);
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        ScoreJob job = job(cl);
        boolean dryRun = cl.hasOption("dry-run");
        Path out = dryRun
                ? Path.of(Cli.required(cl, "out"))
                : Cli.output(
                        cl,
                        "out",
                        null,
                        ScoreFile.OUTPUT,
                        Cli.inputs(job.model(), "--model", job.corpora(), "--corpus"),
                        console);
        job.checkInputs(); // arguments first, then the files they name
        if (dryRun) {
            List<TokenizedCorpus> corpora = job.tokenize();
            long docs = corpora.stream().mapToLong(TokenizedCorpus::size).sum();
            long tokens = corpora.stream().mapToLong(TokenizedCorpus::tokens).sum();
            console.out().printf(Locale.ROOT, "%d documents, %d tokens%n", docs, tokens);
            for (var e : job.plans(corpora).entrySet()) {
                console.out().println(e.getKey() + ": " + e.getValue().describe(tokens / Math.max(1, docs)));
            }
            return Cli.OK;
        }
        Scorer.Result r = job.run(out, cl.hasOption("no-progress") ? null : console.err());
        console.err()
                .printf(
                        Locale.ROOT,
                        "scored %d documents, %d tokens in %.1f s (%.0f tokens/s) -> %s%n",
                        r.documents(),
                        r.tokens(),
                        r.seconds(),
                        r.tokensPerSecond(),
                        out);
        return Cli.OK;
    }
}
