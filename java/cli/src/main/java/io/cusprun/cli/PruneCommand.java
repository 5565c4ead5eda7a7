package io.cusprun.cli;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.HeadUnit;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneMode;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneReport;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ScoreSettings;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code cusprun prune}: selects units by their statistics and writes the smaller checkpoint. */
public final class PruneCommand {
    static final String NAME = "prune";

    private PruneCommand() {}

    public static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("DIR").desc("source model directory").build());
        o.addOption(Option.builder().longOpt("scores").hasArgs().argName("FILE").desc("score files (from 'score'/'merge'); their corpora are the expert's dimensions").build());
        o.addOption(Option.builder().longOpt("ratio").hasArg().argName("R").desc("fraction of decoder-block parameters to remove, e.g. 0.3").build());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR").desc("output model directory").build());
        o.addOption(Option.builder().longOpt("mode").hasArg().argName("uniform|per-layer").desc("default uniform").build());
        o.addOption(Option.builder().longOpt("granularity").hasArg().argName("ffn+heads|ffn|neurons").desc("default ffn+heads").build());
        o.addOption(Option.builder().longOpt("head-unit").hasArg().argName("query|group").desc("GQA: same number of query heads per group (default) or whole KV groups").build());
        o.addOption(Option.builder().longOpt("doc-quantile").hasArg().argName("Q").desc("1.0 = max rank over documents (default); below: that quantile").build());
        o.addOption(Option.builder().longOpt("min-ffn").hasArg().argName("F").desc("per-layer floor: keep at least this FFN fraction (default 0.1)").build());
        o.addOption(Option.builder().longOpt("masked").desc("write a full-size checkpoint with pruned weights zeroed").build());
        o.addOption(Option.builder().longOpt("dry-run").desc("print shapes and parameter counts, write nothing").build());
        o.addOption(Option.builder().longOpt("force").desc("replace an existing output").build());
        o.addOption(Option.builder().longOpt("method").hasArg().argName("M").desc("cusprun (default), random, magnitude, wanda-sp, flap, shortgpt, cusprun-general").build());
        o.addOption(Option.builder().longOpt("corpus").hasArgs().argName("KIND:NAME=PATH").desc("score these corpora first (one shot), or calibration data for wanda-sp/flap/shortgpt").build());
        o.addOption(Option.builder().longOpt("max-tokens").hasArg().argName("N").desc("with --corpus: truncate documents (default 512)").build());
        o.addOption(Option.builder().longOpt("docs").hasArg().argName("N").desc("with --corpus: documents per corpus (default all)").build());
        o.addOption(Option.builder().longOpt("seed").hasArg().argName("S").desc("seed of the random baseline (default 0)").build());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    public static int run(String[] args) {
        if (Cli.wantsHelp(args)) {
            Cli.printHelp(NAME, "Prunes the model into an expert for the scored corpora.", options(),
                    "  cusprun prune --model llama --scores de.safetensors med.safetensors --ratio 0.3 --out llama-de-med\n"
                            + "  cusprun prune --model llama --method wanda-sp --corpus language:en=wiki.txt --ratio 0.3 --out llama-wanda\n");
            return Cli.OK;
        }
        return Cli.guard(NAME, () -> execute(args));
    }

    private static int execute(String[] args) throws IOException {
        CommandLine cl = Cli.parse(NAME, options(), args);
        Path model = Path.of(Cli.required(cl, NAME, "model"));
        boolean dryRun = cl.hasOption("dry-run");
        Path out = dryRun && !cl.hasOption("out") ? null : Path.of(Cli.required(cl, NAME, "out"));
        Method method = Method.parse(cl.getOptionValue("method", "cusprun"));
        PruneSettings settings = new PruneSettings(
                Cli.parseDouble(NAME, "ratio", Cli.required(cl, NAME, "ratio")),
                PruneMode.parse(cl.getOptionValue("mode", "uniform")),
                Granularity.parse(cl.getOptionValue("granularity", "ffn+heads")),
                HeadUnit.parse(cl.getOptionValue("head-unit", "query")),
                Cli.parseDouble(NAME, "doc-quantile", cl.getOptionValue("doc-quantile", "1.0")),
                Cli.parseDouble(NAME, "min-ffn", cl.getOptionValue("min-ffn", "0.1")),
                cl.hasOption("masked"), Long.parseLong(cl.getOptionValue("seed", "0")));
        if (method == Method.SHORTGPT && settings.masked()) throw new IllegalArgumentException("shortgpt drops layers; --masked does not apply");
        List<CorpusSpec> corpusSpecs = Corpora.parse(cl.getOptionValues("corpus"));
        for (CorpusSpec s : corpusSpecs) s.checkExists();
        String[] scoreFiles = cl.getOptionValues("scores");
        if (!Files.isDirectory(model)) throw new IOException("model directory not found: " + model);
        if (out != null && Files.exists(out) && !cl.hasOption("force") && !dryRun) {
            throw new IOException("output exists: " + out + " (use --force to replace it)");
        }
        ExpertPruner pruner = ExpertPruner.open(model);
        int maxTokens = Cli.intOpt(cl, NAME, "max-tokens", 512);
        int maxDocs = Cli.intOpt(cl, NAME, "docs", 0);
        ScoreSettings scoreSettings = new ScoreSettings(maxTokens, maxDocs, 100, 2048, 16, false);

        List<Path> files = new ArrayList<>();
        List<CorpusScores> scored = new ArrayList<>();
        List<TokenizedCorpus> calibration = List.of();
        if (method == Method.CUSPRUN || method == Method.CUSPRUN_GENERAL) {
            if (scoreFiles != null) {
                for (String f : scoreFiles) files.add(Path.of(f));
                scored.addAll(pruner.readScores(files));
            }
            if (!corpusSpecs.isEmpty()) scored.addAll(pruner.withProgress(true).score(corpusSpecs, scoreSettings).corpora());
            if (scored.isEmpty()) throw new UsageException(NAME + ": " + method.label() + " needs --scores or --corpus");
        } else if (method.needsCalibration()) {
            if (corpusSpecs.isEmpty()) throw new UsageException(NAME + ": " + method.label() + " needs a calibration corpus (--corpus)");
            calibration = pruner.tokenize(corpusSpecs, scoreSettings);
        }
        PruneStatistics unitScores = pruner.statistics(method, scored, calibration, settings.seed(), settings.docQuantile());
        PrunePlan plan = pruner.plan(unitScores, settings);
        System.out.print(PruneReport.describe(plan));
        if (dryRun) return Cli.OK;
        pruner.write(plan, out, pruner.provenance(scored, calibration, files), cl.hasOption("force"));
        System.err.println("wrote " + out);
        return Cli.OK;
    }
}
