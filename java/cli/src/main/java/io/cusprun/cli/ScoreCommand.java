package io.cusprun.cli;

import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.TextTokenizer;
import io.cusprun.score.RelevanceBackends;
import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ScoreTarget;
import io.cusprun.score.Scorer;
import io.cusprun.score.ShardSpec;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** {@code cusprun score}: relevance rank statistics of a model on corpora (DESIGN §2.2). */
public final class ScoreCommand {
    static final String NAME = "score";

    private ScoreCommand() {}

    public static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("DIR").desc("model directory (config.json, *.safetensors, tokenizer.json)").build());
        o.addOption(Option.builder().longOpt("corpus").hasArgs().argName("KIND:NAME=PATH")
                .desc("corpus: KIND language|domain|task; PATH .txt (blank-line separated), .jsonl (field text) or a folder; repeatable").build());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("FILE").desc("score file to write (safetensors)").build());
        o.addOption(Option.builder().longOpt("max-tokens").hasArg().argName("N").desc("truncate documents to N tokens (default 512)").build());
        o.addOption(Option.builder().longOpt("docs").hasArg().argName("N").desc("use at most N documents per corpus (default all)").build());
        o.addOption(Option.builder().longOpt("devices").hasArg().argName("LIST").desc("workers: cpu (default), cpu,cpu, cuda:0,cuda:1").build());
        o.addOption(Option.builder().longOpt("shard").hasArg().argName("I/N").desc("score every N-th packed batch from I (merge shards with 'merge')").build());
        o.addOption(Option.builder().longOpt("resume").desc("continue from FILE.partial if present").build());
        o.addOption(Option.builder().longOpt("bins").hasArg().argName("B").desc("rank histogram bins (default 100)").build());
        o.addOption(Option.builder().longOpt("batch-tokens").hasArg().argName("N").desc("token budget of a packed batch (default 2048)").build());
        o.addOption(Option.builder().longOpt("neurons").desc("also score query/key pairs and value/output neurons").build());
        o.addOption(Option.builder().longOpt("kernels").hasArg().argName("native|torch").desc("relevance kernels (default native)").build());
        o.addOption(Option.builder().longOpt("checkpoint-seconds").hasArg().argName("S").desc("checkpoint interval (default 60)").build());
        o.addOption(Option.builder().longOpt("no-progress").desc("no progress bar").build());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    public static int run(String[] args) {
        if (Cli.wantsHelp(args)) {
            Cli.printHelp(NAME, "Scores the model's FFN neurons, heads and KV groups on each corpus.", options(),
                    "  cusprun score --model llama --corpus language:de=de.txt --corpus domain:med=med.jsonl --out scores.safetensors\n");
            return Cli.OK;
        }
        return Cli.guard(NAME, () -> execute(args));
    }

    private static int execute(String[] args) throws IOException {
        CommandLine cl = Cli.parse(NAME, options(), args);
        Path model = Path.of(Cli.required(cl, NAME, "model"));
        Path out = Path.of(Cli.required(cl, NAME, "out"));
        List<CorpusSpec> specs = Corpora.parse(cl.getOptionValues("corpus"));
        if (specs.isEmpty()) throw new UsageException(NAME + ": missing --corpus");
        for (CorpusSpec s : specs) s.checkExists();
        if (!Files.isDirectory(model)) throw new IOException("model directory not found: " + model);
        ScoreSettings settings = new ScoreSettings(Cli.intOpt(cl, NAME, "max-tokens", 512), Cli.intOpt(cl, NAME, "docs", 0),
                Cli.intOpt(cl, NAME, "bins", 100), Cli.intOpt(cl, NAME, "batch-tokens", 2048), 16, cl.hasOption("neurons"));
        ShardSpec shard = cl.hasOption("shard") ? ShardSpec.parse(cl.getOptionValue("shard")) : ShardSpec.ALL;
        List<String> devices = Arrays.stream(cl.getOptionValue("devices", "cpu").split(",")).map(String::trim).toList();
        String kernels = cl.getOptionValue("kernels", "native");
        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        Scorer.Options options = new Scorer.Options(devices, shard, partial, cl.hasOption("resume"),
                Duration.ofSeconds(Cli.intOpt(cl, NAME, "checkpoint-seconds", 60)), 0, !cl.hasOption("no-progress"));
        List<TokenizedCorpus> corpora;
        try (TextTokenizer tok = TextTokenizer.load(model)) {
            corpora = Corpora.load(specs, tok::encode, settings.maxTokens(), settings.maxDocs());
        }
        try (ScoreTarget target = ScoreTarget.open(model, RelevanceBackends.byName(kernels))) {
            Scorer.Result r = Scorer.run(target, corpora, settings, options);
            ScoreFile.write(r.scores(), out);
            Files.deleteIfExists(partial);
            System.err.printf(Locale.ROOT, "scored %d documents, %d tokens in %.1f s (%.0f tokens/s) -> %s%n",
                    r.documents(), r.tokens(), r.seconds(), r.tokensPerSecond(), out);
        }
        return Cli.OK;
    }
}
