package io.cusprun.cli;

import io.cusprun.OutputPolicy;
import io.cusprun.api.Comparison;
import io.cusprun.api.ComparisonSpec;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.Relevance;
import io.cusprun.report.ReportWriter;
import io.cusprun.score.ScoreSettings;
import io.cusprun.vocab.VocabTrimSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Collectors;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * {@code cusprun demo}: the main job on the bundled demo model and corpora. Prunes the model
 * into a German + technical + question-answering expert at 25%, 35% and 45% with cusprun and
 * every baseline, evaluates expert and general quality on held-out data, prints the table and
 * writes the pruned models and the report.
 */
public final class DemoCommand implements Command {
    static final String NAME = "demo";
    static final String DEFAULT_OUT = "demo-output";
    /** 64 documents per corpus, truncated to the 256-token windows the demo model was trained on. */
    static final ScoreSettings SCORING =
            ScoreSettings.DEFAULTS.withMaxTokens(256).withMaxDocs(OptionalInt.of(64));

    static final int EVAL_DOCS = 40;

    /**
     * A plain {@code demo} draws the documents three times, so that its table has ± columns,
     * within the newcomer's 5-minute budget on 2 cores; {@code --quick} runs one draw, {@code
     * --full} adds the dimension study and the overlap heatmap over every bundled corpus (README,
     * "Demo results").
     */
    static final int REPEATS = 3;

    /**
     * The plain demo's methods: every method but cusprun-general (with the compensated rows the
     * table has enough rows for the first command's time; {@code --full} adds it).
     */
    static final String DEMO_METHODS = Arrays.stream(Method.values())
            .filter(m -> m != Method.CUSPRUN_GENERAL)
            .map(Method::label)
            .collect(Collectors.joining(","));

    /**
     * The demo's output folder: cusprun wrote it when it holds nothing but a report and a folder
     * of pruned models that cusprun wrote.
     */
    static final OutputPolicy.Kind OUTPUT =
            OutputPolicy.Kind.directory("demo output folder", DemoCommand::isDemoOutput);

