package io.cusprun.cli;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.CheckpointPruner;
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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** {@code cusprun prune}: selects units by their statistics and writes the smaller checkpoint. */
public final class PruneCommand implements Command {
    static final String NAME = "prune";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "select irrelevant neurons and write a smaller checkpoint";
    }

    @Override
    public String description() {
        return "Prunes the model into an expert for the scored corpora.";
    }

    @Override
    public String examples() {
        return "  cusprun prune --model llama --scores de.safetensors med.safetensors --ratio 0.3 --out llama-de-med\n"
                + "  cusprun prune --model llama --method wanda-sp --corpus language:en=wiki.txt --ratio 0.3 --out llama-wanda\n";
    }

    @Override
    public Options options() {
        PruneSettings d = PruneSettings.DEFAULTS;
        Options o = new Options();
        o.addOption(Option.builder()
                .longOpt("model")
                .hasArg()
                .argName("DIR")
                .desc("source model directory")
                .build());
        o.addOption(Option.builder()
                .longOpt("scores")
                .hasArgs()
                .argName("FILE")
                .desc("score files (from 'score'/'merge'); their corpora are the expert's dimensions")
                .build());
        o.addOption(Option.builder()
                .longOpt("ratio")
                .hasArg()
                .argName("R")
                .desc("fraction of decoder-block parameters to remove, e.g. 0.3")
                .build());
        o.addOption(Option.builder()
                .longOpt("out")
                .hasArg()
                .argName("DIR")
                .desc("output model directory")
                .build());
        o.addOption(Option.builder()
                .longOpt("mode")
                .hasArg()
                .argName("uniform|per-layer")
                .desc("default " + d.mode().label())
                .build());
        o.addOption(Option.builder()
                .longOpt("granularity")
                .hasArg()
                .argName("ffn+heads|ffn|neurons")
                .desc("default " + d.granularity().label())
                .build());
        o.addOption(Option.builder()
                .longOpt("head-unit")
                .hasArg()
                .argName("query|group")
                .desc("GQA: same number of query heads per group or whole KV groups (default "
                        + d.headUnit().label() + ")")
                .build());
        o.addOption(Option.builder()
                .longOpt("doc-quantile")
                .hasArg()
                .argName("Q")
                .desc("1.0 = max rank over documents; below: that quantile (default " + d.docQuantile() + ")")
                .build());
        o.addOption(Option.builder()
                .longOpt("min-ffn")
                .hasArg()
                .argName("F")
                .desc("per-layer floor: keep at least this FFN fraction (default " + d.minFfnFraction() + ")")
                .build());
        o.addOption(Option.builder()
                .longOpt("masked")
                .desc("write a full-size checkpoint with pruned weights zeroed")
                .build());
        o.addOption(Option.builder()
                .longOpt("dry-run")
                .desc("print shapes and parameter counts, write nothing")
                .build());
        o.addOption(Cli.forceOption());
        o.addOption(Option.builder()
                .longOpt("method")
                .hasArg()
                .argName("M")
                .desc(Method.labels(", ") + " (default " + Method.CUSPRUN.label() + ")")
                .build());
        o.addOption(Option.builder()
                .longOpt("corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc("score these corpora first (one shot), or calibration data for wanda-sp/flap/shortgpt")
                .build());
        o.addOption(Option.builder()
                .longOpt("max-tokens")
                .hasArg()
                .argName("N")
                .desc("with --corpus: truncate documents (default " + ScoreSettings.DEFAULTS.maxTokens() + ")")
                .build());
        o.addOption(Option.builder()
                .longOpt("docs")
                .hasArg()
                .argName("N")
                .desc("with --corpus: documents per corpus (default all)")
                .build());
        o.addOption(Option.builder()
                .longOpt("seed")
                .hasArg()
                .argName("S")
                .desc("seed of the random baseline (default " + d.seed() + ")")
                .build());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    /** The selection settings the options ask for; a bad value comes back from the library as a setting error. */
    static PruneSettings settings(CommandLine cl) {
        PruneSettings d = PruneSettings.DEFAULTS;
        PruneSettings s = d.withRatio(Cli.number("ratio", Cli.required(cl, "ratio")))
                .withMode(cl.hasOption("mode") ? PruneMode.parse(cl.getOptionValue("mode")) : d.mode())
                .withHeadUnit(cl.hasOption("head-unit") ? HeadUnit.parse(cl.getOptionValue("head-unit")) : d.headUnit())
                .withMasked(cl.hasOption("masked"))
                .withSeed(Cli.intOption(cl, "seed", (int) d.seed(), 0, Integer.MAX_VALUE));
        if (cl.hasOption("doc-quantile"))
            s = s.withDocQuantile(Cli.number("doc-quantile", cl.getOptionValue("doc-quantile")));
        if (cl.hasOption("min-ffn")) s = s.withMinFfnFraction(Cli.number("min-ffn", cl.getOptionValue("min-ffn")));
        // last: neuron granularity is valid only once --masked is in
        return cl.hasOption("granularity") ? s.withGranularity(Granularity.parse(cl.getOptionValue("granularity"))) : s;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        Path model = Path.of(Cli.required(cl, "model"));
        boolean dryRun = cl.hasOption("dry-run");
        Path out = dryRun && !cl.hasOption("out") ? null : Path.of(Cli.required(cl, "out"));
        Method method = Method.parse(cl.getOptionValue("method", Method.CUSPRUN.label()));
        PruneSettings settings = settings(cl);
        if (method == Method.SHORTGPT && settings.masked())
            throw new UsageException("--masked does not apply to shortgpt (it drops layers)");
        List<CorpusSpec> corpusSpecs = Corpora.parse(cl.getOptionValues("corpus"));
        for (CorpusSpec s : corpusSpecs) s.checkExists();
        String[] scoreFiles = cl.getOptionValues("scores");
        if (!Files.isDirectory(model)) throw new IOException("model directory not found: " + model);
        if (!dryRun) {
            List<Path> scorePaths = new ArrayList<>();
            if (scoreFiles != null) for (String f : scoreFiles) scorePaths.add(Path.of(f));
            out = Cli.output(
                    cl,
                    "out",
                    null,
                    CheckpointPruner.OUTPUT,
                    Cli.inputs(model, "--model", scorePaths, "--scores", corpusSpecs, "--corpus"),
                    console);
        }
        ExpertPruner pruner = ExpertPruner.open(model).withProgress(console.err());
        ScoreSettings scoreSettings = ScoreCommand.settings(cl, ScoreSettings.DEFAULTS);

        List<Path> files = new ArrayList<>();
        List<CorpusScores> scored = new ArrayList<>();
        List<TokenizedCorpus> calibration = List.of();
        if (method == Method.CUSPRUN || method == Method.CUSPRUN_GENERAL) {
            if (scoreFiles != null) {
                for (String f : scoreFiles) files.add(Path.of(f));
                scored.addAll(pruner.readScores(files));
            }
            if (!corpusSpecs.isEmpty())
                scored.addAll(pruner.score(corpusSpecs, scoreSettings).corpora());
            if (scored.isEmpty()) throw new UsageException(method.label() + " needs --scores or --corpus");
        } else if (method.needsCalibration()) {
            if (corpusSpecs.isEmpty())
                throw new UsageException(method.label() + " needs a calibration corpus (--corpus)");
            calibration = pruner.tokenize(corpusSpecs, scoreSettings);
        }
        PruneStatistics unitScores =
                pruner.statistics(method, scored, calibration, settings.seed(), settings.docQuantile());
        PrunePlan plan = pruner.plan(unitScores, settings);
        console.out().print(PruneReport.describe(plan));
        if (dryRun) return Cli.OK;
        pruner.write(plan, out, pruner.provenance(scored, calibration, files), cl.hasOption("force"));
        console.err().println("wrote " + out);
        return Cli.OK;
    }
}
