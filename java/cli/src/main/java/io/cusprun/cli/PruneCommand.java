package io.cusprun.cli;

import io.cusprun.api.ExistingOutput;
import io.cusprun.api.ExpertPruner;
import io.cusprun.api.PruneData;
import io.cusprun.api.WriteOptions;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.HeadRule;
import io.cusprun.prune.HeadUnit;
import io.cusprun.prune.Method;
import io.cusprun.prune.Provenance;
import io.cusprun.prune.PruneMode;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneReport;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.prune.Relevance;
import io.cusprun.score.CorpusScores;
import io.cusprun.score.ScoreSettings;
import io.cusprun.vocab.VocabTrimSettings;
import io.cusprun.vocab.VocabularyTrim;
import java.io.IOException;
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
        o.addOption(Cli.option("model", "DIR", "source model directory"));
        o.addOption(Option.builder()
                .longOpt("scores")
                .hasArgs()
                .argName("FILE")
                .desc("score files (from 'score'/'merge'); their corpora are the expert's dimensions")
                .build());
        o.addOption(Cli.option("ratio", "R", "fraction of decoder-block parameters to remove, e.g. 0.3"));
        o.addOption(Cli.option("out", "DIR", "output model directory"));
        o.addOption(
                Cli.option("mode", "uniform|per-layer", "default " + d.mode().label()));
        o.addOption(Cli.option(
                "granularity",
                "ffn+heads|ffn|neurons",
                GRANULARITY_DEFAULT + "; wanda-sp, flap, magnitude, random: ffn+heads"));
        o.addOption(headUnitOption());
        o.addOption(docQuantileOption());
        o.addOption(headRuleOption());
        o.addOption(relevanceOption());
        o.addOption(noCompensateOption());
        o.addOption(Cli.option(
                "min-ffn",
                "F",
                "per-layer floor: keep at least this FFN fraction (default " + d.minFfnFraction() + ")"));
        o.addOption(Cli.flag("masked", "write a full-size checkpoint with pruned weights zeroed"));
        o.addOption(Cli.flag("dry-run", "print shapes and parameter counts, write nothing"));
        o.addOption(Cli.flag(
                "json", "print the plan as one JSON object (removed units and cuts per layer) instead of the summary"));
        o.addOption(Cli.forceOption());
        o.addOption(Cli.option("method", "M", Method.labels(", ") + " (default " + Method.CUSPRUN.label() + ")"));
        o.addOption(Option.builder()
                .longOpt("corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc("score these corpora first (one shot), or calibration data for wanda-sp/flap/shortgpt")
                .build());
        o.addOption(Cli.option(
                "max-tokens",
                "N",
                "with --corpus: truncate documents (default " + ScoreSettings.DEFAULTS.maxTokens() + ")"));
        o.addOption(Cli.option("docs", "N|all", "with --corpus: documents per corpus (default all)"));
        o.addOption(Cli.option("seed", "S", "seed of the random baseline (default " + d.seed() + ")"));
        addVocabOptions(o);
        Cli.addMemoryOptions(o);
        o.addOption(Cli.helpOption());
        return o;
    }

    /** --trim-vocab, --vocab-corpus and --vocab-min-count: shared by prune and compare. */
    static void addVocabOptions(Options o) {
        o.addOption(Cli.flag(
                "trim-vocab",
                "keep only the tokens of the expert's language corpora (with special tokens, the byte alphabet and "
                        + "the merges they need) in the embeddings, the LM head and the tokenizer"));
        o.addOption(Option.builder()
                .longOpt("vocab-corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc("with --trim-vocab: keep the tokens of these corpora instead (default: the --corpus "
                        + "corpora of kind language, else all of them)")
                .build());
        o.addOption(Cli.option(
                "vocab-min-count",
                "N",
                "with --trim-vocab: keep a corpus token only when it occurs at least N times (default "
                        + VocabTrimSettings.DEFAULTS.minCount() + ")"));
    }

    /** The vocabulary trim asked for, or null without --trim-vocab. */
    static VocabTrimSettings vocabSettings(CommandLine cl) {
        if (!cl.hasOption("trim-vocab")) {
            for (String flag : List.of("vocab-corpus", "vocab-min-count")) {
                if (cl.hasOption(flag)) throw new UsageException("--" + flag + " needs --trim-vocab");
            }
            return null;
        }
        List<CorpusSpec> corpora = Corpora.parse(cl.getOptionValues("vocab-corpus"));
        for (CorpusSpec c : corpora) {
            try {
                c.checkExists();
            } catch (java.nio.file.NoSuchFileException e) {
                throw new UsageException("--vocab-corpus " + c + ": no such file");
            } catch (java.io.IOException e) {
                throw new UsageException("--vocab-corpus " + c + ": " + e.getMessage());
            }
        }
        VocabTrimSettings d = VocabTrimSettings.DEFAULTS;
        return d.withCorpora(corpora)
                .withMinCount(Cli.intOption(cl, "vocab-min-count", d.minCount(), 1, Integer.MAX_VALUE));
    }

    /** The default granularity, as the help says it: it follows cusprun's relevance. */
    static final String GRANULARITY_DEFAULT =
            "default: ffn with --relevance compensated, ffn+heads with ablation (the paper)";

    static Option headUnitOption() {
        return Cli.option(
                "head-unit",
                "query|group",
                "GQA: same number of query heads per group or whole KV groups (default "
                        + PruneSettings.DEFAULTS.headUnit().label() + ")");
    }

    static Option docQuantileOption() {
        return Cli.option(
                "doc-quantile",
                "Q",
                "1.0 = max rank over documents; below: that quantile (default " + PruneSettings.DEFAULTS.docQuantile()
                        + ")");
    }

    static Option headRuleOption() {
        return Cli.option(
                "head-rule",
                HeadRule.labels("|"),
                "how heads and KV groups aggregate their ranks over documents, see docs/heads.md (default "
                        + PruneSettings.DEFAULTS.headRule().label() + ")");
    }

    static Option relevanceOption() {
        return Cli.option(
                "relevance",
                Relevance.labels("|"),
                "cusprun's FFN, head and KV-group statistic: the paper's ablation rank, or the cost once the rest"
                        + " compensates, see"
                        + " docs/method.md (default "
                        + PruneSettings.DEFAULTS.relevance().label() + ")");
    }

    static Option noCompensateOption() {
        return Cli.flag(
                "no-compensate",
                "write the kept weights as they are (no least-squares refit of down_proj/o_proj on the documents)");
    }

    /**
     * --head-unit, --doc-quantile, --head-rule, --relevance and --no-compensate over {@code s}
     * (prune, compare and demo share them).
     */
    static PruneSettings withHeadSelection(PruneSettings s, CommandLine cl) {
        if (cl.hasOption("head-unit")) s = s.withHeadUnit(HeadUnit.parse(cl.getOptionValue("head-unit")));
        if (cl.hasOption("doc-quantile"))
            s = s.withDocQuantile(Cli.number("doc-quantile", cl.getOptionValue("doc-quantile")));
        if (cl.hasOption("head-rule")) s = s.withHeadRule(HeadRule.parse(cl.getOptionValue("head-rule")));
        if (cl.hasOption("relevance")) s = s.withRelevance(Relevance.parse(cl.getOptionValue("relevance")));
        if (cl.hasOption("no-compensate")) s = s.withCompensate(false);
        return s;
    }

    /** The selection settings the options ask for; a bad value comes back from the library as a setting error. */
    static PruneSettings settings(CommandLine cl) {
        PruneSettings d = PruneSettings.DEFAULTS;
        PruneSettings s = d.withRatio(Cli.number("ratio", Cli.required(cl, "ratio")))
                .withMode(cl.hasOption("mode") ? PruneMode.parse(cl.getOptionValue("mode")) : d.mode())
                .withMasked(cl.hasOption("masked"))
                .withSeed(Cli.intOption(cl, "seed", (int) d.seed(), 0, Integer.MAX_VALUE));
        s = withHeadSelection(s, cl);
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
        VocabTrimSettings vocabSettings = vocabSettings(cl);
        if (vocabSettings != null && settings.masked())
            throw new UsageException("--trim-vocab does not go with --masked (a masked model keeps every row)");
        if (method == Method.SHORTGPT && settings.masked())
            throw new UsageException("--masked does not apply to shortgpt (it drops layers)");
        List<CorpusSpec> corpusSpecs = Corpora.parse(cl.getOptionValues("corpus"));
        for (CorpusSpec s : corpusSpecs) s.checkExists();
        String[] scoreFiles = cl.getOptionValues("scores");
        io.cusprun.Inputs.modelDirectory(model);
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
        if (vocabSettings != null && vocabSettings.corpora().isEmpty() && corpusSpecs.isEmpty())
            throw new UsageException("--trim-vocab needs --corpus or --vocab-corpus (score files name no documents)");
        ExpertPruner pruner =
                ExpertPruner.open(model).withProgress(console.err()).withMemory(Cli.memory(cl));
        ScoreSettings scoreSettings = ScoreCommand.settings(cl, ScoreSettings.DEFAULTS);

        List<Path> files = new ArrayList<>();
        List<CorpusScores> scored = new ArrayList<>();
        List<TokenizedCorpus> calibration = List.of();
        // the documents of --corpus: scored (cusprun) or calibration (baselines), and what compensation refits on
        List<TokenizedCorpus> documents =
                corpusSpecs.isEmpty() ? List.of() : pruner.tokenize(corpusSpecs, scoreSettings);
        if (method == Method.CUSPRUN || method == Method.CUSPRUN_GENERAL) {
            if (scoreFiles != null) {
                for (String f : scoreFiles) files.add(Path.of(f));
                scored.addAll(pruner.readScores(files));
            }
            // refused now rather than after a long scoring
            pruner.checkCompensationBudget(
                    method,
                    settings,
                    !dryRun,
                    documents,
                    PruneData.scored(scored).heapBytes(),
                    documents.size(),
                    scoreSettings);
            if (!documents.isEmpty())
                scored.addAll(pruner.scoreTokenized(documents, scoreSettings).corpora());
            if (scored.isEmpty()) throw new UsageException(method.label() + " needs --scores or --corpus");
            if (settings.relevance() == Relevance.COMPENSATED && documents.isEmpty()) {
                if (cl.hasOption("relevance"))
                    throw new UsageException("--relevance compensated needs the documents (--corpus); --relevance "
                            + Relevance.ABLATION.label() + " works from score files alone");
                // score files alone hold the ablation statistic only
                console.err().println("no documents (--corpus): selecting by the score files' ablation relevance");
                settings = settings.withRelevance(Relevance.ABLATION);
            }
        } else if (method.needsCalibration()) {
            if (corpusSpecs.isEmpty())
                throw new UsageException(method.label() + " needs a calibration corpus (--corpus)");
            calibration = documents;
            pruner.checkCompensationBudget(method, settings, !dryRun, documents, 0, 0, scoreSettings);
        }
        PruneStatistics unitScores =
                pruner.statistics(method, PruneData.scored(scored).withDocuments(documents), settings);
        PrunePlan plan = pruner.plan(unitScores, settings);
        if (cl.hasOption("json")) console.out().println(PruneReport.toJson(plan).toPrettyString());
        else console.out().print(PruneReport.describe(plan));
        if (dryRun) return Cli.OK;
        VocabularyTrim vocab = vocabSettings == null ? null : pruner.trimVocabulary(vocabSettings, corpusSpecs);
        if (settings.compensate() && documents.isEmpty() && io.cusprun.prune.Compensation.applies(plan))
            console.err().println("no documents to refit on (--corpus): the kept weights are written as they are");
        Provenance provenance = pruner.provenance(
                PruneData.scored(scored).withDocuments(calibration).withScoreFiles(files));
        pruner.write(
                plan,
                out,
                WriteOptions.of(provenance)
                        .withDocuments(documents)
                        .withVocabulary(vocab)
                        .withExisting(cl.hasOption("force") ? ExistingOutput.REPLACE : ExistingOutput.REFUSE)
                        .withHeld(PruneData.scored(scored).heapBytes()));
        if (vocab != null) {
            console.err()
                    .printf(
                            java.util.Locale.ROOT,
                            "vocabulary: kept %,d of %,d tokens (%,d from the corpora, %,d named, %,d of the alphabet, "
                                    + "%,d for the merges)%n",
                            vocab.size(),
                            vocab.sourceSize(),
                            vocab.counts().frequent(),
                            vocab.counts().named(),
                            vocab.counts().alphabet(),
                            vocab.counts().closure());
        }
        console.err().println("wrote " + out);
        return Cli.OK;
    }
}