    static boolean isDemoOutput(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                try {
                    boolean ok = name.startsWith(".") // a temporary
                            || name.equals("report") && (OutputPolicy.isEmptyDirectory(p) || ReportWriter.isReport(p))
                            || name.equals("models")
                                    && Files.isDirectory(p)
                                    && Comparison.MODELS_OUTPUT.ours().writtenByCusprun(p);
                    if (!ok) {
                        throw new OutputPolicy.NotOursException("unexpected entry " + name);
                    }
                } catch (OutputPolicy.NotOursException e) {
                    throw e.getMessage().startsWith("unexpected entry ")
                            ? e
                            : new OutputPolicy.NotOursException(name + "/: " + e.getMessage());
                }
            }
        }
        return true;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "the main job on the bundled demo model and corpora (German technical QA expert)";
    }

    @Override
    public String description() {
        return "Prunes the bundled demo model into a German technical QA expert and compares methods.";
    }

    @Override
    public String examples() {
        return "  cusprun demo                 # the README's first table: 3 draws of the documents\n"
                + "  cusprun demo --full          # and its second: the dimension study; the overlap of all corpora\n"
                + "  cusprun demo --quick         # one draw\n"
                + "  cusprun demo --method cusprun,random --ratio 0.35 --out /tmp/demo\n";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Cli.option(
                "data",
                "DIR",
                "the bundled data folder (default: ./data, else the one of the checkout the jar was built in)"));
        o.addOption(Cli.option(
                "model",
                "DIR",
                "the model to prune (default DATA/demo-model; DATA/demo-model-qwen2 is the second bundled model)"));
        o.addOption(Cli.option("out", "DIR", "output folder (default " + DEFAULT_OUT + ")"));
        o.addOption(Cli.option(
                "ratio", "R[,R...]", "default " + CompareCommand.ratioList(ComparisonSpec.DEFAULTS.ratios())));
        o.addOption(
                Cli.option("method", "LIST", "default " + DEMO_METHODS + "; --full: " + CompareCommand.ALL_METHODS));
        o.addOption(Cli.option(
                "docs",
                "N|all",
                "documents scored per corpus (default " + SCORING.maxDocs().getAsInt() + ")"));
        o.addOption(Cli.option("eval-docs", "N|all", "held-out documents per eval file (default " + EVAL_DOCS + ")"));
        CompareCommand.addRepeatOptions(o, "default " + REPEATS + "; --quick: 1");
        o.addOption(Cli.flag("quick", "one draw of the documents (the table has no ± columns; a third of the time)"));
        o.addOption(Cli.flag(
                "full",
                "the full study: also the dimension study, and the report's overlap heatmap over all "
                        + "bundled corpora, not only the expert's (the README's tables; about 1.6 times the time)"));
        o.addOption(Cli.flag(
                "no-compensate",
                "prune as the paper does: no refit of the kept weights, the ablation relevance, and no "
                        + "compensated rows"));
        o.addOption(Cli.flag("json", "print the results as JSON instead of the table"));
        o.addOption(Cli.forceOption());
        Cli.addMemoryOptions(o);
        o.addOption(Cli.helpOption());
        return o;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        Path data = cl.hasOption("data") ? Path.of(cl.getOptionValue("data")) : locateData();
        // every option value before any work
        List<Double> ratios = cl.hasOption("ratio")
                ? CompareCommand.ratios(cl.getOptionValue("ratio"))
                : ComparisonSpec.DEFAULTS.ratios();
        boolean full = cl.hasOption("full");
        List<Method> methods =
                CompareCommand.methods(cl.getOptionValue("method", full ? CompareCommand.ALL_METHODS : DEMO_METHODS));
        OptionalInt docs = Cli.docsOption(cl, "docs", SCORING.maxDocs());
        OptionalInt evalDocs = Cli.docsOption(cl, "eval-docs", OptionalInt.of(EVAL_DOCS));
        boolean quick = cl.hasOption("quick");
        if (quick && full) {
            throw new UsageException("--quick and --full cannot be given together");
        }
        boolean dryRun = cl.hasOption("dry-run"); // nothing claimed, created or written
        Path out = dryRun
                ? Path.of(cl.getOptionValue("out", DEFAULT_OUT))
                : Cli.output(cl, "out", DEFAULT_OUT, OUTPUT, Cli.inputs(data, "--data"), console);
        Path model = cl.hasOption("model") ? Path.of(cl.getOptionValue("model")) : data.resolve("demo-model");
        ComparisonSpec spec =
                spec(data, model, out, ratios, methods, docs, evalDocs, full, !cl.hasOption("no-compensate"));
        spec = CompareCommand.withRepeatOptions(spec, cl, quick ? 1 : REPEATS, full)
                .check();
        if (dryRun) {
            return CompareCommand.dryRun(spec, out.resolve("report"), spec.keepDir(), console);
        }
        console.err().println("demo: model " + spec.model() + ", output " + out);
        return CompareCommand.execute(spec, Cli.memory(cl), out.resolve("report"), cl.hasOption("json"), console);
    }

    /**
     * The demo's comparison over the bundled data folder; {@code allOverlap}: the overlap heatmap
     * also scores the other languages, the literary domain and the continuation task; {@code
     * compensate}: prune's defaults (the compensated relevance, the kept weights refitted; with the
     * paper's rule and the baselines with and without the refit beside them), else as the paper does.
     */
    static ComparisonSpec spec(
            Path data,
            Path model,
            Path out,
            List<Double> ratios,
            List<Method> methods,
            OptionalInt docs,
            OptionalInt evalDocs,
            boolean allOverlap,
            boolean compensate)
            throws IOException {
        Path corpora = data.resolve("corpora");
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IOException(model + ": no model here (config.json not found)");
        }
        List<CorpusSpec> expert = List.of(
                corpus("language:de", corpora.resolve("language/de/score.jsonl")),
                corpus("domain:technical", corpora.resolve("domain/technical/score.jsonl")),
                corpus("task:qa", corpora.resolve("task/qa/score.jsonl")));
        List<CorpusSpec> overlap = new ArrayList<>();
        if (allOverlap) {
            for (String lang : otherLanguages(corpora.resolve("language"))) {
                overlap.add(corpus("language:" + lang, corpora.resolve("language/" + lang + "/score.jsonl")));
            }
            overlap.add(corpus("domain:literary", corpora.resolve("domain/literary/score.jsonl")));
            overlap.add(corpus("task:continuation", corpora.resolve("task/continuation/score.jsonl")));
        }
        return ComparisonSpec.DEFAULTS
                .withModel(model)
                .withExpertCorpora(expert)
                .withGeneralCorpus(corpus("domain:general", corpora.resolve("general/score.jsonl")))
                .withOverlapCorpora(overlap)
                .withRatios(ratios)
                .withMethods(methods)
                .withPrune(
                        compensate
                                ? PruneSettings.DEFAULTS
                                : PruneSettings.DEFAULTS.withCompensate(false).withRelevance(Relevance.ABLATION))
                .withScoring(SCORING.withMaxDocs(docs))
                .withEvalExpert(corpora.resolve("eval/expert_de_technical_qa.jsonl"))
                .withEvalGeneral(corpora.resolve("eval/general.jsonl"))
                .withEvalChoice(corpora.resolve("eval/mc_de_language_continuation.jsonl"))
                .withEvalDocs(evalDocs)
                .withMaxLength(SCORING.maxTokens()) // the bundled models were trained on 256-token windows
                .withKeepDir(out.resolve("models"))
                // cusprun's model at the middle ratio, also with its vocabulary trimmed to German
                .withVocabTrim(methods.contains(Method.CUSPRUN) ? VocabTrimSettings.DEFAULTS : null);
    }

    /** The language corpora other than the expert's German, in name order (the overlap heatmap's rows). */
    private static List<String> otherLanguages(Path languages) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(languages)) {
            return s.filter(Files::isDirectory)
                    .map(p -> p.getFileName().toString())
                    .filter(lang -> !lang.equals("de"))
                    .sorted()
                    .toList();
        }
    }

    private static CorpusSpec corpus(String kindName, Path path) throws IOException {
        return CorpusSpec.parse(kindName + "=" + path).checkExists();
    }

    /** ./data when run from the checkout, else the data folder of the checkout the jar was built in. */
    static Path locateData() throws IOException {
        Path here = Path.of("data");
        if (Files.isDirectory(here.resolve("demo-model"))) {
            return here;
        }
        return Cli.inCheckout("data/demo-model")
                .map(Path::getParent)
                .orElseThrow(() -> new IOException(
                        "data/demo-model not found here or in the checkout the jar was built in; pass --data DIR"));
    }
}
