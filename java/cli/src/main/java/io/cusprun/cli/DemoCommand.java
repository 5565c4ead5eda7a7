package io.cusprun.cli;

import io.cusprun.api.ComparisonSpec;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.prune.PruneSettings;
import io.cusprun.score.ScoreSettings;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code cusprun demo}: the main job on the bundled demo model and corpora. Prunes the model
 * into a German + technical + question-answering expert at 25%, 35% and 45% with cusprun and
 * every baseline, evaluates expert and general quality on held-out data, prints the table and
 * writes the pruned models and the report.
 */
public final class DemoCommand {
    static final String NAME = "demo";
    static final String[] OTHER_LANGUAGES = {"en", "fr", "es", "it", "ru"};

    private DemoCommand() {}

    public static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("data").hasArg().argName("DIR")
                .desc("the bundled data folder (default: ./data, else the one beside the jar's checkout)").build());
        o.addOption(Option.builder().longOpt("out").hasArg().argName("DIR").desc("output folder (default demo-output)").build());
        o.addOption(Option.builder().longOpt("ratio").hasArg().argName("R[,R...]").desc("default 0.25,0.35,0.45").build());
        o.addOption(Option.builder().longOpt("method").hasArg().argName("LIST").desc("default " + CompareCommand.ALL_METHODS).build());
        o.addOption(Option.builder().longOpt("docs").hasArg().argName("N").desc("documents scored per corpus (default 64)").build());
        o.addOption(Option.builder().longOpt("eval-docs").hasArg().argName("N").desc("held-out documents per eval file (default 40)").build());
        o.addOption(Option.builder().longOpt("json").desc("print the results as JSON instead of the table").build());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    public static int run(String[] args) {
        if (Cli.wantsHelp(args)) {
            Cli.printHelp(NAME, "Prunes the bundled demo model into a German technical QA expert and compares methods.",
                    options(), "  cusprun demo\n  cusprun demo --method cusprun,random --ratio 0.35 --out /tmp/demo\n");
            return Cli.OK;
        }
        return Cli.guard(NAME, () -> {
            CommandLine cl = Cli.parse(NAME, options(), args);
            Path data = cl.hasOption("data") ? Path.of(cl.getOptionValue("data")) : locateData();
            Path out = Path.of(cl.getOptionValue("out", "demo-output"));
            ComparisonSpec spec = spec(data, out,
                    CompareCommand.ratios(cl.getOptionValue("ratio", "0.25,0.35,0.45")),
                    cl.getOptionValue("method", CompareCommand.ALL_METHODS),
                    Cli.intOpt(cl, NAME, "docs", 64), Cli.intOpt(cl, NAME, "eval-docs", 40));
            System.err.println("demo: model " + spec.model() + ", output " + out);
            return CompareCommand.execute(spec, out.resolve("report"), cl.hasOption("json"));
        });
    }

    /** The demo's comparison over the bundled data folder. */
    static ComparisonSpec spec(Path data, Path out, List<Double> ratios, String methods, int docs, int evalDocs)
            throws IOException {
        Path corpora = data.resolve("corpora");
        Path model = data.resolve("demo-model");
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IOException(model + ": the demo model is missing (config.json not found)");
        }
        List<CorpusSpec> expert = List.of(
                corpus("language:de", corpora.resolve("language/de/score.jsonl")),
                corpus("domain:technical", corpora.resolve("domain/technical/score.jsonl")),
                corpus("task:qa", corpora.resolve("task/qa/score.jsonl")));
        List<CorpusSpec> overlap = new ArrayList<>();
        for (String lang : OTHER_LANGUAGES) {
            overlap.add(corpus("language:" + lang, corpora.resolve("language/" + lang + "/score.jsonl")));
        }
        overlap.add(corpus("domain:literary", corpora.resolve("domain/literary/score.jsonl")));
        overlap.add(corpus("task:continuation", corpora.resolve("task/continuation/score.jsonl")));
        return new ComparisonSpec(model, expert,
                corpus("domain:general", corpora.resolve("general/score.jsonl")),
                overlap, ratios, CompareCommand.methods(methods),
                PruneSettings.defaults(0.0),
                new ScoreSettings(256, docs, 100, 2048, 16, false),
                corpora.resolve("eval/expert_de_technical_qa.jsonl"),
                corpora.resolve("eval/general.jsonl"),
                corpora.resolve("eval/mc_de_commands.jsonl"),
                evalDocs, 256, out.resolve("models")); // the demo model was trained on 256-token windows
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
        try {
            Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // java/target/cusprun.jar (or java/target/classes) -> the checkout's data/
            Path candidate = jar.getParent().getParent().getParent().resolve("data");
            if (Files.isDirectory(candidate.resolve("demo-model"))) {
                return candidate;
            }
        } catch (URISyntaxException | NullPointerException e) {
            // fall through to the error below
        }
        throw new IOException("data/demo-model not found here or beside the jar's checkout; pass --data DIR");
    }
}
