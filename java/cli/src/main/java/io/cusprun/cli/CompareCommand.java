package io.cusprun.cli;

import io.cusprun.api.Comparison;
import io.cusprun.api.ComparisonSpec;
import io.cusprun.api.ComparisonText;
import io.cusprun.api.ExistingOutput;
import io.cusprun.corpus.Corpora;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.model.MemorySettings;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneMode;
import io.cusprun.prune.PruneSettings;
import io.cusprun.report.RepeatedTable;
import io.cusprun.report.ReportWriter;
import io.cusprun.report.TextTable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code cusprun compare}: prunes with each method at each ratio and prints one table of expert
 * and general quality, plus a JSON file and the HTML report.
 */
public final class CompareCommand implements Command {
    static final String NAME = "compare";
    /** Every method, in the order of {@link Method}. */
    static final String ALL_METHODS = Method.labels(",");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "prune with several methods and ratios, evaluate, table and report";
    }

    @Override
    public String description() {
        return "Compares pruning methods at several ratios on expert and general held-out data.";
    }

    @Override
    public String examples() {
        return "  cusprun compare --model llama --corpus language:de=de.jsonl --corpus domain:med=med.jsonl \\\n"
                + "      --ratio 0.25,0.35 --method cusprun,wanda-sp,random \\\n"
                + "      --eval-expert de-med-heldout.jsonl --eval-general general-heldout.jsonl\n";
    }

    @Override
    public Options options() {
        ComparisonSpec d = ComparisonSpec.DEFAULTS;
        Options o = new Options();
        o.addOption(Cli.option("model", "DIR", "source model directory"));
        o.addOption(Option.builder()
                .longOpt("corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc("the expert's corpora (language, domain, task); repeatable")
                .build());
        o.addOption(Cli.option("general-corpus", "PATH", "general corpus for cusprun-general"));
        o.addOption(Option.builder()
                .longOpt("overlap-corpus")
                .hasArgs()
                .argName("KIND:NAME=PATH")
                .desc("more corpora scored only for the report's overlap heatmap")
                .build());
        o.addOption(Option.builder()
                .longOpt("ratio")
                .hasArg()
                .argName("R[,R...]")
                .desc("ratios (default " + ratioList(d.ratios()) + ")")
                .build());
        o.addOption(Cli.option("method", "LIST", "methods (default " + ALL_METHODS + ")"));
        o.addOption(Cli.option("eval-expert", "FILE", "held-out expert documents (.jsonl/.txt)"));
        o.addOption(Cli.option("eval-general", "FILE", "held-out general documents"));
        o.addOption(Cli.option("eval-mc", "FILE", "held-out multiple-choice items (JSONL)"));
        o.addOption(Cli.option("eval-docs", "N|all", "at most N documents per eval file (default all)"));
        o.addOption(Cli.option("max-length", "N", "evaluation window (default " + d.maxLength() + ")"));
        o.addOption(Cli.option(
                "mode", "uniform|per-layer", "default " + d.prune().mode().label()));
        o.addOption(Cli.option(
                "granularity",
                "ffn+heads|ffn",
                "cusprun's units; the baselines remove heads as published unless one is given ("
                        + PruneCommand.GRANULARITY_DEFAULT + ")"));
        o.addOption(PruneCommand.headUnitOption());
        o.addOption(PruneCommand.docQuantileOption());
        o.addOption(PruneCommand.headRuleOption());
        o.addOption(PruneCommand.relevanceOption());
        o.addOption(PruneCommand.noCompensateOption());
        o.addOption(Cli.option(
                "max-tokens",
                "N",
                "scoring: truncate documents (default " + d.scoring().maxTokens() + ")"));
        o.addOption(Cli.option("docs", "N|all", "scoring: documents per corpus (default all)"));
        addRepeatOptions(o, "default 1: the first documents, one run");
        PruneCommand.addVocabOptions(o);
        o.addOption(Cli.option("keep", "DIR", "keep the pruned models in DIR/<method>-<ratio>"));
        o.addOption(Cli.option("report", "DIR", "HTML report directory (default " + DEFAULT_REPORT + ")"));
        o.addOption(Cli.flag("json", "print the results as JSON instead of the table"));
        o.addOption(Cli.forceOption());
        Cli.addMemoryOptions(o);
        o.addOption(Cli.helpOption());
        return o;
    }

    static final String DEFAULT_REPORT = "compare-report";

    /** --repeats, --seed and --dimension-study: shared by compare and demo. */
    static void addRepeatOptions(Options o, String repeatsDefault) {
        o.addOption(Cli.option(
                "repeats",
                "K",
                "draw the scoring and calibration documents K times and run every method on each draw; "
                        + "the table shows mean ± sd (" + repeatsDefault + ")"));
        o.addOption(Cli.option(
                "seed",
                "S",
                "seed of the random baseline; repeats 2, 3, ... draw the documents and the random baseline with "
                        + "seeds S+1, S+2, ... (default "
                        + ComparisonSpec.DEFAULTS.prune().seed() + ")"));
        o.addOption(
                Cli.flag(
                        "dimension-study",
                        "also prune with cusprun on each single expert corpus, each pair, ..., all of them, at the middle ratio"));
    }

    /** The spec with --repeats, --seed and --dimension-study applied over the given defaults. */
    static ComparisonSpec withRepeatOptions(ComparisonSpec spec, CommandLine cl, int repeats, boolean study) {
        return spec.withRepeats(Cli.intOption(cl, "repeats", repeats, 1, 1000))
                .withPrune(spec.prune()
                        .withSeed(Cli.intOption(cl, "seed", (int) spec.prune().seed(), 0, Integer.MAX_VALUE)))
                .withDimensionStudy(study || cl.hasOption("dimension-study"));
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        ComparisonSpec d = ComparisonSpec.DEFAULTS;
        ComparisonSpec spec = d.withModel(Path.of(Cli.required(cl, "model")))
                .withExpertCorpora(Corpora.parse(cl.getOptionValues("corpus")))
                .withGeneralCorpus(
                        cl.hasOption("general-corpus")
                                ? CorpusSpec.parse("domain:general=" + cl.getOptionValue("general-corpus"))
                                : null)
                .withOverlapCorpora(Corpora.parse(cl.getOptionValues("overlap-corpus")))
                .withRatios(cl.hasOption("ratio") ? ratios(cl.getOptionValue("ratio")) : d.ratios())
                .withMethods(cl.hasOption("method") ? methods(cl.getOptionValue("method")) : d.methods())
                .withPrune(settings(cl))
                .withScoring(ScoreCommand.settings(cl, d.scoring()))
                .withEvalExpert(Path.of(Cli.required(cl, "eval-expert")))
                .withEvalGeneral(Path.of(Cli.required(cl, "eval-general")))
                .withEvalChoice(cl.hasOption("eval-mc") ? Path.of(cl.getOptionValue("eval-mc")) : null)
                .withEvalDocs(Cli.docsOption(cl, "eval-docs", d.evalDocs()))
                .withMaxLength(Cli.intOption(cl, "max-length", d.maxLength(), 2, Cli.MAX_COUNT))
                .withKeepDir(cl.hasOption("keep") ? Path.of(cl.getOptionValue("keep")) : null)
                .withVocabTrim(PruneCommand.vocabSettings(cl));
        spec = withRepeatOptions(spec, cl, 1, false);
        spec.check(); // every option value before any work
        if (cl.hasOption("dry-run")) {
            return dryRun(spec, Path.of(cl.getOptionValue("report", DEFAULT_REPORT)), spec.keepDir(), console);
        }
        Map<Path, String> inputs = inputs(spec);
        Path report = Cli.output(cl, "report", DEFAULT_REPORT, ReportWriter.OUTPUT, inputs, console);
        if (spec.keepDir() != null) {
            inputs.put(report, "--report"); // neither may hold the other
            spec = spec.withKeepDir(Cli.output(cl, "keep", null, Comparison.MODELS_OUTPUT, inputs, console));
        }
        return execute(spec, Cli.memory(cl), report, cl.hasOption("json"), console);
    }

    /**
     * {@code --dry-run}: checks that the inputs exist and can be read as what they are (the model's
     * config.json, the corpora, the eval files), prints the plan and writes nothing.
     */
    static int dryRun(ComparisonSpec spec, Path report, Path keep, Console console) throws IOException {
        io.cusprun.model.ModelConfig config = io.cusprun.model.ModelConfig.read(spec.model());
        for (CorpusSpec c : spec.expertCorpora()) c.checkExists();
        for (CorpusSpec c : spec.overlapCorpora()) c.checkExists();
        if (spec.generalCorpus() != null) spec.generalCorpus().checkExists();
        for (Path p : java.util.Arrays.asList(spec.evalExpert(), spec.evalGeneral(), spec.evalChoice())) {
            if (p != null) io.cusprun.Inputs.regularFile(p);
        }
        PrintStream out = console.out();
        out.printf(
                java.util.Locale.ROOT,
                "plan: model %s (%s, %d layers)%n",
                spec.model(),
                config.architecture().hfName(),
                config.numHiddenLayers());
        out.println("  expert corpora: "
                + spec.expertCorpora().stream().map(CorpusSpec::toString).collect(Collectors.joining(", ")));
        if (spec.generalCorpus() != null) out.println("  general corpus: " + spec.generalCorpus());
        if (!spec.overlapCorpora().isEmpty()) {
            out.println("  overlap corpora: "
                    + spec.overlapCorpora().stream().map(CorpusSpec::toString).collect(Collectors.joining(", ")));
        }
        int models = spec.methods().size() * spec.ratios().size() * spec.repeats();
        int study = spec.dimensionStudy() ? ((1 << spec.expertCorpora().size()) - 1) * spec.repeats() : 0;
        out.printf(
                java.util.Locale.ROOT,
                "  methods %s x ratios %s x %d draw(s) = %d pruned models%s%n",
                spec.methods().stream().map(Method::label).collect(Collectors.joining(",")),
                ratioList(spec.ratios()),
                spec.repeats(),
                models,
                study > 0 ? ", plus " + study + " for the dimension study" : "");
        out.println("  evaluation: expert " + spec.evalExpert() + ", general " + spec.evalGeneral()
                + (spec.evalChoice() == null ? "" : ", multiple choice " + spec.evalChoice())
                + ", window " + spec.maxLength() + " tokens");
        out.println("  would write: report " + report.toAbsolutePath().normalize()
                + (keep == null
                        ? ""
                        : ", pruned models " + keep.toAbsolutePath().normalize()));
        out.println("dry run: nothing was run or written");
        return Cli.OK;
    }

    /** What a comparison reads: the model, every corpus and the eval files. */
    static Map<Path, String> inputs(ComparisonSpec spec) {
        Map<Path, String> in = Cli.inputs(
                spec.model(),
                "--model",
                spec.expertCorpora(),
                "--corpus",
                spec.overlapCorpora(),
                "--overlap-corpus",
                spec.evalExpert(),
                "--eval-expert",
                spec.evalGeneral(),
                "--eval-general",
                spec.evalChoice(),
                "--eval-mc");
        if (spec.generalCorpus() != null) in.putIfAbsent(spec.generalCorpus().path(), "--general-corpus");
        return in;
    }

    /** Runs the comparison, prints the table (or JSON), writes results.json and the report. */
    static int execute(ComparisonSpec spec, MemorySettings memory, Path reportDir, boolean json, Console console)
            throws IOException {
        PrintStream log = console.err();
        PrintStream out = console.out();
        Comparison.Result result = new Comparison(spec, log).withMemory(memory).run();
        if (json) {
            out.println(result.toJson().toPrettyString());
        } else {
            TextTable.lines(result.table()).forEach(out::println);
            if (spec.repeats() > 1) out.println(RepeatedTable.markNote(spec.repeats()));
            String none = ComparisonText.noHeadsNote(result);
            if (none != null) out.println(none);
            if (!result.dimensionStudy().isEmpty()) {
                out.println();
                out.println(
                        "dimension study: cusprun at the middle ratio, scored on each subset of the expert corpora");
                TextTable.lines(result.dimensionTable()).forEach(out::println);
                if (spec.repeats() > 1) out.println(RepeatedTable.dimensionMarkNote());
            }
            if (!result.vocabulary().isEmpty()) {
                out.println();
                out.println("vocabulary trim: cusprun at the middle ratio"
                        + (spec.repeats() > 1 ? " (repeat 1)" : "")
                        + ", whole and with --trim-vocab; bits per byte of the held-out text");
                out.println(ComparisonText.vocabularyHeader());
                result.vocabulary().forEach(r -> out.println(ComparisonText.formatVocabulary(r)));
            }
        }
        // checked (and claimed) before the run, --force included (Cli.output): what exists now may be replaced
        // when it is a report cusprun wrote, as the library checks again
        Path index = result.writeReport(reportDir, ExistingOutput.REPLACE);
        log.println("report: " + index + "  results: " + reportDir.resolve(Comparison.RESULTS_JSON));
        return Cli.OK;
    }

    /** Mode, granularity, document quantile and head rule over the default selection settings; the ratio is set per run. */
    static PruneSettings settings(CommandLine cl) {
        PruneSettings d = ComparisonSpec.DEFAULTS.prune();
        PruneSettings s = PruneCommand.withHeadSelection(d, cl)
                .withMode(cl.hasOption("mode") ? PruneMode.parse(cl.getOptionValue("mode")) : d.mode());
        return cl.hasOption("granularity") ? s.withGranularity(Granularity.parse(cl.getOptionValue("granularity"))) : s;
    }

    static List<Double> ratios(String list) {
        List<Double> out = new ArrayList<>();
        for (String s : list.split(",", -1)) {
            double r = Cli.number("ratio", s);
            if (!(r > 0 && r < 1)) {
                throw new UsageException("--ratio values must be in (0, 1), not " + s.trim());
            }
            if (out.contains(r)) {
                throw new UsageException("--ratio lists " + r + " twice");
            }
            out.add(r);
        }
        return out;
    }

    /** The ratios as the user would write them: 0.25,0.35,0.45. */
    static String ratioList(List<Double> ratios) {
        return ratios.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    static List<Method> methods(String list) {
        List<Method> out = new ArrayList<>();
        for (String s : list.split(",", -1)) {
            Method m = Method.parse(s.trim());
            if (out.contains(m)) {
                throw new UsageException("--method lists " + m.label() + " twice");
            }
            out.add(m);
        }
        return out;
    }
}
